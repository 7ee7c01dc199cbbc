"""From parsed JSON Lines records to arrays, with every schema problem named by file:line.

The JSON Schemas in ``schemas/`` are the authority. Checking 100,000 lines one by one with
``jsonschema`` takes far longer than parsing them, so a vectorised pre-check first recognises the
lines whose shape is plainly valid (the common case); every other line goes through ``jsonschema``,
which decides and words the messages. A differential test keeps the pre-check from ever accepting
a line that the schema rejects.
"""

from __future__ import annotations

import array
import difflib
import re
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from amr_bench.errors import Problem
from amr_bench.ragged import RaggedWindows
from amr_bench.schemas import load_schema, validator

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

_NUMBER = (int, float)
#: Lines failing the schema that are explained one by one (jsonschema words the messages); the
#: rest are still decided by the schema but only counted, so that a large invalid file costs
#: memory and time in proportion to the file, not to its number of errors.
EXPLAINED_LINES = 1000
#: Invalid windows of one line given to jsonschema; the others are counted.
EXPLAINED_WINDOWS = 20
#: Deeper JSON is refused before any recursive code (jsonschema, repr) sees it.
MAX_DEPTH = 32
_SUBMISSION_FAST_KEYS = {"qid", "query", "vid", "duration", "pred_relevant_windows"}


def _quick_submission(r: Any) -> bool:
    if type(r) is not dict or not r.keys() <= _SUBMISSION_FAST_KEYS:
        return False
    w = r.get("pred_relevant_windows")
    if type(w) is not list or not w or type(r.get("qid")) not in (int, str):
        return False
    if type(r.get("query", "")) is not str or type(r.get("vid", "")) is not str:
        return False
    d = r.get("duration", 1)
    return type(d) in _NUMBER and d > 0


def _quick_ground_truth(r: Any) -> bool:
    if type(r) is not dict or type(r.get("qid")) not in (int, str):
        return False
    if type(r.get("query")) is not str or type(r.get("vid")) is not str:
        return False
    d = r.get("duration")
    return type(d) in _NUMBER and cast(float, d) > 0 and type(r.get("relevant_windows", [])) is list


def _field_values(records: list[dict[str, Any]], key: str, default: Any) -> list[Any]:
    return list(map(dict.get, records, repeat(key), repeat(default)))


def _all_plain(
    records: list[Any],
    allowed_keys: set[str] | None,
    required: set[str],
    typed: dict[str, tuple[type, ...]],
    positive: tuple[str, ...],
    windows: str,
    windows_nonempty: bool,
) -> bool:
    """The quick check of every record at once, in a few passes that run in C: true only when
    every record would pass it (a false answer falls back to the per-record check)."""
    if set(map(type, records)) != {dict}:
        return False
    for keys in set(map(frozenset, records)):
        if not required <= keys or (allowed_keys is not None and not keys <= allowed_keys):
            return False
    for key, types in typed.items():
        if not set(map(type, _field_values(records, key, types[0]()))) <= set(types):
            return False
    for key in positive:
        if min(_field_values(records, key, 1)) <= 0:
            return False
    wins = _field_values(records, windows, [])
    return set(map(type, wins)) <= {list} and (not windows_nonempty or min(map(len, wins)) > 0)


def _all_submission(records: list[Any]) -> bool:
    return _all_plain(
        records,
        _SUBMISSION_FAST_KEYS,
        {"qid", "pred_relevant_windows"},
        {"qid": (str, int), "query": (str,), "vid": (str,), "duration": (int, float)},
        ("duration",),
        "pred_relevant_windows",
        True,
    )


def _all_ground_truth(records: list[Any]) -> bool:
    return _all_plain(
        records,
        None,
        {"qid", "query", "vid", "duration"},
        {"qid": (str, int), "query": (str,), "vid": (str,), "duration": (int, float)},
        ("duration",),
        "relevant_windows",
        False,
    )


@dataclass(frozen=True)
class RecordSpec:
    """How to read one kind of line (submission or ground truth)."""

    schema: str
    windows_field: str
    arities: tuple[int, ...]
    quick_check: Callable[[Any], bool]
    all_quick: Callable[[list[Any]], bool]
    warn_unknown_fields: bool


SUBMISSION = RecordSpec("submission_line", "pred_relevant_windows", (2, 3), _quick_submission, _all_submission, True)
GROUND_TRUTH = RecordSpec("ground_truth_line", "relevant_windows", (2,), _quick_ground_truth, _all_ground_truth, False)


