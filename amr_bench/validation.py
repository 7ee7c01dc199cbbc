"""Validation of a submission against a ground truth, before any metric is computed.

Every problem is reported (not just the first), each as ``FILE:LINE: severity: message``.
Errors make the submission unscoreable; warnings describe what the official scorer would do with
a legal but suspicious line (only the first 10 windows count for mAP, R1 takes the first window...).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from amr_bench.errors import InputError, Problem, Severity, problem_order
from amr_bench.groundtruth import GroundTruth, load_ground_truth
from amr_bench.jsonl import JsonlFile, iter_jsonl_chunks, no_cyclic_gc, read_bytes
from amr_bench.metrics import MAX_PRED_WINDOWS
from amr_bench.ragged import RaggedWindows
from amr_bench.records import (
    SUBMISSION,
    ParsedRecords,
    SchemaBudget,
    concat_parsed,
    float_qid_problems,
    parse_records,
)

MISSING_LISTED = 20
#: Lines listed per kind of window problem; the rest are counted.
LISTED_PER_KIND = 1000


@dataclass
class Submission:
    """The valid lines of a submission, aligned to the ground truth through ``gt_rows``."""

    path: Path
    sha256: str
    size: int
    qids: list[Any]
    lines: list[int]
    gt_rows: np.ndarray  # ground-truth row of every submission line (-1: not in the ground truth)
    windows: RaggedWindows


@dataclass
class ValidationReport:
    """What :func:`validate` found: the parsed submission and every problem, errors first by line.

    Attributes:
        submission: the submission's valid lines, aligned to the ground truth.
        ground_truth: the ground truth it was checked against.
        problems: every error and warning, each with ``path``, ``line``, ``message``,
            ``severity`` and ``code``; ``str(problem)`` is ``FILE:LINE: severity: message``.
    """

    submission: Submission
    ground_truth: GroundTruth
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """The problems that make the submission invalid."""
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        """The problems that do not (windows past the duration, more than 10 windows, ...)."""
        return [p for p in self.problems if not p.is_error]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors


def validate(submission: str | Path, ground_truth: str | Path | GroundTruth) -> ValidationReport:
    r"""Check a submission file against a ground truth, reporting every problem by file and line.

    The file is read once (hashed and parsed from the same bytes) and checked a chunk of lines at
    a time, so that its parsed JSON is never all in memory at once. What is checked, error by
    error and warning by warning: ``docs/scoring.md``.

    Args:
        submission: a JSON Lines file (``schemas/submission_line.schema.json``; ``.gz`` too).
        ground_truth: a bundled or registered split (``"castella/val"``), a file, or a loaded
            :class:`~amr_bench.groundtruth.GroundTruth`.

    Returns:
        The :class:`ValidationReport`; invalid input is reported there, not raised.

    Raises:
        amr_bench.errors.InputError: the file cannot be read (missing, a folder, a device, over
            the size bound) or the ground truth is invalid.
        amr_bench.errors.UsageError: the split name is unknown.

    Example:
        >>> import json, pathlib, tempfile
        >>> from amr_bench import validate
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> gt = folder / "gt.jsonl"
        >>> line = {"qid": 1, "query": "a dog barks", "vid": "a", "duration": 60, "relevant_windows": [[10, 20]]}
        >>> _ = gt.write_text(json.dumps(line) + "\n")
        >>> run = folder / "run.jsonl"
        >>> _ = run.write_text('{"qid": 1, "pred_relevant_windows": [[20, 10]]}\n')
        >>> report = validate(run, gt)
        >>> report.ok, report.errors[0].line, report.errors[0].message
        (False, 1, 'pred_relevant_windows[0]: start 20 > end 10: a window must end after it starts')
    """
    with no_cyclic_gc():
        gt = ground_truth if isinstance(ground_truth, GroundTruth) else load_ground_truth(ground_truth)
        path = Path(submission)
        data = read_bytes(path)
        name = str(path)
        file_problems: list[Problem] = []
        budget = SchemaBudget()
        parts = [
            parse_records(records, lines, name, SUBMISSION, budget=budget)
            for records, lines in iter_jsonl_chunks(data, name, file_problems)
        ]
        parsed = concat_parsed(parts)
        parsed.problems += budget.summary(name)
        return _validate_parsed(path, hashlib.sha256(data).hexdigest(), len(data), file_problems, parsed, gt)


def validate_records(records: list[dict[str, Any]], gt: GroundTruth, name: str = "<submission>") -> ValidationReport:
    """Validate in-memory submission records (what a baseline produces), as :func:`validate` does a file.

    Args:
        records: submission lines as dicts; line numbers count from 1.
        gt: the loaded ground truth.
        name: the name problems are reported under.

    Returns:
        The :class:`ValidationReport`.
    """
    return validate_file(JsonlFile.from_records(records, name), gt)


def validate_file(f: JsonlFile, gt: GroundTruth) -> ValidationReport:
    """Validate a JSON Lines file already read (:class:`~amr_bench.jsonl.JsonlFile`)."""
    parsed = parse_records(f.records, f.lines, str(f.path), SUBMISSION)
    return _validate_parsed(f.path, f.sha256, f.size, f.problems, parsed, gt)


def _validate_parsed(
    path: Path, sha256: str, size: int, file_problems: list[Problem], parsed: ParsedRecords, gt: GroundTruth
) -> ValidationReport:
    name = str(path)
    problems = file_problems + parsed.problems
    lines, qids = parsed.lines, parsed.qids
    # qids of lines rejected above: not reported again as missing from the submission
    gt_rows, qid_problems = _match_qids(qids, lines, gt, name, list(parsed.rejected_qids))
    problems += qid_problems
    sub = Submission(path, sha256, size, qids, lines, gt_rows, parsed.windows)
    problems += _window_problems(sub, gt, name)
    if len(parsed.keep) == 0 and not file_problems:
        problems.append(Problem(name, None, "no submission lines", "error", "empty"))
    return ValidationReport(sub, gt, sorted(problems, key=problem_order))


def require_valid(report: ValidationReport) -> ValidationReport:
    """Return the report when it has no error.

    Raises:
        amr_bench.errors.InputError: the report has errors (they are its ``problems``).
    """
    if not report.ok:
        raise InputError(report.problems, f"{len(report.errors)} error(s) in {report.submission.path}")
    return report


def _match_qids(
    qids: list[Any], lines: list[int], gt: GroundTruth, name: str, rejected: list[Any]
) -> tuple[np.ndarray, list[Problem]]:
    problems: list[Problem] = []
    index = gt.index
    rows = list(map(index.get, qids, repeat(-1)))
    numbers = float_qid_problems(qids, lines, name) if float in set(map(type, qids)) else {}
    for i, problem in numbers.items():  # 1.0 would find the qid 1 (equal keys): never silently
        rows[i] = -1
        rejected.append(qids[i])
        problems.append(problem)
    converted = []
    for i in np.flatnonzero(np.array(rows, dtype=np.int64) < 0).tolist():
        if i in numbers:
            continue
        alt = _other_qid_form(qids[i])
        if alt is not None and alt in index:
            rows[i] = index[alt]
            converted.append(i)
        else:
            problems.append(
                Problem(name, lines[i], f"qid {qids[i]!r} is not in the ground truth {gt.name}", "error", "unknown-qid")
            )
    if converted:
        i = converted[0]
        problems.append(
            Problem(
                name,
                lines[i],
                f"{len(converted)} qid(s) matched the ground truth only after converting between "
                f"integer and string (first: {qids[i]!r} -> {gt.qids[rows[i]]!r}); the official scorer "
                "treats them as different queries and would reject this file",
                "warning",
                "qid-type",
            )
        )
    row_arr = np.array(rows, dtype=np.int64)
    if len(rows) and (row_arr < 0).all():
        problems.append(
            Problem(
                name,
                None,
                f"none of the submission's {len(rows)} qids is in the "
                f"ground truth {gt.name}: is this the right --gt split?",
                "error",
                "no-qid-matches",
            )
        )
    matched = row_arr >= 0
    if matched.any() and np.bincount(row_arr[matched]).max() > 1:  # some ground-truth query twice
        first_line: dict[int, int] = {}
        for i in np.flatnonzero(matched).tolist():
            r = rows[i]
            if r in first_line:
                problems.append(
                    Problem(
                        name,
                        lines[i],
                        f"duplicate qid {qids[i]!r}: also on line {first_line[r]}",
                        "error",
                        "duplicate-qid",
                    )
                )
            else:
                first_line[r] = lines[i]
    present = [index.get(q, index.get(_other_qid_form(q), -1)) for q in rejected]
    covered = np.zeros(len(gt), dtype=bool)
    covered[row_arr[matched]] = True
    covered[[p for p in present if p >= 0]] = True
    missing = np.flatnonzero(~covered)
    if len(missing):
        listed = ", ".join(f"{gt.qids[m]!r} (gt line {gt.lines[m]})" for m in missing[:MISSING_LISTED])
        more = f" and {len(missing) - MISSING_LISTED} more" if len(missing) > MISSING_LISTED else ""
        problems.append(
            Problem(
                name,
                None,
                f"{len(missing)} of {len(gt)} ground-truth queries have no line in the submission: {listed}{more}",
                "error",
                "missing-qid",
            )
        )
    return row_arr, problems


def _other_qid_form(qid: Any) -> Any:
    r"""The same qid as a string (for an integer) or an integer (for a canonical decimal string).

    Canonical: ``"7"``, never ``" 7"``, ``"7\n"`` or ``"07"``.
    """
    if type(qid) is int:
        return str(qid)
    if type(qid) is str and qid.isascii() and len(qid) < 1000:
        s = qid
        if s and (s.isdigit() or (s[0] == "-" and s[1:].isdigit())) and str(int(s)) == s:
            return int(s)
    return None


def _not_listed(n: int, lines: list[int], rows: np.ndarray, name: str, severity: Severity, code: str) -> list[Problem]:
    """One problem counting the lines of one kind beyond the first ``LISTED_PER_KIND``.

    Those are listed one by one, so that a large file with a problem on every line costs memory in
    proportion to the file, not to its number of problems.
    """
    if n <= LISTED_PER_KIND:
        return []
    first = lines[int(rows[LISTED_PER_KIND])]
    return [
        Problem(
            name,
            first,
            f"and {n - LISTED_PER_KIND} more line(s) like the {LISTED_PER_KIND} listed (from here on): not listed",
            severity,
            code,
        )
    ]


def _window_problems(sub: Submission, gt: GroundTruth, name: str) -> list[Problem]:
    """Vectorised semantic checks of every window; a message per offending line."""
    w = sub.windows
    if w.n == 0:
        return []
    problems: list[Problem] = []
    row = w.row_of_window()
    position = np.arange(len(w.start)) - w.offsets[row]
    has_score = w.has_score
    finite = np.isfinite(w.start) & np.isfinite(w.end)
    nonfinite_score = has_score & ~np.isfinite(w.score)
    checks: list[tuple[np.ndarray, str, Severity, Any]] = [
        (
            ~finite,
            "non-finite",
            "error",
            lambda i: f"start {float(w.start[i])}, end {float(w.end[i])}: NaN and Infinity are not allowed",
        ),
        (
            nonfinite_score,
            "non-finite",
            "error",
            lambda i: f"score {float(w.score[i])}: NaN and Infinity are not allowed",
        ),
        (finite & (w.start < 0), "negative-start", "error", lambda i: f"negative start {w.start[i]:g} s"),
        (
            finite & (w.start > w.end),
            "reversed-window",
            "error",
            lambda i: f"start {w.start[i]:g} > end {w.end[i]:g}: a window must end after it starts",
        ),
        # The official baseline's own output has zero-length windows: legal, but they never match.
        (
            finite & (w.start == w.end),
            "zero-length-window",
            "warning",
            lambda i: f"zero-length window [{w.start[i]:g}, {w.end[i]:g}]: its IoU is always 0",
        ),
    ]
    gt_row_of_window = sub.gt_rows[row]
    known = gt_row_of_window >= 0
    duration = np.where(known, gt.durations[np.maximum(gt_row_of_window, 0)], np.inf)
    checks.append(
        (
            finite & known & (w.end > duration),
            "past-duration",
            "warning",
            lambda i: f"end {w.end[i]:g} s is past the ground-truth duration {duration[i]:g} s",
        )
    )
    for bad, code, severity, describe in checks:
        idx = np.flatnonzero(bad)
        if not len(idx):
            continue
        rows_hit, first = np.unique(row[idx], return_index=True)
        per_row = np.bincount(row[idx], minlength=w.n)
        problems += _not_listed(len(rows_hit), sub.lines, rows_hit, name, severity, code)
        for r, i in zip(rows_hit[:LISTED_PER_KIND], idx[first][:LISTED_PER_KIND], strict=True):
            extra = f" ({per_row[r] - 1} more window(s) on this line)" if per_row[r] > 1 else ""
            problems.append(
                Problem(
                    name, sub.lines[r], f"pred_relevant_windows[{position[i]}]: {describe(i)}{extra}", severity, code
                )
            )
    counts = w.counts
    many = np.flatnonzero(counts > MAX_PRED_WINDOWS)
    problems += _not_listed(len(many), sub.lines, many, name, "warning", "too-many-windows")
    many = many[:LISTED_PER_KIND]
    for r, c in zip(many.tolist(), counts[many].tolist(), strict=True):
        problems.append(
            Problem(
                name,
                sub.lines[r],
                f"{c} windows: only the first {MAX_PRED_WINDOWS} count for mAP",
                "warning",
                "too-many-windows",
            )
        )
    rising = np.zeros(len(w.start), dtype=bool)
    same_row = row[1:] == row[:-1]
    rising[1:] = same_row & has_score[1:] & has_score[:-1] & (w.score[1:] > w.score[:-1])
    unsorted = np.flatnonzero(np.bincount(row[rising], minlength=w.n))
    problems += _not_listed(len(unsorted), sub.lines, unsorted, name, "warning", "unsorted-scores")
    for r in unsorted[:LISTED_PER_KIND]:
        problems.append(
            Problem(
                name,
                sub.lines[r],
                "scores are not in descending order: R1 takes the FIRST window of the list, mAP ranks by score",
                "warning",
                "unsorted-scores",
            )
        )
    return problems
