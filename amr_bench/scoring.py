"""Scoring a submission: validation, then the official metrics and what the official scorer lacks.

``score(...)`` returns a ``ScoreResult`` whose ``brief`` and ``full`` blocks are exactly what the
official scorer prints (same keys, ``float(f"{100 * v:.2f}")`` values), plus the unrounded values
(``raw``), breakdowns by ground-truth moment length and by number of moments, counts, warnings, a
signature naming everything the numbers depend on, and the per-query score matrix.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from amr_bench import __version__
from amr_bench.errors import InputError, Problem
from amr_bench.groundtruth import GroundTruth, ground_truth_from_records, load_ground_truth
from amr_bench.jsonl import no_cyclic_gc
from amr_bench.metrics import (
    GT_MAX_LENGTH,
    METRIC_DEFINITION,
    THRESHOLD_KEYS,
    THRESHOLDS,
    PerQuery,
    filter_ground_truth,
    per_query_scores,
)
from amr_bench.ragged import RaggedWindows
from amr_bench.validation import ValidationReport, require_valid, validate, validate_records

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_LENGTH_EDGES: tuple[float, ...] = (10.0, 30.0)
WARNINGS_PER_KIND = 20
LENGTH_BUCKET_NAMES = ("short", "middle", "long")


def result_signature(
    gt_name: str, gt_sha256: str, submission_sha256: str, edges: Sequence[float] = DEFAULT_LENGTH_EDGES
) -> dict[str, Any]:
    """What every result is stamped with: the scorer, the metric definition and the two files' hashes."""
    return {
        "scorer": f"amr-bench {__version__}",
        "metric": METRIC_DEFINITION,
        "length_edges": list(edges),
        "ground_truth": gt_name,
        "ground_truth_sha256": gt_sha256,
        "submission_sha256": submission_sha256,
    }


@dataclass
class ScoreResult:
    """Everything ``amr-bench score`` reports. Values in ``raw`` are fractions in [0, 1]."""

    brief: dict[str, float]
    full: dict[str, dict[str, float]]
    raw: dict[str, Any]
    breakdown: dict[str, Any]
    counts: dict[str, int]
    warnings: list[str]
    signature: dict[str, Any]
    _build_per_query: Callable[[], pd.DataFrame] = field(repr=False, compare=False)

    @cached_property
    def per_query(self) -> pd.DataFrame:
        """One row per scored query, in ground-truth order: every per-query score (built on
        first use, so that scoring alone never pays for pandas)."""
        return self._build_per_query()

    def to_dict(self) -> dict[str, Any]:
        return {
            "brief": self.brief,
            "full": self.full,
            "raw": self.raw,
            "breakdown": self.breakdown,
            "counts": self.counts,
            "warnings": self.warnings,
            "signature": self.signature,
        }

    def to_json(self) -> str:
        """The result as JSON text (indented); non-finite numbers are refused, never written as
        the invalid tokens ``NaN``/``Infinity``."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def official(self) -> dict[str, Any]:
        """The official scorer's output document, exactly."""
        return {"brief": self.brief, "full": self.full}


def official_round(value: float) -> float:
    """``float(f"{100 * v:.2f}")``: Python's rounding of the binary value, as the official scorer."""
    return float(f"{100 * value:.2f}")


def score(
    submission: str | Path,
    ground_truth: str | Path | GroundTruth,
    length_edges: Sequence[float] = DEFAULT_LENGTH_EDGES,
) -> ScoreResult:
    """Validate and score a submission file against a ground truth (file, ``DATASET/SPLIT``)."""
    with no_cyclic_gc():
        gt = ground_truth if isinstance(ground_truth, GroundTruth) else load_ground_truth(ground_truth)
        _require_windows(gt)
        report = require_valid(validate(submission, gt))
        return score_report(report, length_edges)


def score_records(
    predictions: list[dict[str, Any]],
    ground_truth: list[dict[str, Any]] | GroundTruth | str | Path,
    length_edges: Sequence[float] = DEFAULT_LENGTH_EDGES,
) -> ScoreResult:
    """Score in-memory submission records (a baseline's output) against a ground truth."""
    if isinstance(ground_truth, GroundTruth):
        gt = ground_truth
    elif isinstance(ground_truth, (str, Path)):
        gt = load_ground_truth(ground_truth)
    else:
        gt = ground_truth_from_records(ground_truth)
    _require_windows(gt)
    report = require_valid(validate_records(predictions, gt))
    return score_report(report, length_edges)


