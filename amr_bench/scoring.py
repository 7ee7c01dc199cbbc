"""Scoring a submission: validation, then the official metrics and what the official scorer lacks.

``score(...)`` returns a ``ScoreResult`` whose ``brief`` and ``full`` blocks are exactly what the
official scorer prints (same keys, ``float(f"{100 * v:.2f}")`` values), plus the unrounded values
(``raw``), breakdowns by ground-truth moment length and by number of moments, counts, warnings, a
signature naming everything the numbers depend on, and the per-query score matrix.

Equal-IoU ties (docs/scorer.md, "Equal IoU"): the queries whose AP depends on the order in which
the official code visits equal-IoU ground-truth windows are counted
(``counts.tie_sensitive_queries``), listed (``ties``) and scored under the other order too, so
that a submission whose official number depends on the machine says so.
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
    DEFAULT_TIE_ORDER,
    GT_MAX_LENGTH,
    METRIC_DEFINITION,
    THRESHOLD_KEYS,
    THRESHOLDS,
    PerQuery,
    TieOrder,
    filter_ground_truth,
    other_tie_order,
    per_query_scores,
)
from amr_bench.ragged import RaggedWindows
from amr_bench.validation import ValidationReport, require_valid, validate, validate_records

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_LENGTH_EDGES: tuple[float, ...] = (10.0, 30.0)
WARNINGS_PER_KIND = 20
LENGTH_BUCKET_NAMES = ("short", "middle", "long")
TIE_QIDS_SHOWN = 5  # qids named in the tie warning (the result JSON lists up to TIE_QIDS_LISTED)
TIE_QIDS_LISTED = 100
OTHER_ORDER_PREFIX = "other_order."  # per-query columns scored with the other tie order
TIE_ORDER_WORDS = {"later": "the later window first", "earlier": "the earlier window first"}


def metric_definition(tie_order: TieOrder = DEFAULT_TIE_ORDER) -> str:
    """The metric string of a result: the default tie order keeps the pinned definition, the other
    one is marked, so that results scored under different orders are never ranked together."""
    return METRIC_DEFINITION if tie_order == DEFAULT_TIE_ORDER else f"{METRIC_DEFINITION},ties={tie_order}-first"


def result_signature(
    gt_name: str,
    gt_sha256: str,
    submission_sha256: str,
    edges: Sequence[float] = DEFAULT_LENGTH_EDGES,
    tie_order: TieOrder = DEFAULT_TIE_ORDER,
) -> dict[str, Any]:
    """What every result is stamped with: the scorer, the metric definition and the two files' hashes."""
    return {
        "scorer": f"amr-bench {__version__}",
        "metric": metric_definition(tie_order),
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
    ties: dict[str, Any] = field(default_factory=dict)

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
            "ties": self.ties,
            "signature": self.signature,
        }

    def to_json(self) -> str:
        """The result as JSON text (indented); non-finite numbers are refused, never written as
        the invalid tokens ``NaN``/``Infinity``."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def official(self) -> dict[str, Any]:
        """The official scorer's output document, exactly."""
        return {"brief": self.brief, "full": self.full}

    def tie_warning(self) -> str | None:
        """One line when some query's AP depends on the order of equal-IoU ground-truth windows."""
        ties = self.ties
        n = ties.get("sensitive_queries", 0)
        if not n:
            return None
        shown = ", ".join(json.dumps(q) for q in ties["qids"][:TIE_QIDS_SHOWN])
        more = ", ..." if n > TIE_QIDS_SHOWN else ""
        order, other = ties["order"], ties["other_order"]
        return (
            f"warning: the AP of {n} of {self.counts['scored_queries']} queries depends on the order in which "
            f"equal-IoU ground-truth windows are matched, which differs between machines (qids {shown}{more}): "
            f"mAP {self.full['MR-mAP']['average']:.2f} with {TIE_ORDER_WORDS[order]} (used), "
            f"{ties['other_order_MR-mAP']['average']:.2f} with {TIE_ORDER_WORDS[other]}; "
            "see docs/scorer.md, 'Equal IoU'"
        )


def official_round(value: float) -> float:
    """``float(f"{100 * v:.2f}")``: Python's rounding of the binary value, as the official scorer."""
    return float(f"{100 * value:.2f}")


def score(
    submission: str | Path,
    ground_truth: str | Path | GroundTruth,
    length_edges: Sequence[float] = DEFAULT_LENGTH_EDGES,
    tie_order: TieOrder = DEFAULT_TIE_ORDER,
) -> ScoreResult:
    """Validate and score a submission file against a ground truth (file, ``DATASET/SPLIT``)."""
    with no_cyclic_gc():
        gt = ground_truth if isinstance(ground_truth, GroundTruth) else load_ground_truth(ground_truth)
        _require_windows(gt)
        report = require_valid(validate(submission, gt))
        return score_report(report, length_edges, tie_order)


