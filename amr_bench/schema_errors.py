"""Schema errors worded for a person: what jsonschema reports about a JSON Lines record, turned
into ``FILE:LINE`` problems that name the field, what was expected and what was found.

:mod:`amr_bench.records` calls :func:`schema_problems` only for the lines its vectorised pre-check
does not accept, so this module is off the fast path of a valid file.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from typing import TYPE_CHECKING, Any

import numpy as np

from amr_bench.errors import Problem
from amr_bench.schemas import load_schema, validator

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

    from amr_bench.records import RecordSpec

_NUMBER = (int, float)
#: Invalid windows of one line given to jsonschema; the others are counted.
EXPLAINED_WINDOWS = 20
#: Deeper JSON is refused before any recursive code (jsonschema, repr) sees it.
MAX_DEPTH = 32


def schema_problems(record: Any, path: str, line: int, spec: RecordSpec) -> list[Problem]:
    """Every schema error of one record, as problems a person can act on (at most
    ``EXPLAINED_WINDOWS`` invalid windows are explained, the others counted)."""
    if too_deep(record):
        return [Problem(path, line, f"JSON nested more than {MAX_DEPTH} levels deep: not a {_KIND[spec.schema]}")]
    reduced, kept_windows, n_bad = _reduced(record, spec)
    errors = sorted(validator(spec.schema).iter_errors(reduced), key=lambda e: list(e.absolute_path))
    try:
        return _problems_of(errors, record, path, line, spec, kept_windows, n_bad)
    finally:
        _release(errors)


def _release(errors: list[ValidationError]) -> None:
    """Break the reference cycles between jsonschema's errors (``parent`` and ``context``): the
    cyclic collector is off while files are read, and the errors of thousands of invalid lines
    would otherwise stay in memory until it runs again."""
    stack = list(errors)
    while stack:
        e = stack.pop()
        stack.extend(e.context or [])
        e.context = []
        e.parent = None


def _problems_of(
    errors: list[ValidationError],
    record: Any,
    path: str,
    line: int,
    spec: RecordSpec,
    kept_windows: list[int] | None,
    n_bad: int,
) -> list[Problem]:
    out: list[Problem] = []
    field_index = re.compile(rf"^{re.escape(spec.windows_field)}\[(\d+)\]")
    for e in errors:
        for message in _explain(e, record, spec):
            if kept_windows is not None:  # back to the window numbers of the file
                message = field_index.sub(lambda m: f"{spec.windows_field}[{kept_windows[int(m[1])]}]", message)
            out.append(Problem(path, line, message, "error", f"schema-{e.validator}"))
    if n_bad > EXPLAINED_WINDOWS:
        out.append(
            Problem(
                path,
                line,
                f"{spec.windows_field}: {n_bad - EXPLAINED_WINDOWS} more invalid window(s) on this line "
                f"(the first {EXPLAINED_WINDOWS} are explained)",
                "error",
                "schema-more-windows",
            )
        )
    return out


_KIND = {"submission_line": "submission line", "ground_truth_line": "ground-truth line"}


def schema_accepts(record: Any, spec: RecordSpec) -> bool:
    """Whether the schema accepts ``record`` (bounded work on deep or huge lines)."""
    if too_deep(record):
        return False
    windows = record.get(spec.windows_field) if type(record) is dict else None
    if type(windows) is list and not all(_window_ok(w, spec.arities) for w in windows):
        return False  # such a window fails both forms the schema allows: no need to ask jsonschema
    error = next(validator(spec.schema).iter_errors(_reduced(record, spec)[0]), None)
    if error is None:
        return True
    _release([error])
    return False


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON ``value`` nests lists and objects more than ``limit`` levels deep."""
    if type(value) not in (dict, list):
        return False
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in (v.values() if type(v) is dict else v) if type(c) in (dict, list))
    return False


def _window_ok(w: Any, arities: tuple[int, ...]) -> bool:
    return type(w) is list and len(w) in arities and all(type(v) in _NUMBER for v in w)


def _reduced(record: Any, spec: RecordSpec) -> tuple[Any, list[int] | None, int]:
    """``record`` with a long window list cut to the windows that decide its validity: window 0,
    the first window of another arity and the first ``EXPLAINED_WINDOWS`` invalid ones. The
    schema accepts the reduced record exactly when it accepts ``record``. Also returns the kept
    window numbers (None when nothing was cut) and the number of invalid windows."""
    windows = record.get(spec.windows_field) if type(record) is dict else None
    if type(windows) is not list or len(windows) <= 2 * EXPLAINED_WINDOWS:
        return record, None, 0
    bad = [i for i, w in enumerate(windows) if not _window_ok(w, spec.arities)]
    arity = len(windows[0]) if type(windows[0]) is list else -1
    other = next((i for i, w in enumerate(windows) if type(w) is list and len(w) != arity), 0)
    kept = sorted({0, other, *bad[:EXPLAINED_WINDOWS]}) if bad or other else list(range(EXPLAINED_WINDOWS))
    return {**record, spec.windows_field: [windows[i] for i in kept]}, kept, len(bad)


