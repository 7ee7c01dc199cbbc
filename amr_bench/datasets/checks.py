"""Ground-truth defect checks (``amr-bench datasets check``) and an explicit cleaning step.

Each finding is a warning with ``FILE:LINE``; nothing is ever fixed silently. The official
scorer itself validates nothing (docs/scorer.md): it drops windows whose length is not in
(0, 1500], merges duplicate qids, and computes nonsense IoU for reversed windows. These checks say
where a ground-truth file relies on that.

:func:`clean_ground_truth` writes a cleaned copy and returns one line per change:

- a window ending at most ``tolerance`` s past the duration (CASTELLA's off-by-one/two) is
  clipped to the duration; a window starting before 0 is clipped to 0;
- a window ending further past the duration, longer than the recording, zero-length or reversed
  (``[299, 4800]`` in CASTELLA train) is dropped;
- windows are sorted by start, exact duplicates removed, overlapping windows merged;
- a repeated qid keeps its first line and drops later ones;
- qids and durations are never rewritten (a submission must use the same qid values); qid-type
  mixtures and inconsistent durations of one vid are
  only reported; a query left without any window is dropped.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import orjson

from amr_bench.errors import InputError, Problem
from amr_bench.jsonl import read_jsonl
from amr_bench.metrics import GT_MAX_LENGTH
from amr_bench.outputs import write_bytes_atomic
from amr_bench.records import GROUND_TRUTH, parse_records

#: How far past the duration a window end may lie before it counts as absurd rather than an
#: off-by-one (CASTELLA has ends at duration+1 and duration+2).
END_TOLERANCE_S = 2.0
#: The official scorer drops ground-truth windows longer than this (docs/scorer.md).
OFFICIAL_MAX_LEN_S = GT_MAX_LENGTH  # the official scorer drops longer ground-truth windows


@dataclass
class GroundTruthCheck:
    path: Path
    queries: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    def counts(self) -> dict[str, int]:
        """Findings per kind (the text before the first ':' of the message)."""
        out: dict[str, int] = {}
        for p in self.problems:
            kind = p.message.split(":", 1)[0]
            out[kind] = out.get(kind, 0) + 1
        return dict(sorted(out.items()))


def _is_number(x: Any) -> bool:
    return type(x) in (int, float) and x == x and abs(x) != float("inf")


def check_records(records: list[Any], lines: list[int], name: str, expect_windows: bool = True) -> list[Problem]:
    """Every defect of the ground-truth ``records`` (``lines`` are their 1-based line numbers)."""
    out: list[Problem] = []

    def warn(line: int | None, msg: str) -> None:
        out.append(Problem(name, line, msg, "warning"))

    first_line_of: dict[Any, int] = {}
    qid_types: dict[str, list[int]] = {}
    vid_duration: dict[str, tuple[Any, int]] = {}
    for rec, line in zip(records, lines, strict=True):
        if not isinstance(rec, dict):
            out.append(Problem(name, line, "not a JSON object"))
            continue
        qid = rec.get("qid")
        if type(qid) not in (int, str):
            out.append(Problem(name, line, f"bad qid: {qid!r} is not an integer or a string"))
        else:
            qid_types.setdefault(type(qid).__name__, []).append(line)
            key = (type(qid).__name__, qid)
            if key in first_line_of:
                warn(
                    line,
                    f"duplicate qid: {qid!r} already on line {first_line_of[key]} "
                    "(the official scorer silently merges them)",
                )
            else:
                first_line_of[key] = line
        duration = rec.get("duration")
        if not _is_number(duration) or cast(float, duration) <= 0:
            out.append(Problem(name, line, f"bad duration: {duration!r}"))
            duration = None
        vid = rec.get("vid")
        if isinstance(vid, str) and duration is not None:
            if vid in vid_duration and vid_duration[vid][0] != duration:
                warn(
                    line,
                    f"inconsistent duration: vid {vid!r} has duration {duration} here and "
                    f"{vid_duration[vid][0]} on line {vid_duration[vid][1]}",
                )
            vid_duration.setdefault(vid, (duration, line))
        if "relevant_windows" not in rec:
            if expect_windows:
                out.append(Problem(name, line, "missing relevant_windows"))
            continue
        out.extend(_check_windows(rec["relevant_windows"], duration, name, line))
    if len(qid_types) > 1:
        minority = min(qid_types, key=lambda t: len(qid_types[t]))
        counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(qid_types.items()))
        warn(
            qid_types[minority][0],
            f"mixed qid types: {counts}; the official scorer treats "
            f'"1" and 1 as different qids (first {minority} qid here)',
        )
    return out


def _check_windows(windows: Any, duration: float | None, name: str, line: int) -> list[Problem]:
    out: list[Problem] = []

    def warn(msg: str) -> None:
        out.append(Problem(name, line, msg, "warning"))

    if not isinstance(windows, list):
        return [Problem(name, line, f"bad relevant_windows: {windows!r} is not a list")]
    if not windows:
        warn("no windows: the official scorer drops this query")
        return out
    good: list[tuple[float, float]] = []
    for k, w in enumerate(windows):
        if not (isinstance(w, list) and len(w) == 2 and all(_is_number(x) for x in w)):
            out.append(Problem(name, line, f"bad window: relevant_windows[{k}] = {w!r}"))
            continue
        s, e = float(w[0]), float(w[1])
        where = f"relevant_windows[{k}] = [{w[0]}, {w[1]}]"
        if e <= s:
            kind = "zero-length window" if e == s else "reversed window"
            warn(f"{kind}: {where} (the official scorer drops it)")
            continue
        if duration is not None and (e - s > duration or e > duration + END_TOLERANCE_S):
            warn(f"absurd window: {where} in a recording of {duration} s")
        elif e - s > OFFICIAL_MAX_LEN_S:
            warn(f"absurd window: {where} is longer than {OFFICIAL_MAX_LEN_S:g} s (the official scorer drops it)")
        elif duration is not None and e > duration:
            warn(f"window past duration: {where} ends {e - duration:g} s after the duration {duration}")
        if s < 0:
            warn(f"negative start: {where}")
        good.append((s, e))
    if [w[0] for w in good] != sorted(w[0] for w in good):
        warn("unsorted windows: starts are not in increasing order")
    ordered = sorted(good)
    for (s1, e1), (s2, e2) in itertools.pairwise(ordered):
        if (s1, e1) == (s2, e2):
            warn(f"duplicate window: [{s1:g}, {e1:g}] appears twice")
        elif s2 < e1:
            warn(f"overlapping windows: [{s1:g}, {e1:g}] and [{s2:g}, {e2:g}]")
    return out


def check_ground_truth(path: str | Path, expect_windows: bool = True) -> GroundTruthCheck:
    """Read ``path`` and report every defect; unreadable lines are errors, defects warnings."""
    path = Path(path)
    if not path.is_file():
        raise InputError([Problem(str(path), None, "no such file")], f"no such file: {path}")
    jf = read_jsonl(path)
    # The same schema as ``validate``: lines it rejects are errors, the others are checked for defects.
    parsed = parse_records(jf.records, jf.lines, str(path), GROUND_TRUTH)
    report = GroundTruthCheck(path, len(jf.records), [*jf.problems, *parsed.problems])
    kept = [r for r, k in zip(jf.records, parsed.keep, strict=True) if k]
    report.problems.extend(check_records(kept, parsed.lines, str(path), expect_windows))
    report.problems.sort(key=lambda p: (p.line if p.line is not None else 1 << 62, p.message))
    return report


def clean_windows(windows: list[list[float]], duration: float) -> tuple[list[list[float]], list[str]]:
    """The cleaned windows of one query and what was changed (see the module docstring)."""
    changes: list[str] = []
    kept: list[list[float]] = []
    for w in windows:
        s, e = w
        if e <= s or e - s > duration or e > duration + END_TOLERANCE_S or e - s > OFFICIAL_MAX_LEN_S:
            changes.append(f"dropped [{s}, {e}]")
            continue
        s2, e2 = max(s, 0), min(e, duration)
        if (s2, e2) != (s, e):
            changes.append(f"clipped [{s}, {e}] to [{s2}, {e2}]")
        if e2 > s2:
            kept.append([s2, e2])
        else:
            changes.append(f"dropped [{s}, {e}] (empty after clipping)")
    if kept != sorted(kept):
        changes.append("sorted windows")
    merged: list[list[float]] = []
    for s, e in sorted(kept):
        if (merged and s < merged[-1][1]) or (merged and [s, e] == merged[-1]):
            old = list(merged[-1])
            merged[-1][1] = max(merged[-1][1], e)
            changes.append(f"merged {old} and [{s}, {e}] into {merged[-1]}")
        else:
            merged.append([s, e])
    return merged, changes


def clean_ground_truth(path: str | Path, out: str | Path) -> list[str]:
    """Write a cleaned copy of ``path`` to ``out``; returns ``FILE:LINE: change`` descriptions."""
    path, out = Path(path), Path(out)
    report = check_ground_truth(path)
    if report.errors:
        raise InputError(report.errors, f"{path}: cannot clean a file with errors; fix them first")
    jf = read_jsonl(path)
    changes: list[str] = []
    seen: dict[tuple[str, Any], int] = {}
    lines_out: list[bytes] = []
    for rec, line in zip(jf.records, jf.lines, strict=True):
        key = (type(rec["qid"]).__name__, rec["qid"])
        if key in seen:
            changes.append(f"{path}:{line}: dropped duplicate qid {rec['qid']!r} (kept line {seen[key]})")
            continue
        seen[key] = line
        if "relevant_windows" in rec:
            windows, what = clean_windows(rec["relevant_windows"], rec["duration"])
            changes.extend(f"{path}:{line}: {w}" for w in what)
            if not windows:
                changes.append(f"{path}:{line}: dropped query {rec['qid']!r} (no window left)")
                continue
            rec = {**rec, "relevant_windows": windows}
        try:
            lines_out.append(orjson.dumps(rec))
        except orjson.JSONEncodeError as exc:  # e.g. an unknown field nested very deeply
            raise InputError([Problem(str(path), line, f"cannot write this line again: {exc}")]) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out, b"\n".join(lines_out) + b"\n")
    return changes