def _require_windows(gt: GroundTruth) -> None:
    """A blind query list (no ``relevant_windows``, such as ``dcase2026/eval``) cannot be scored:
    every caller (score, leaderboard, compare) gets this same error."""
    if not gt.has_windows or (gt.split is not None and not gt.split.has_windows):
        raise InputError(
            [
                Problem(
                    str(gt.path),
                    None,
                    "this ground truth has no relevant_windows "
                    "(a blind query list): it can validate a submission, not score it",
                )
            ],
            f"{gt.name} is a blind query list: it cannot be scored",
        )


def score_report(report: ValidationReport, length_edges: Sequence[float] = DEFAULT_LENGTH_EDGES) -> ScoreResult:
    """Score a validated submission (``report.ok`` must be true)."""
    sub, gt = report.submission, report.ground_truth
    _require_windows(gt)
    edges = _check_edges(length_edges)
    kept_gt, has_window = filter_ground_truth(gt.windows)
    if not has_window.any():
        raise InputError(
            [
                Problem(
                    gt.name,
                    None,
                    f"no query of this ground truth has a window of length in (0, {GT_MAX_LENGTH:g}] s, the only ones "
                    "the official scorer keeps: nothing to score",
                    "error",
                    "nothing-to-score",
                )
            ],
            f"the ground truth {gt.name} has no scoreable query",
        )
    scored = np.flatnonzero(has_window[sub.gt_rows])  # submission rows, in submission order
    gt_rows = sub.gt_rows[scored]
    pred = sub.windows.take(scored)
    pq = per_query_scores(pred, kept_gt.take(gt_rows))

    r1 = pq.r1.mean(axis=0)
    ap = pq.ap.mean(axis=0)
    average = float(np.mean(ap))
    full = {
        "MR-mAP": {
            **{k: official_round(v) for k, v in zip(THRESHOLD_KEYS, ap, strict=True)},
            "average": official_round(average),
        },
        "MR-R1": {k: official_round(v) for k, v in zip(THRESHOLD_KEYS, r1, strict=True)},
    }
    brief = {
        "MR-full-R1@0.5": full["MR-R1"]["0.5"],
        "MR-full-R1@0.7": full["MR-R1"]["0.7"],
        "MR-full-mAP": full["MR-mAP"]["average"],
        "MR-full-mAP@0.5": full["MR-mAP"]["0.5"],
        "MR-full-mAP@0.75": full["MR-mAP"]["0.75"],
    }
    raw = _summary(pq)
    n_gt = kept_gt.counts[gt_rows]
    breakdown = {
        "moment_length": _length_breakdown(pq, pred, gt.windows, gt_rows, n_gt, edges),
        "moment_count": {
            "single": _subset_summary(pq, n_gt == 1),
            "multiple": _subset_summary(pq, n_gt > 1),
        },
    }
    counts = {
        "ground_truth_queries": len(gt),
        "scored_queries": len(scored),
        "dropped_queries": int(len(gt) - has_window.sum()),
        "ground_truth_windows": len(kept_gt.start),
        "dropped_ground_truth_windows": int(len(gt.windows.start) - len(kept_gt.start)),
        "submission_lines": len(sub.qids),
        "submission_windows": len(sub.windows.start),
    }
    signature = result_signature(gt.name, gt.sha256, sub.sha256, edges)
    sub_lines = sub.lines

    def build_per_query() -> pd.DataFrame:
        return _per_query_frame(pq, gt, gt_rows, kept_gt, sub_lines, scored)

    return ScoreResult(
        brief, full, raw, breakdown, counts, summarise_warnings(report.warnings), signature, build_per_query
    )


