"""From parsed JSON Lines records to arrays, with every schema problem named by file:line.

The JSON Schemas in ``schemas/`` are the authority. Checking 100,000 lines one by one with
``jsonschema`` takes far longer than parsing them, so a vectorised pre-check first recognises the
lines whose shape is plainly valid (the common case); every other line goes through ``jsonschema``,
which decides and words the messages. A differential test keeps the pre-check from ever accepting
a line that the schema rejects.
"""

from __future__ import annotations

import array
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any, cast

import numpy as np

from amr_bench.errors import Problem
from amr_bench.ragged import RaggedWindows
from amr_bench.schema_errors import schema_accepts, schema_problems, unknown_field_warnings

_NUMBER = (int, float)
#: Lines failing the schema that are explained one by one (jsonschema words the messages); the
#: rest are still decided by the schema but only counted, so that a large invalid file costs
#: memory and time in proportion to the file, not to its number of errors.
EXPLAINED_LINES = 1000
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
        problems += unknown_field_warnings(records, lines, keep, path, spec)
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
