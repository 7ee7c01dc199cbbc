"""Ground-truth files: loading, checking against the schema, and the arrays the scorer needs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from amr_bench import gtcache
from amr_bench.datasets.registry import SplitEntry, resolve_ground_truth
from amr_bench.errors import InputError, Problem
from amr_bench.jsonl import JsonlFile, iter_jsonl_chunks, read_bytes
from amr_bench.ragged import RaggedWindows
from amr_bench.records import (
    GROUND_TRUTH,
    ParsedRecords,
    SchemaBudget,
    concat_parsed,
    float_qid_problems,
    parse_records,
)


@dataclass
class GroundTruth:
    """The queries of a ground-truth file, in file order."""

    path: Path
    sha256: str
    qids: list[Any]
    lines: list[int]
    queries: list[str]
    vids: list[str]
    durations: np.ndarray
    windows: RaggedWindows  # as annotated (no length filter applied)
    has_windows: bool
    split: SplitEntry | None = None
    problems: list[Problem] = field(default_factory=list)
    index: dict[Any, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.split.name if self.split else str(self.path)

    def __len__(self) -> int:
        return len(self.qids)


def load_ground_truth(spec: str | Path) -> GroundTruth:
    """Load a ground truth given as a file path or a bundled ``DATASET/SPLIT`` name.

    Raises ``InputError`` when the file has errors (invalid lines, duplicate qids).
    """
    path, split = resolve_ground_truth(spec)
    data = read_bytes(path)  # read once: hashed and parsed from the same bytes
    sha256 = hashlib.sha256(data).hexdigest()
    if split is not None:  # a bundled split: parsed once, then loaded from the cache as arrays
        cached = gtcache.load(sha256, path)
        if cached is not None:
            return GroundTruth(path=path, sha256=sha256, split=split, index=_first_row_of_qid(cached["qids"]), **cached)
    name = str(path)
    file_problems: list[Problem] = []
    budget = SchemaBudget()
    parts = [
        parse_records(records, lines, name, GROUND_TRUTH, _COLUMNS, budget)
        for records, lines in iter_jsonl_chunks(data, name, file_problems)
    ]
    parsed = concat_parsed(parts)
    parsed.problems += budget.summary(name)
    gt = _ground_truth_from_parsed(path, sha256, file_problems, parsed, split)
    if any(p.is_error for p in gt.problems):
        raise InputError(gt.problems, f"the ground truth {gt.name} is invalid")
    if split is not None:
        gtcache.store(sha256, {k: getattr(gt, k) for k in _CACHED})
    return gt


_CACHED = ("qids", "lines", "queries", "vids", "durations", "windows", "has_windows", "problems")


def _first_row_of_qid(qids: list[Any]) -> dict[Any, int]:
    return dict(zip(reversed(qids), range(len(qids) - 1, -1, -1), strict=True))


def ground_truth_from_records(records: list[dict[str, Any]], name: str = "<ground truth>") -> GroundTruth:
    """Build a ground truth from in-memory records (as a dataset loader returns them)."""
    gt = ground_truth_from_file(JsonlFile.from_records(records, name), None)
    if any(p.is_error for p in gt.problems):
        raise InputError(gt.problems, f"the ground truth {name} is invalid")
    return gt


_COLUMNS = ("query", "vid", "duration")


def ground_truth_from_file(f: JsonlFile, split: SplitEntry | None) -> GroundTruth:
    parsed = parse_records(f.records, f.lines, str(f.path), GROUND_TRUTH, _COLUMNS)
    return _ground_truth_from_parsed(f.path, f.sha256, f.problems, parsed, split)


def _ground_truth_from_parsed(
    path: Path, sha256: str, file_problems: list[Problem], parsed: ParsedRecords, split: SplitEntry | None
) -> GroundTruth:
    name = str(path)
    problems = file_problems + parsed.problems
    lines, qids = parsed.lines, parsed.qids
    index = _first_row_of_qid(qids)  # first line of each qid
    if len(index) < len(qids):
        for row, q in enumerate(qids):
            if index[q] != row:
                problems.append(
                    Problem(
                        name,
                        lines[row],
                        f"duplicate qid {q!r} (first on line {lines[index[q]]})",
                        "error",
                        "duplicate-qid",
                    )
                )
    if float in set(map(type, qids)):
        problems += float_qid_problems(qids, lines, name).values()
    problems += _window_problems(parsed.windows, lines, name)
    return GroundTruth(
        path=path,
        sha256=sha256,
        qids=qids,
        lines=lines,
        queries=parsed.columns["query"],
        vids=parsed.columns["vid"],
        durations=np.array(parsed.columns["duration"], dtype=np.float64),
        windows=parsed.windows,
        has_windows=parsed.has_windows_field if qids else True,
        split=split,
        problems=problems,
        index=index,
    )


def _window_problems(w: RaggedWindows, lines: list[int], name: str) -> list[Problem]:
    """Reversed or non-finite ground-truth windows are errors (the official scorer would drop
    them, and the query with them, without a word); zero-length ones are warnings."""
    if not len(w.start):
        return []
    finite = np.isfinite(w.start) & np.isfinite(w.end)
    kinds = [
        (~finite, "error", "non-finite", "NaN and Infinity are not allowed"),
        (finite & (w.start > w.end), "error", "reversed-window", "start > end: a window must end after it starts"),
        (finite & (w.start == w.end), "warning", "zero-length-window", "zero-length window: never matched, dropped"),
    ]
    out: list[Problem] = []
    row = w.row_of_window()
    position = np.arange(len(w.start)) - w.offsets[row]
    for bad, severity, code, what in kinds:
        idx = np.flatnonzero(bad)
        rows, first = np.unique(row[idx], return_index=True)
        for r, i in zip(rows.tolist(), idx[first].tolist(), strict=True):
            out.append(
                Problem(
                    name,
                    lines[r],
                    f"relevant_windows[{position[i]}] = [{w.start[i]:g}, {w.end[i]:g}]: {what}",
                    severity,  # type: ignore[arg-type]
                    code,
                )
            )
    return out
