"""Which split is this submission for? Found from its qids, so ``--gt`` can be left out.

Only the ``qid`` of each line is read (no validation: lines that do not parse are skipped here
and reported by the validator afterwards). A split is chosen only when its qid set is exactly the
submission's and no other known split (bundled or user-registered) has the same set; otherwise the
candidates are listed with how many of the submission's qids each holds.

The same qid sets explain a failed validation: when a submission's qids are not those of the
``--gt`` given but are another split's, that is said first (see :func:`wrong_split_hint`); and a
submission that carries ``relevant_windows`` (a ground truth's field) next to a ground truth that
carries ``pred_relevant_windows`` is named as swapped (see :func:`swapped_files_hint`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from amr_bench.errors import UsageError

MAX_LISTED = 5
PEEK_LINES = 20


@dataclass(frozen=True)
class SplitMatch:
    """How a submission's qids compare with one known split's."""

    name: str  # castella/test, or NAME/SPLIT for a user dataset
    path: Path
    split_queries: int  # qids in the split
    matching: int  # of the submission's qids, how many are in the split

    def describe(self, n_submission: int) -> str:
        return (
            f"{self.name}: {self.matching:,} of the submission's {n_submission:,} qids "
            f"(split has {self.split_queries:,})"
        )


@dataclass(frozen=True)
class Detection:
    """The split chosen for a submission and why."""

    spec: str  # what to pass as --gt
    path: Path
    reason: str


def _qid_key(value: Any) -> str | None:
    """int and str forms of one qid compare equal (the validator warns about the conversion)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    return str(value)


def _lines(path: Path) -> Iterator[bytes]:
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"{path}: not a regular file")
    with open(path, "rb") as f:
        yield from f


def read_qids(path: str | Path) -> set[str]:
    """The qids of a JSON Lines file (int and str forms as one); unreadable lines are skipped."""
    out: set[str] = set()
    for line in _lines(Path(path)):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict):
            key = _qid_key(record.get("qid"))
            if key is not None:
                out.add(key)
    return out


def known_splits() -> list[tuple[str, Path]]:
    """Every bundled split and every split of a user-registered dataset, as (name, file)."""
    from amr_bench.datasets.local import local_splits, split_path
    from amr_bench.datasets.registry import splits, user_datasets

    out = [(e.name, e.path) for e in splits()]
    for name, entry in sorted(user_datasets().items()):
        root = Path(entry["root"]).expanduser()
        if root.is_dir():
            out.extend((f"{name}/{split}", split_path(root, split)) for split in local_splits(root))
    return out


def match_splits(qids: set[str], candidates: list[tuple[str, Path]] | None = None) -> list[SplitMatch]:
    """Every candidate split with how many of ``qids`` it holds, best first."""
    matches = []
    for name, path in known_splits() if candidates is None else candidates:
        try:
            split_qids = read_qids(path)
        except (UsageError, OSError):
            continue
        matches.append(SplitMatch(name, path, len(split_qids), len(qids & split_qids)))
    matches.sort(key=lambda m: (-m.matching, abs(m.split_queries - len(qids)), m.name))
    return matches


def _same_size(n: int) -> list[tuple[str, Path]]:
    """The known splits that may hold exactly ``n`` qids: bundled splits of that size (their
    query counts are in the registry) and every user split (not counted in advance)."""
    from amr_bench.datasets.registry import splits

    sizes = {e.name: e.queries for e in splits()}
    return [(name, path) for name, path in known_splits() if sizes.get(name, n) == n]


def detect_split(submission: str | Path, candidates: list[tuple[str, Path]] | None = None) -> Detection:
    """The one known split whose qid set equals the submission's; ``UsageError`` listing the
    candidates when none or several do. Only splits of the submission's size are read unless
    the detection fails."""
    qids = read_qids(submission)
    if not qids:
        raise UsageError(f"{submission}: no qid found in it, so its split cannot be recognised; pass --gt")
    n = len(qids)
    exact = [m for m in match_splits(qids, candidates or _same_size(n)) if m.matching == n == m.split_queries]
    if len(exact) == 1:
        m = exact[0]
        return Detection(m.name, m.path, f"all {n:,} qids of {submission} match {m.name}; no other split has them")
    if len(exact) > 1:
        names = ", ".join(m.name for m in exact)
        raise UsageError(f"{submission}: its {n:,} qids match several splits exactly ({names}); choose one with --gt")
    close = [m for m in match_splits(qids, candidates) if m.matching][:MAX_LISTED]
    listed = "; ".join(m.describe(n) for m in close) if close else "none holds any of them"
    raise UsageError(f"{submission}: no known split has exactly its {n:,} qids, so --gt is needed. Closest: {listed}")


def wrong_split_hint(submission: str | Path, gt_path: str | Path, gt_name: str) -> str | None:
    """A first-line diagnosis when the submission's qids are not ``gt_name``'s but another
    known split's (``None`` when the qids fit or no split fits better)."""
    try:
        qids = read_qids(submission)
        gt_qids = read_qids(gt_path)
    except (UsageError, OSError):
        return None
    if not qids:
        return None
    here = len(qids & gt_qids)
    if here == len(qids) and here == len(gt_qids):
        return None
    better = [
        m for m in match_splits(qids) if m.matching > here and os.path.realpath(m.path) != os.path.realpath(gt_path)
    ]
    if not better:
        return None
    best = better[0]
    return (
        f"wrong split? {here:,} of the submission's {len(qids):,} qids are in {gt_name}, but {best.matching:,} "
        f"are in {best.name} (try --gt {best.name})"
    )


def _first_record(path: Path) -> dict[str, Any] | None:
    try:
        for i, line in enumerate(_lines(path)):
            if i >= PEEK_LINES:
                break
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                return record
    except (UsageError, OSError):
        return None
    return None


def swapped_files_hint(submission: str | Path, gt_path: str | Path | None) -> str | None:
    """A hint when the submission looks like a ground truth (``relevant_windows``, no
    ``pred_relevant_windows``) or the ground truth like a submission."""
    sub = _first_record(Path(submission)) or {}
    gt = _first_record(Path(gt_path)) if gt_path is not None else None
    sub_is_gt = "relevant_windows" in sub and "pred_relevant_windows" not in sub
    gt_is_sub = gt is not None and "pred_relevant_windows" in gt and "relevant_windows" not in gt
    if sub_is_gt and gt_is_sub:
        return (
            f"the two files look swapped: {submission} has relevant_windows (a ground truth) and {gt_path} has "
            "pred_relevant_windows (a submission); the submission comes first, the ground truth after --gt"
        )
    if sub_is_gt:
        return f"{submission} looks like a ground truth (relevant_windows, no pred_relevant_windows), not a submission"
    if gt_is_sub:
        return f"{gt_path} looks like a submission (pred_relevant_windows), not a ground truth"
    return None


__all__ = [
    "Detection",
    "SplitMatch",
    "detect_split",
    "known_splits",
    "read_qids",
    "swapped_files_hint",
    "wrong_split_hint",
]
