"""Scoring a submission: validation, then the official metrics and what the official scorer lacks.

``score(...)`` returns a ``ScoreResult`` whose ``brief`` and ``full`` blocks are exactly what the
official scorer prints (same keys, ``float(f"{100 * v:.2f}")`` values), plus the unrounded values
(``raw``), breakdowns by ground-truth moment length and by number of moments, counts, warnings, a
signature naming everything the numbers depend on, and the per-query score matrix. The metrics'
semantics: ``docs/scorer.md``; the blocks' types and the one spelling of metric names:
:mod:`amr_bench.result_blocks`; windows held in lists or arrays: :func:`amr_bench.evaluate`.

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
    OTHER_ORDER_PREFIX,
    THRESHOLD_KEYS,
    THRESHOLDS,
    PerQuery,
    TieOrder,
    filter_ground_truth,
    other_tie_order,
    per_query_scores,
)
from amr_bench.ragged import RaggedWindows
from amr_bench.result_blocks import Brief, Counts, Full, MetricBlock, Signature, flat_metrics
from amr_bench.validation import ValidationReport, require_valid, validate, validate_records

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_LENGTH_EDGES: tuple[float, ...] = (10.0, 30.0)
WARNINGS_PER_KIND = 20
LENGTH_BUCKET_NAMES = ("short", "middle", "long")
TIE_QIDS_SHOWN = 5  # qids named in the tie warning (the result JSON lists up to TIE_QIDS_LISTED)
TIE_QIDS_LISTED = 100
TIE_ORDER_WORDS = {"later": "the later window first", "earlier": "the earlier window first"}


def metric_definition(tie_order: TieOrder = DEFAULT_TIE_ORDER) -> str:
    """The metric string of a result under ``tie_order``.

    The default tie order keeps the pinned definition; the other one is marked, so that results
    scored under different orders are never ranked together.
    """
    return METRIC_DEFINITION if tie_order == DEFAULT_TIE_ORDER else f"{METRIC_DEFINITION},ties={tie_order}-first"


def result_signature(
    gt_name: str,
    gt_sha256: str,
    submission_sha256: str,
    edges: Sequence[float] = DEFAULT_LENGTH_EDGES,
    tie_order: TieOrder = DEFAULT_TIE_ORDER,
) -> Signature:
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
    """Everything ``amr-bench score`` reports.

    Attributes:
        brief: the official scorer's ``brief`` block, its keys and its rounding
            (``{"MR-full-R1@0.7": 23.3, ...}``, percent with two decimals).
        full: the official scorer's ``full`` block (``{"MR-R1": {"0.7": 23.3, ...}, "MR-mAP": {...}}``).
        raw: the same and more, unrounded fractions in [0, 1]: ``R1``, ``R5`` and ``mAP`` by θ
            (``"0.5"`` ... ``"0.95"``; ``mAP["average"]``), ``mIoU@1``, ``queries``.
        breakdown: ``raw``-like blocks by ground-truth moment length (``moment_length``: ``short``,
            ``middle``, ``long`` with their ``range_s``) and by number of moments (``moment_count``:
            ``single``, ``multiple``); a bucket without queries is ``{"queries": 0}``.
        counts: queries and windows read, scored and dropped by the length filter.
        warnings: the validation warnings, at most 20 of each kind, then a count.
        signature: scorer version, metric definition, length edges and both files' sha256.
        ties: the equal-IoU tie report (``order``, ``other_order``, ``sensitive_queries``, the
            first ``qids`` and the other order's mAP); empty when no query is tie-sensitive.

    Example:
        >>> import amr_bench
        >>> from amr_bench.bundled import REFERENCE_RUN
        >>> result = amr_bench.score(REFERENCE_RUN, "castella/val")
        >>> result.brief["MR-full-R1@0.7"], result.metrics["R1@0.7"] == result.raw["R1"]["0.7"]
        (16.19, True)
        >>> result.counts["scored_queries"], result.signature["ground_truth"]
        (352, 'castella/val')
    """

    brief: Brief
    full: Full
    raw: MetricBlock
    breakdown: dict[str, Any]
    counts: Counts
    warnings: list[str]
    signature: Signature
    _build_per_query: Callable[[], pd.DataFrame] = field(repr=False, compare=False)
    ties: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def per_query(self) -> pd.DataFrame:
        """The per-query table: one row per scored query, in ground-truth order.

        Columns: ``qid``, ``gt_line`` (its line in the ground truth), ``submission_line``,
        ``n_gt`` (ground-truth windows kept), ``gt_max_len`` (the longest, seconds), ``IoU@1``,
        then ``R1@θ`` (0/1), ``AP@θ``, ``mAP`` (the query's mean AP) and ``R5@θ`` (0/1) for
        every θ. The mean of a column is the matching number of :attr:`metrics`; it is the matrix
        that the bootstrap and the significance tests read. Built on first use (scoring alone never
        imports pandas).

        Example:
            >>> import amr_bench
            >>> from amr_bench.bundled import REFERENCE_RUN
            >>> table = amr_bench.score(REFERENCE_RUN, "castella/val").per_query
            >>> len(table), list(table.columns[:6])
            (352, ['qid', 'gt_line', 'submission_line', 'n_gt', 'gt_max_len', 'IoU@1'])
            >>> float(table["R1@0.7"].mean()) == amr_bench.score(REFERENCE_RUN, "castella/val").metrics["R1@0.7"]
            True
        """
        return self._build_per_query()

    @property
    def metrics(self) -> dict[str, float]:
        """Every number of ``raw`` under its one spelling, as fractions.

        ``"R1@0.7"``, ``"mAP@0.5"``, ``"mAP"``, ``"R5@0.7"``, ``"mIoU@1"``
        (:func:`amr_bench.result_blocks.flat_metrics`).
        """
        return flat_metrics(self.raw)

    def to_dict(self) -> dict[str, Any]:
        """The result document (``amr-bench score -o``), as plain dicts and lists."""
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
        """The result as JSON text (indented).

        Non-finite numbers are refused, never written as the invalid tokens ``NaN``/``Infinity``.
        """
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
    """Validate and score a submission file against a ground truth.

    Args:
        submission: a JSON Lines file, one ``{"qid": ..., "pred_relevant_windows": [[start, end(,
            score)], ...]}`` per line (``schemas/submission_line.schema.json``; ``.gz`` too).
        ground_truth: a bundled or registered split (``"castella/val"``), a file, or a loaded
            :class:`~amr_bench.groundtruth.GroundTruth`.
        length_edges: the edges in seconds of the moment-length breakdown (strictly increasing,
            positive; ``(10, 30)`` gives short, middle, long).
        tie_order: which of two unmatched ground-truth windows of exactly equal IoU a prediction
            takes: ``"later"`` (the default, the official scorer under the numpy the DCASE baseline
            pins, on a CPU without AVX-512) or ``"earlier"`` (docs/scorer.md, "Equal IoU").

    Returns:
        The :class:`ScoreResult`: the official blocks, unrounded values, breakdowns, counts,
        warnings, signature and per-query table.

    Raises:
        amr_bench.errors.InputError: the submission or the ground truth is invalid (every problem
            as ``FILE:LINE``, in ``.problems``), or the ground truth has nothing to score (a blind
            query list such as ``dcase2026/eval``).
        amr_bench.errors.UsageError: the split name is unknown (with a "did you mean").
        ValueError: ``length_edges`` are not positive and increasing.

    Example:
        >>> import amr_bench
        >>> from amr_bench.bundled import REFERENCE_RUN
        >>> amr_bench.score(REFERENCE_RUN, "castella/val").brief
        {'MR-full-R1@0.5': 27.56, 'MR-full-R1@0.7': 16.19, 'MR-full-mAP': 11.44, 'MR-full-mAP@0.5': 24.02,
         'MR-full-mAP@0.75': 10.26}
    """
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
    """Score in-memory submission records (a baseline's output) against a ground truth.

    Args:
        predictions: submission lines as dicts, ``{"qid": ..., "pred_relevant_windows": [...]}``,
            validated exactly as a file's lines are (line numbers count from 1).
        ground_truth: ground-truth lines as dicts (``qid``, ``relevant_windows``, ``duration``,
            ...), a split name or file, or a loaded :class:`~amr_bench.groundtruth.GroundTruth`.
        length_edges: as in :func:`score`.
        tie_order: as in :func:`score`.

    Returns:
        The :class:`ScoreResult`, as :func:`score` gives it for the same lines in a file.

    Raises:
        amr_bench.errors.InputError: invalid predictions or ground truth, or nothing to score.
        ValueError: ``length_edges`` are not positive and increasing.

    Example:
        >>> import amr_bench
        >>> gt = [{"qid": 1, "query": "a dog barks", "vid": "a", "duration": 60, "relevant_windows": [[10, 20]]}]
        >>> result = amr_bench.score_records([{"qid": 1, "pred_relevant_windows": [[11, 20]]}], gt)
        >>> result.brief["MR-full-R1@0.7"], result.metrics["mIoU@1"]
        (100.0, 0.9)
    """
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
    """Refuse a blind query list (no ``relevant_windows``, such as ``dcase2026/eval``).

    Every caller (score, leaderboard, compare) gets this same error.
    """
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
    """Score a validated submission (``report.ok`` must be true).

    Equal-IoU ties are matched in ``tie_order``, and the queries whose AP depends on it are scored
    in the other order too.
    """
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
    full: Full = {
        "MR-mAP": {
            **{k: official_round(v) for k, v in zip(THRESHOLD_KEYS, ap, strict=True)},
            "average": official_round(average),
        },
        "MR-R1": {k: official_round(v) for k, v in zip(THRESHOLD_KEYS, r1, strict=True)},
    }
    brief: Brief = {
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
    counts: Counts = {
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
    """Per-query AP with equal-IoU windows matched in the other order.

    Only the flagged queries are matched again; every other query's AP cannot depend on the order.
    """
    rows = np.flatnonzero(sensitive)
    if not len(rows):
        return pq.ap
    other_ap = pq.ap.copy()
    other_ap[rows] = per_query_scores(pred.take(rows), gt.take(rows), tie_order=other_tie_order(tie_order)).ap
    return other_ap


def _ties_block(sensitive: np.ndarray, other_ap: np.ndarray, qids: list[Any], tie_order: TieOrder) -> dict[str, Any]:
    """The result's ``ties`` entry.

    How many queries depend on the tie order, the first of them (submission order), and the mAP
    under the other order (official rounding and unrounded).
    """
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
    """The first ``per_kind`` warnings of each kind, then one line counting the rest of that kind.

    ``amr-bench validate --all`` lists every one.
    """
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


def _summary(pq: PerQuery) -> MetricBlock:
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
    return dict(_summary(PerQuery(pq.r1[mask], pq.ap[mask], pq.r5[mask], pq.iou1[mask])))


def _length_breakdown(
    pq: PerQuery,
    pred: RaggedWindows,
    gt_windows: RaggedWindows,
    gt_rows: np.ndarray,
    n_scored: np.ndarray,
    edges: tuple[float, ...],
    tie_order: TieOrder,
) -> dict[str, Any]:
    """Metrics on the ground-truth windows of one length range at a time.

    Moment-DETR style: windows outside the range are removed, queries left with none are not scored.

    A query whose scored windows all fall in the range keeps its full per-query scores; only
    the queries that lose windows are scored again.
    """
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