def summarise_warnings(warnings: list[Problem], per_kind: int = WARNINGS_PER_KIND) -> list[str]:
    """The first ``per_kind`` warnings of each kind, then one line counting the rest of that kind
    (``amr-bench validate --all`` lists every one)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for p in warnings:
        kind = p.code or p.message
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] <= per_kind:
            out.append(str(p))
    for kind, n in seen.items():
        if n > per_kind:
            out.append(f"... and {n - per_kind} more warning(s) of kind {kind!r}")
    return out


def _check_edges(edges: Sequence[float]) -> tuple[float, ...]:
    e = tuple(float(x) for x in edges)
    if not e or any(b <= a for a, b in itertools.pairwise(e)) or e[0] <= 0:
        raise ValueError(f"length edges must be positive and increasing, got {list(edges)}")
    return e


def _summary(pq: PerQuery) -> dict[str, Any]:
    ap = pq.ap.mean(axis=0)
    return {
        "mAP": {**dict(zip(THRESHOLD_KEYS, ap.tolist(), strict=True)), "average": float(np.mean(ap))},
        "R1": dict(zip(THRESHOLD_KEYS, pq.r1.mean(axis=0).tolist(), strict=True)),
        "R5": dict(zip(THRESHOLD_KEYS, pq.r5.mean(axis=0).tolist(), strict=True)),
        "mIoU@1": float(pq.iou1.mean()),
        "queries": len(pq.iou1),
    }


def _subset_summary(pq: PerQuery, mask: np.ndarray) -> dict[str, Any]:
    if not mask.any():
        return {"queries": 0}
    return _summary(PerQuery(pq.r1[mask], pq.ap[mask], pq.r5[mask], pq.iou1[mask]))


def _length_breakdown(
    pq: PerQuery,
    pred: RaggedWindows,
    gt_windows: RaggedWindows,
    gt_rows: np.ndarray,
    n_scored: np.ndarray,
    edges: tuple[float, ...],
) -> dict[str, Any]:
    """Metrics on the ground-truth windows of one length range at a time (Moment-DETR style:
    windows outside the range are removed, queries left with none are not scored).

    A query whose scored windows all fall in the range keeps its full per-query scores; only
    the queries that lose windows are scored again."""
    bounds = [0.0, *edges, float("inf")]
    names = (
        LENGTH_BUCKET_NAMES if len(edges) == 2 else tuple(f"{lo:g}-{hi:g}s" for lo, hi in itertools.pairwise(bounds))
    )
    out: dict[str, Any] = {}
    full_gt = gt_windows.take(gt_rows)
    for name, (lo, hi) in zip(names, itertools.pairwise(bounds), strict=True):
        in_range, has = filter_ground_truth(full_gt, lo, min(hi, GT_MAX_LENGTH))
        rows = np.flatnonzero(has)
        entry: dict[str, Any] = {"range_s": [lo, hi if np.isfinite(hi) else None]}
        if len(rows):
            part = PerQuery(pq.r1[rows], pq.ap[rows], pq.r5[rows], pq.iou1[rows])
            redo = np.flatnonzero(in_range.counts[rows] != n_scored[rows])
            if len(redo):
                again = per_query_scores(pred.take(rows[redo]), in_range.take(rows[redo]))
                part.r1[redo], part.ap[redo], part.r5[redo], part.iou1[redo] = (
                    again.r1,
                    again.ap,
                    again.r5,
                    again.iou1,
                )
            entry.update(_summary(part))
        else:
            entry["queries"] = 0
        out[name] = entry
    return out


def _per_query_frame(
    pq: PerQuery, gt: GroundTruth, gt_rows: np.ndarray, kept_gt: RaggedWindows, sub_lines: list[int], scored: np.ndarray
) -> pd.DataFrame:
    import pandas as pd

    order = np.argsort(gt_rows, kind="stable")  # ground-truth order
    rows = gt_rows[order]
    lengths = kept_gt.end - kept_gt.start
    max_len = np.zeros(kept_gt.n)
    has = kept_gt.counts > 0
    if len(lengths):
        max_len[has] = np.maximum.reduceat(lengths, kept_gt.offsets[:-1][has])
    data: dict[str, Any] = {
        "qid": [gt.qids[r] for r in rows],
        "gt_line": [gt.lines[r] for r in rows],
        "submission_line": [sub_lines[i] for i in scored[order]],
        "n_gt": kept_gt.counts[rows],
        "gt_max_len": max_len[rows],
        "IoU@1": pq.iou1[order],
    }
    for j, k in enumerate(THRESHOLD_KEYS):
        data[f"R1@{k}"] = pq.r1[order, j]
    for j, k in enumerate(THRESHOLD_KEYS):
        data[f"AP@{k}"] = pq.ap[order, j]
    data["mAP"] = pq.ap[order].mean(axis=1)
    for j, k in enumerate(THRESHOLD_KEYS):
        data[f"R5@{k}"] = pq.r5[order, j]
    return pd.DataFrame(data)


__all__ = ["THRESHOLDS", "ScoreResult", "official_round", "score", "score_records", "score_report"]
