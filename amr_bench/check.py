"""``amr-bench check``: compare a result file with expected values, for CI regression gates."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amr_bench.errors import InputError, Problem


@dataclass(frozen=True)
class Comparison:
    key: str
    expected: float
    actual: float | None

    @property
    def delta(self) -> float | None:
        return None if self.actual is None else self.actual - self.expected


@dataclass
class CheckReport:
    compared: list[Comparison]
    moved: list[Comparison]
    tolerance: float

    @property
    def ok(self) -> bool:
        return not self.moved


def load_json(path: str | Path) -> Any:
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError:
        raise InputError([Problem(str(p), None, "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise InputError([Problem(str(p), None, f"not UTF-8 text ({exc.reason})")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([Problem(str(p), exc.lineno, f"invalid JSON: {exc.msg} at column {exc.colno}")]) from None


def flatten(doc: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a JSON document under dotted keys (``brief.MR-full-R1@0.7``)."""
    out: dict[str, float] = {}
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(doc, (int, float)) and not isinstance(doc, bool):
        out[prefix] = float(doc)
    return out


def compare(
    actual: Any,
    expected: Any,
    tolerance: float,
    only_decreases: bool = False,
    keys: list[str] | None = None,
    expected_name: str = "<expected>",
) -> CheckReport:
    """Every numeric value of ``expected`` (or the ``keys`` given) against ``actual``."""
    a, e = flatten(actual), flatten(expected)
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
    return CheckReport(compared, moved, tolerance)