def _location(e: ValidationError) -> str:
    loc = ""
    for part in e.absolute_path:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    return loc


def _json_type(value: Any) -> str:
    names = {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        type(None): "null",
        int: "integer",
        float: "number",
    }
    return names.get(type(value), type(value).__name__)


_REPR = reprlib.Repr()  # bounded in depth and length, unlike repr (a deep list raises RecursionError)
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 4, 8, 6, 64, 64


def _short(value: Any) -> str:
    text = _REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(e: ValidationError, record: Any, spec: RecordSpec) -> list[str]:
    loc = _location(e)
    where = f"{loc}: " if loc else ""
    if e.validator == "type" and not loc:
        return [f"expected a JSON object (one query per line), found {_json_type(e.instance)} {_short(e.instance)}"]
    if e.validator == "required":
        missing = e.message.split("'")[1] if "'" in e.message else e.message
        guess = difflib.get_close_matches(missing, [k for k in record if isinstance(k, str)], 1, 0.6)
        hint = f" (found {guess[0]!r}: misspelled?)" if guess else ""
        return [f"missing required field {missing!r}{hint}"]
    if e.validator == "type":
        expected = e.validator_value if isinstance(e.validator_value, str) else " or ".join(e.validator_value)
        what = "score" if loc.endswith("[2]") and loc.startswith(spec.windows_field) else "value"
        return [
            f"{where}expected {expected}, found {_json_type(e.instance)} {_short(e.instance)}"
            + (
                f" (a {what} must be a JSON number, not a string)"
                if isinstance(e.instance, str) and expected == "number"
                else ""
            )
        ]
    if e.validator == "minItems" and loc == spec.windows_field:
        return [f"{loc} is empty: give at least one [start, end] window"]
    if e.validator in ("minItems", "maxItems") and loc.startswith(spec.windows_field):
        allowed = " or ".join(str(a) for a in spec.arities)
        return [
            f"{where}a window has {allowed} values ([start, end]"
            + (" or [start, end, score]" if 3 in spec.arities else "")
            + f"), found {len(e.instance)}: {_short(e.instance)}"
        ]
    if e.validator == "anyOf" and loc == spec.windows_field:
        return _explain_windows(e, record[spec.windows_field], spec)
    if e.validator == "exclusiveMinimum":
        return [f"{where}must be greater than {e.validator_value}, found {_short(e.instance)}"]
    return [f"{where}{e.message}"]


def _explain_windows(e: ValidationError, windows: list[Any], spec: RecordSpec) -> list[str]:
    shapes_ok = all(type(w) is list and len(w) in spec.arities and all(type(v) in _NUMBER for v in w) for w in windows)
    if shapes_ok:
        arities = [len(w) for w in windows]
        first_other = next(i for i, a in enumerate(arities) if a != arities[0])
        return [
            f"{spec.windows_field}: windows mix [start, end] and [start, end, score]: window 0 "
            f"has {arities[0]} values, window {first_other} has {arities[first_other]}; "
            "give all windows the same form"
        ]
    # Explain with the branch (arity) that fits best: the one with the fewest errors.
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in e.context or []:
        by_branch.setdefault(int(sub.schema_path[0]), []).append(sub)

    def fit(branch: int) -> tuple[int, int]:  # windows of that arity first, then fewest errors
        arity = spec.arities[branch] if branch < len(spec.arities) else -1
        same = sum(1 for w in windows if type(w) is list and len(w) == arity)
        return (-same, len(by_branch[branch]))

    best = by_branch[min(by_branch, key=fit)] if by_branch else []
    out: list[str] = []
    for sub in sorted(best, key=lambda s: list(s.absolute_path)):
        out += _explain(sub, {}, spec)
    return out or [f"{spec.windows_field}: {e.message}"]


def unknown_field_warnings(
    records: list[Any], lines: list[int], keep: np.ndarray, path: str, spec: RecordSpec
) -> list[Problem]:
    """A warning for each field the schema does not know, with a "did you mean" (lines where ``keep``)."""
    known = set(load_schema(spec.schema)["properties"])
    out: list[Problem] = []
    present: set[Any] = set()
    present.update(*(r.keys() for r, k in zip(records, keep, strict=True) if k))
    if present <= known:
        return out
    for i in np.flatnonzero(keep):
        extra = records[i].keys() - known
        for key in sorted(extra, key=str):
            guess = difflib.get_close_matches(str(key), sorted(known), 1, 0.75)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            out.append(Problem(path, lines[i], f"unknown field {key!r} ignored{hint}", "warning", "unknown-field"))
    return out