def score_records(
    predictions: list[dict[str, Any]],
    ground_truth: list[dict[str, Any]] | GroundTruth | str | Path,
    length_edges: Sequence[float] = DEFAULT_LENGTH_EDGES,
    tie_order: TieOrder = DEFAULT_TIE_ORDER,
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
    return score_report(report, length_edges, tie_order)


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


def score_report(
    report: ValidationReport,
    length_edges: Sequence[float] = DEFAULT_LENGTH_EDGES,
    tie_order: TieOrder = DEFAULT_TIE_ORDER,
) -> ScoreResult:
    """Score a validated submission (``report.ok`` must be true); equal-IoU ties are matched in
    ``tie_order`` and the queries whose AP depends on it are scored in the other order too."""
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
    scored_gt = kept_gt.take(gt_rows)
    pq = per_query_scores(pred, scored_gt, tie_order=tie_order)
    sensitive = pq.tie_sensitive if pq.tie_sensitive is not None else np.zeros(len(scored), dtype=bool)
    other_ap = _ap_in_other_order(pq, pred, scored_gt, sensitive, tie_order)

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
        "moment_length": _length_breakdown(pq, pred, gt.windows, gt_rows, n_gt, edges, tie_order),
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
        "tie_sensitive_queries": int(sensitive.sum()),
    }
    signature = result_signature(gt.name, gt.sha256, sub.sha256, edges, tie_order)
    sub_lines = sub.lines
    ties = _ties_block(
        sensitive, other_ap, [sub.qids[i] for i in scored[np.flatnonzero(sensitive)[:TIE_QIDS_LISTED]]], tie_order
    )

    def build_per_query() -> pd.DataFrame:
        return _per_query_frame(pq, gt, gt_rows, kept_gt, sub_lines, scored, sensitive, other_ap)

    return ScoreResult(
        brief, full, raw, breakdown, counts, summarise_warnings(report.warnings), signature, build_per_query, ties
    )


def _ap_in_other_order(
    pq: PerQuery, pred: RaggedWindows, gt: RaggedWindows, sensitive: np.ndarray, tie_order: TieOrder
) -> np.ndarray:
    """Per-query AP with equal-IoU windows matched in the other order (only the flagged queries
    are matched again; every other query's AP cannot depend on the order)."""
    rows = np.flatnonzero(sensitive)
    if not len(rows):
        return pq.ap
    other_ap = pq.ap.copy()
    other_ap[rows] = per_query_scores(pred.take(rows), gt.take(rows), tie_order=other_tie_order(tie_order)).ap
    return other_ap


def _ties_block(sensitive: np.ndarray, other_ap: np.ndarray, qids: list[Any], tie_order: TieOrder) -> dict[str, Any]:
    """The result's ``ties`` entry: how many queries depend on the tie order, the first of them
    (submission order), and the mAP under the other order (official rounding and unrounded)."""
    ap = other_ap.mean(axis=0)
    average = float(np.mean(ap))
    return {
        "order": tie_order,
        "other_order": other_tie_order(tie_order),
        "sensitive_queries": int(sensitive.sum()),
        "qids": qids,
        "other_order_MR-mAP": {
            **{k: official_round(v) for k, v in zip(THRESHOLD_KEYS, ap, strict=True)},
            "average": official_round(average),
        },
        "other_order_mAP_raw": {**dict(zip(THRESHOLD_KEYS, ap.tolist(), strict=True)), "average": average},
    }


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
    tie_order: TieOrder,
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
                again = per_query_scores(pred.take(rows[redo]), in_range.take(rows[redo]), tie_order=tie_order)
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
    pq: PerQuery,
    gt: GroundTruth,
    gt_rows: np.ndarray,
    kept_gt: RaggedWindows,
    sub_lines: list[int],
    scored: np.ndarray,
    sensitive: np.ndarray,
    other_ap: np.ndarray,
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
    # equal-IoU ties: 1 where the AP depends on the order of equal-IoU windows, and the AP then
    data["tie_sensitive"] = sensitive[order].astype(np.int64)
    for j, k in enumerate(THRESHOLD_KEYS):
        data[f"{OTHER_ORDER_PREFIX}AP@{k}"] = other_ap[order, j]
    data[f"{OTHER_ORDER_PREFIX}mAP"] = other_ap[order].mean(axis=1)
    return pd.DataFrame(data)


__all__ = [
    "OTHER_ORDER_PREFIX",
    "THRESHOLDS",
    "ScoreResult",
    "metric_definition",
    "official_round",
    "score",
    "score_records",
    "score_report",
]