@dataclass
class ParsedRecords:
    """What the scorer keeps of the schema-valid records (never the records themselves, so that a
    large file can be read in chunks whose parsed JSON is freed as soon as it is checked);
    ``keep[i]`` says whether record ``i`` was valid."""

    keep: np.ndarray
    windows: RaggedWindows  # windows of the kept records, in record order
    problems: list[Problem]
    lines: list[int]  # line numbers of the kept records
    qids: list[Any]  # their qids
    columns: dict[str, list[Any]] = field(default_factory=dict)  # other fields asked for, of the kept records
    rejected_qids: list[Any] = field(default_factory=list)  # integer or string qids of rejected records
    has_windows_field: bool = False  # some kept record has the windows field


@dataclass
class SchemaBudget:
    """How many invalid lines jsonschema has explained so far (shared by the chunks of a file)."""

    explained: int = 0
    unexplained: int = 0
    first_unexplained: int = 0

    def summary(self, path: str) -> list[Problem]:
        if not self.unexplained:
            return []
        return [
            Problem(
                path,
                self.first_unexplained,
                f"{self.unexplained} more line(s) fail the schema (the first here); only the first "
                f"{EXPLAINED_LINES} invalid lines are explained: fix those and validate again",
                "error",
                "schema-more",
            )
        ]


def parse_records(
    records: list[Any],
    lines: list[int],
    path: str,
    spec: RecordSpec,
    columns: tuple[str, ...] = (),
    budget: SchemaBudget | None = None,
) -> ParsedRecords:
    """Check every record against the schema and gather the windows (and the ``columns``) of the
    valid ones. With a shared ``budget`` the caller adds ``budget.summary`` once at the end."""
    own_budget = budget is None
    budget = budget or SchemaBudget()
    problems: list[Problem] = []
    all_quick = bool(records) and spec.all_quick(records)
    if all_quick:
        keep = np.ones(len(records), dtype=bool)
        win_lists = _field_values(records, spec.windows_field, [])
    else:
        keep = np.fromiter(map(spec.quick_check, records), dtype=bool, count=len(records))
        win_lists = [
            r[spec.windows_field] if k and spec.windows_field in r else [] for r, k in zip(records, keep, strict=True)
        ]
    flat = _Flat(win_lists)
    keep &= _windows_look_valid(flat, spec.arities)
    rejected = np.flatnonzero(~keep)
    for i in rejected.tolist():
        if budget.explained < EXPLAINED_LINES:
            found = schema_problems(records[i], path, lines[i], spec)
            problems += found
            budget.explained += bool(found)
            valid = not found
        else:
            valid = schema_accepts(records[i], spec)
            if not valid:
                budget.unexplained += 1
                budget.first_unexplained = budget.first_unexplained or lines[i]
        if valid:  # the pre-check is conservative; the schema accepts this line
            keep[i] = True
            win_lists[i] = records[i].get(spec.windows_field, [])
    if own_budget:
        problems += budget.summary(path)
    if len(rejected):
        windows = windows_to_arrays(_Flat([w for w, k in zip(win_lists, keep, strict=True) if k]))
    else:
        windows = windows_to_arrays(flat)
    if spec.warn_unknown_fields and not all_quick:  # the quick check admits known fields only
        problems += _unknown_field_warnings(records, lines, keep, path, spec)
    if keep.all():
        kept, kept_lines, rejected_qids = records, lines, []
    else:
        kept = [r for r, k in zip(records, keep, strict=True) if k]
        kept_lines = [n for n, k in zip(lines, keep, strict=True) if k]
        rejected_qids = [
            r["qid"]
            for r, k in zip(records, keep, strict=True)
            if not k and type(r) is dict and type(r.get("qid")) in (int, str)
        ]
    field_name = spec.windows_field
    return ParsedRecords(
        keep,
        windows,
        problems,
        list(kept_lines),
        _field_values(kept, "qid", None),
        {c: _field_values(kept, c, None) for c in columns},
        rejected_qids,
        any(field_name in r for r in kept),
    )


def concat_parsed(parts: list[ParsedRecords]) -> ParsedRecords:
    """The chunks of one file as one."""
    if len(parts) == 1:
        return parts[0]
    columns = {c: list(chain.from_iterable(p.columns[c] for p in parts)) for c in (parts[0].columns if parts else {})}
    return ParsedRecords(
        np.concatenate([p.keep for p in parts]) if parts else np.zeros(0, dtype=bool),
        concat_windows([p.windows for p in parts]),
        list(chain.from_iterable(p.problems for p in parts)),
        list(chain.from_iterable(p.lines for p in parts)),
        list(chain.from_iterable(p.qids for p in parts)),
        columns,
        list(chain.from_iterable(p.rejected_qids for p in parts)),
        any(p.has_windows_field for p in parts),
    )


