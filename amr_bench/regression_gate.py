"""``amr-bench check``: compare a result file with expected values, for CI regression gates."""

from __future__ import annotations

import json
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amr_bench.errors import InputError, Problem, UsageError


@dataclass(frozen=True)
class Comparison:
    key: str
    expected: float
    actual: float | None

    @property
    def delta(self) -> float | None:
        return None if self.actual is None else self.actual - self.expected


@dataclass
class RegressionCheck:
    compared: list[Comparison]
    moved: list[Comparison]
    tolerance: float

    @property
    def ok(self) -> bool:
        return not self.moved


MAX_JSON_BYTES = 64 << 20
MAX_DEPTH = 64


def load_json(path: str | Path, what: str = "") -> Any:
    """A JSON document from a regular file of at most 64 MB; NaN/Infinity literals and numbers
    beyond the float range are refused (``what`` names the option in messages)."""
    p = Path(path)
    name = f"{what} {p}" if what else str(p)
    try:
        st = os.stat(p)
        if stat.S_ISDIR(st.st_mode):
            raise InputError([Problem(name, None, "is a folder; expected a JSON file")])
        if not stat.S_ISREG(st.st_mode):
            raise InputError([Problem(name, None, "not a regular file; expected a JSON file")])
        if st.st_size > MAX_JSON_BYTES:
            raise InputError(
                [Problem(name, None, f"{st.st_size:,} bytes; a metrics file is at most {MAX_JSON_BYTES:,}")]
            )
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError([Problem(name, None, "file not found")]) from None
    except OSError as exc:
        raise InputError([Problem(name, None, f"cannot read ({exc.strerror})")]) from None
    except UnicodeDecodeError as exc:
        raise InputError([Problem(name, None, f"not UTF-8 text ({exc.reason})")]) from None
    try:
        doc = json.loads(text, parse_constant=_refuse_constant, parse_int=_finite_int, object_pairs_hook=_unique)
    except json.JSONDecodeError as exc:
        raise InputError([Problem(name, exc.lineno, f"invalid JSON: {exc.msg} at column {exc.colno}")]) from None
    except _NotFinite as exc:
        raise InputError([Problem(name, None, str(exc))]) from None
    except _DuplicateKey:
        raise InputError([_twice(text, name)]) from None
    except RecursionError:
        raise InputError([Problem(name, None, "JSON nested too deeply")]) from None
    if _has_flat_collision(doc):
        raise InputError([_twice(text, name)])
    return doc


class _DuplicateKey(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (``json`` would keep the last value silently)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _DuplicateKey()
    return out


def _has_flat_collision(doc: Any) -> bool:
    """Whether two numeric or object entries flatten to the same dotted key (``{"a": {"b": 1}, "a.b": 2}``)."""
    seen: set[str] = set()
    todo: list[tuple[str, Any]] = [("", doc)]
    while todo:
        prefix, value = todo.pop()
        if not isinstance(value, dict):
            continue
        for k, v in value.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, (dict, int, float)) and not isinstance(v, bool):
                if key in seen:
                    return True
                seen.add(key)
            todo.append((key, v))
    return False


_TOKEN = re.compile(r'["{}\[\]]')


def _twice(text: str, name: str) -> Problem:
    """The problem naming the line where a dotted key is written a second time (the same key twice in
    one object, or a key that flattens onto another: ``{"a": {"b": 1}, "a.b": 2}``)."""
    first: dict[str, int] = {}
    stack: list[str | None] = []  # the dotted prefix of each open object (``\0POS`` in an array); None: an array
    key: str | None = None
    i = 0
    while (m := _TOKEN.search(text, i)) is not None:
        i, c = m.start(), m.group()
        if c == '"':
            value, end = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
            rest = text[end : end + 64].lstrip()
            if stack and stack[-1] is not None and rest.startswith(":"):  # a key
                prefix = stack[-1]
                key = f"{prefix}.{value}" if prefix else value
                if key in first:
                    line = text.count("\n", 0, i) + 1
                    shown = re.sub(r"^\0\d+\.?", "", key)
                    return Problem(
                        name,
                        line,
                        f"{shown!r} is written a second time (first on line {first[key]}); which value "
                        "is expected is ambiguous: keep one",
                    )
                first[key] = text.count("\n", 0, i) + 1
            i = end
            continue
        if c == "{":
            stack.append("" if not stack else key if stack[-1] is not None else f"\0{i}")
        elif c == "[":
            stack.append(None)
        elif stack:
            stack.pop()
        i += 1
    return Problem(name, None, "a key is written twice; keep one")


class _NotFinite(ValueError):
    pass


def _refuse_constant(token: str) -> float:
    raise _NotFinite(f"{token} is not a number this check can compare (JSON has no NaN or Infinity)")


def _finite_int(token: str) -> int:
    if len(token.lstrip("-")) > 308:
        raise _NotFinite(f"the integer {token[:12]}... ({len(token)} digits) is beyond the range of a float")
    return int(token)


def flatten(doc: Any, prefix: str = "", depth: int = 0, name: str = "<document>") -> dict[str, float]:
    """Numeric leaves of a JSON document under dotted keys (``brief.MR-full-R1@0.7``); ``name``
    (the file) is named in the error for a non-finite value or nesting beyond ``MAX_DEPTH``."""
    if depth > MAX_DEPTH:
        raise InputError([Problem(name, None, f"nested more than {MAX_DEPTH} levels deep")])
    out: dict[str, float] = {}
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k), depth + 1, name))
    elif isinstance(doc, (int, float)) and not isinstance(doc, bool):
        value = float(doc)
        if not math.isfinite(value):
            raise InputError([Problem(name, None, f"{prefix}: value {doc!r} is not finite")])
        out[prefix] = value
    return out


def tolerance_unit(key: str) -> str:
    """The unit of a metrics key: ``brief``/``full`` hold percentages (the official scorer's
    rounded numbers), ``raw`` and breakdowns fractions in [0, 1]."""
    head = key.split(".", 1)[0]
    if head in ("brief", "full"):
        return "percentage points"
    if head in ("raw", "breakdown"):
        return "fraction"
    return "unit of the value"


def compare(
    actual: Any,
    expected: Any,
    tolerance: float,
    only_decreases: bool = False,
    keys: list[str] | None = None,
    expected_name: str = "<expected>",
    actual_name: str = "<actual>",
) -> RegressionCheck:
    """Every numeric value of ``expected`` (or the ``keys`` given) against ``actual``."""
    if not math.isfinite(tolerance) or tolerance < 0:
        raise UsageError(f"--tolerance must be a finite number >= 0, got {tolerance!r}")
    a, e = flatten(actual, name=actual_name), flatten(expected, name=expected_name)
    if not e:
        raise InputError(
            [Problem(expected_name, None, "no numeric value in it: nothing to compare (expected an object of numbers)")]
        )
    wanted = keys if keys else sorted(e)
    compared, moved = [], []
    for key in wanted:
        if key not in e:
            raise InputError([Problem(expected_name, None, f"no numeric value {key!r} in the expected file")])
        c = Comparison(key, e[key], a.get(key))
        compared.append(c)
        if c.actual is None or math.isnan(c.actual):
            moved.append(c)
            continue
        d = c.actual - c.expected
        if (d < -tolerance) or (not only_decreases and d > tolerance):
            moved.append(c)
    return RegressionCheck(compared, moved, tolerance)
