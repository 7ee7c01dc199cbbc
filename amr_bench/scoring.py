"""Scoring a submission: validation, then the official metrics and what the official scorer lacks.

``score(...)`` returns a ``ScoreResult`` whose ``brief`` and ``full`` blocks are exactly what the
official scorer prints (same keys, ``float(f"{100 * v:.2f}")`` values), plus the unrounded values
(``raw``), breakdowns by ground-truth moment length and by number of moments, counts, warnings, a
signature naming everything the numbers depend on, and the per-query score matrix. The metrics'
semantics: ``docs/scorer.md``; the blocks' types and the one spelling of metric names:
:mod:`amr_bench.result_blocks`; windows held in lists or arrays: :func:`amr_bench.evaluate`.
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
from amr_bench.result_blocks import Brief, Counts, Full, MetricBlock, Signature, flat_metrics
from amr_bench.validation import ValidationReport, require_valid, validate, validate_records

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_LENGTH_EDGES: tuple[float, ...] = (10.0, 30.0)
WARNINGS_PER_KIND = 20
LENGTH_BUCKET_NAMES = ("short", "middle", "long")


def result_signature(
    gt_name: str, gt_sha256: str, submission_sha256: str, edges: Sequence[float] = DEFAULT_LENGTH_EDGES
) -> Signature:
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


def official_round(value: float) -> float:
    """``float(f"{100 * v:.2f}")``: Python's rounding of the binary value, as the official scorer."""
    return float(f"{100 * value:.2f}")


def score(
    submission: str | Path,
    ground_truth: str | Path | GroundTruth,
    length_edges: Sequence[float] = DEFAULT_LENGTH_EDGES,
) -> ScoreResult:
    """Validate and score a submission file against a ground truth.

    Args:
        submission: a JSON Lines file, one ``{"qid": ..., "pred_relevant_windows": [[start, end(,
            score)], ...]}`` per line (``schemas/submission_line.schema.json``; ``.gz`` too).
        ground_truth: a bundled or registered split (``"castella/val"``), a file, or a loaded
            :class:`~amr_bench.groundtruth.GroundTruth`.
        length_edges: the edges in seconds of the moment-length breakdown (strictly increasing,
            positive; ``(10, 30)`` gives short, middle, long).

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
        return score_report(report, length_edges)


def score_records(
    predictions: list[dict[str, Any]],
    ground_truth: list[dict[str, Any]] | GroundTruth | str | Path,
    length_edges: Sequence[float] = DEFAULT_LENGTH_EDGES,
) -> ScoreResult:
    """Score in-memory submission records (a baseline's output) against a ground truth.

    Args:
        predictions: submission lines as dicts, ``{"qid": ..., "pred_relevant_windows": [...]}``,
            validated exactly as a file's lines are (line numbers count from 1).
        ground_truth: ground-truth lines as dicts (``qid``, ``relevant_windows``, ``duration``,
            ...), a split name or file, or a loaded :class:`~amr_bench.groundtruth.GroundTruth`.
        length_edges: as in :func:`score`.

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
    return score_report(report, length_edges)


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
        "moment_length": _length_breakdown(pq, pred, gt.windows, gt_rows, n_gt, edges),
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
    }
    signature = result_signature(gt.name, gt.sha256, sub.sha256, edges)
    sub_lines = sub.lines

    def build_per_query() -> pd.DataFrame:
        return _per_query_frame(pq, gt, gt_rows, kept_gt, sub_lines, scored)

    return ScoreResult(
        brief, full, raw, breakdown, counts, summarise_warnings(report.warnings), signature, build_per_query
    )


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