def concat_windows(parts: list[RaggedWindows]) -> RaggedWindows:
    if not parts:
        return windows_to_arrays(_Flat([]))
    offsets = [parts[0].offsets[:1]]
    base = 0
    for w in parts:
        offsets.append(w.offsets[1:] + base)
        base += int(w.offsets[-1])
    return RaggedWindows(
        np.concatenate([w.start for w in parts]),
        np.concatenate([w.end for w in parts]),
        np.concatenate([w.score for w in parts]),
        np.concatenate(offsets),
        np.concatenate([w.has_score for w in parts]),
    )


class _Flat:
    """The windows of many records flattened once: ``windows[j]`` belongs to ``row[j]``."""

    def __init__(self, win_lists: list[Any]) -> None:
        self.n = len(win_lists)
        self.counts = np.fromiter(map(len, win_lists), dtype=np.int64, count=self.n)
        self.windows = list(chain.from_iterable(win_lists))
        self.all_lists = set(map(type, self.windows)) <= {list}
        if self.all_lists:
            self.arity = np.fromiter(map(len, self.windows), dtype=np.int64, count=len(self.windows))
            self.values = list(chain.from_iterable(self.windows))
            self.all_numbers = set(map(type, self.values)) <= {int, float}
        else:
            self.arity = np.fromiter(
                (len(w) if type(w) is list else -1 for w in self.windows), np.int64, len(self.windows)
            )
            self.values = []
            self.all_numbers = False


def _windows_look_valid(flat: _Flat, arities: tuple[int, ...]) -> np.ndarray:
    """Per record: every window is a list of ``arities`` numbers, the same arity throughout."""
    n = flat.n
    if not flat.windows:
        return np.ones(n, dtype=bool)
    win_ok = np.zeros(len(flat.arity), dtype=bool)
    for arity in arities:
        win_ok |= flat.arity == arity
    if not (flat.all_lists and flat.all_numbers):
        win_ok &= np.fromiter(
            (type(w) is list and all(type(v) in _NUMBER for v in w) for w in flat.windows), bool, len(flat.windows)
        )
    rows = np.repeat(np.arange(n), flat.counts)
    ok = np.bincount(rows[~win_ok], minlength=n) == 0
    has = flat.counts > 0
    starts = np.concatenate([[0], np.cumsum(flat.counts)[:-1]])[has]
    same = np.minimum.reduceat(flat.arity, starts) == np.maximum.reduceat(flat.arity, starts)
    ok[np.flatnonzero(has)[~same]] = False
    return ok


def windows_to_arrays(flat: _Flat) -> RaggedWindows:
    """Schema-valid windows as float64 arrays (score NaN and ``has_score`` false when absent)."""
    offsets = np.zeros(flat.n + 1, dtype=np.int64)
    np.cumsum(flat.counts, out=offsets[1:])
    if not flat.windows:
        empty = np.zeros(0)
        return RaggedWindows(empty, empty, empty, offsets, np.zeros(0, dtype=bool))
    try:  # array.array converts a list of Python numbers about twice as fast as np.array
        v = np.frombuffer(array.array("d", flat.values), dtype=np.float64)
    except OverflowError:  # integers beyond float range: infinite, reported as non-finite
        v = np.array([_as_float(x) for x in flat.values], dtype=np.float64)
    has_score = flat.arity == 3
    if flat.arity.min() == flat.arity.max():  # one arity throughout: columns of a reshaped view
        cols = v.reshape(len(flat.windows), int(flat.arity[0]))
        score = cols[:, 2] if has_score[0] else np.full(len(cols), np.nan)
        return RaggedWindows(cols[:, 0], cols[:, 1], score, offsets, has_score)
    pos = np.zeros(len(flat.windows), dtype=np.int64)
    np.cumsum(flat.arity[:-1], out=pos[1:])
    score = np.where(has_score, v[np.minimum(pos + 2, len(v) - 1)], np.nan)
    return RaggedWindows(v[pos], v[pos + 1], score, offsets, has_score)


def _as_float(x: float) -> float:
    try:
        return float(x)
    except OverflowError:
        return float("inf") if x > 0 else float("-inf")


def float_qid_problems(qids: list[Any], lines: list[int], name: str) -> dict[int, Problem]:
    """Qids written as numbers with a fraction or an exponent (``1.0``, ``1e0``): errors."""
    return {
        i: Problem(
            name,
            lines[i],
            f"qid {q!r} is a number with a decimal point or an exponent: qids are integers or strings "
            "(write it exactly as in the ground truth)",
            "error",
            "qid-number",
        )
        for i, q in enumerate(qids)
        if type(q) is float
    }


# ---------------------------------------------------------------- messages from jsonschema


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


def _unknown_field_warnings(
    records: list[Any], lines: list[int], keep: np.ndarray, path: str, spec: RecordSpec
) -> list[Problem]:
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
