"""Moment retrieval metrics, vectorised, with the official scorer's exact semantics.

What each metric is, operation by operation (the ground-truth length filter, R1@θ on the first
window with the hull IoU, AP@θ on the first 10 windows sorted by score, VOC all-point, mAP and its
average, the two reading choices on ties and summation order) is written once, in
``docs/scorer.md``; this module implements that page in float64, in the official order of
operations, and ``tests/helpers/reference_scorer.py`` implements it again literally, as the oracle.

Beyond the official scorer: the IoU of the first window (``IoU@1``) and R5@θ (a hit among the top 5
windows by rank). Every function returns per-query arrays; means are taken by the caller, so that
bootstrap and significance tests can reuse the per-query matrix.

**Tie sensitivity.** Which of two unmatched windows of exactly equal IoU the official code takes
depends on how numpy's argsort orders equal keys (numpy version, AVX-512), so the AP of such a
query can differ between machines. ``PerQuery.tie_sensitive`` flags every query whose AP at some θ
could change with that order (docs/scorer.md, "Equal IoU"): along the matching actually made, some
prediction faced two or more unmatched windows tied at the highest IoU >= θ, and a later
prediction tells two of them apart at θ (IoU >= θ with one and a different IoU with the other).
When no tie has that property the tied windows are interchangeable for the rest of the matching,
so every order gives the same AP: the flag is sound (never misses a sensitive query), and a query
without any exact IoU tie is never flagged. Without ties it costs one comparison and count per
ranked window that reaches the lowest θ.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from amr_bench.ragged import RaggedWindows

THRESHOLDS: np.ndarray = np.array([float(f"{x:.2f}") for x in np.linspace(0.5, 0.95, 10)])
THRESHOLD_KEYS: tuple[str, ...] = tuple(str(t) for t in THRESHOLDS)
MAX_PRED_WINDOWS = 10
BLOCK_QUERIES = 16384
RECALL_AT_K = 5
TieOrder = Literal["later", "earlier"]
TIE_ORDERS: tuple[TieOrder, ...] = ("later", "earlier")
OTHER_ORDER_PREFIX = "other_order."  # per-query AP columns scored with the other tie order
DEFAULT_TIE_ORDER: TieOrder = "later"  # numpy 1.26 without AVX-512, as the DCASE baseline pins
GT_MIN_LENGTH = 0.0  # exclusive
GT_MAX_LENGTH = 1500.0  # inclusive
# What makes two results comparable, built from the constants above (a test pins the exact text:
# stored results are grouped by it, so it must never change without a new version name).
METRIC_DEFINITION = (
    f"mr-official-v1:thr={THRESHOLDS[0]:.2f}:{THRESHOLDS[-1]:.2f}:{THRESHOLDS[1] - THRESHOLDS[0]:.2f},"
    "iou=union(map)/hull(r1),r1=first-window,"
    f"ap=voc-all-point,topk={MAX_PRED_WINDOWS},sort=stable-score-desc|list-order,"
    f"gt-len=({GT_MIN_LENGTH:g},{GT_MAX_LENGTH:g}]"
)


@dataclass(frozen=True)
class PerQuery:
    """Per-query scores of ``n`` queries: fractions in [0, 1]."""

    r1: np.ndarray  # (n, T) 0/1
    ap: np.ndarray  # (n, T)
    r5: np.ndarray  # (n, T) 0/1
    iou1: np.ndarray  # (n,)
    tie_sensitive: np.ndarray | None = None  # (n,) bool: AP could change with the tie order


def other_tie_order(order: TieOrder) -> TieOrder:
    return "earlier" if order == "later" else "later"


def ranking_scores(pred: RaggedWindows) -> np.ndarray:
    """Scores used to rank windows: the given score, or minus the list position when absent."""
    position = np.arange(len(pred.start)) - np.repeat(pred.offsets[:-1], pred.counts)
    return np.where(pred.has_score, pred.score, -position.astype(np.float64))


def filter_ground_truth(
    gt: RaggedWindows, low: float = GT_MIN_LENGTH, high: float = GT_MAX_LENGTH
) -> tuple[RaggedWindows, np.ndarray]:
    """Keep windows with ``low < length <= high``; return them and the queries that keep any."""
    length = gt.end - gt.start
    kept = gt.select_windows((length > low) & (length <= high))
    return kept, kept.counts > 0


def per_query_scores(
    pred: RaggedWindows,
    gt: RaggedWindows,
    thresholds: np.ndarray = THRESHOLDS,
    tie_order: TieOrder = DEFAULT_TIE_ORDER,
) -> PerQuery:
    """Score query ``i`` of ``pred`` against query ``i`` of ``gt`` (every gt query has a window).

    ``tie_order``: which of two unmatched ground-truth windows of equal IoU a prediction takes
    (``"later"``: the official scorer with numpy 1.26 on a CPU without AVX-512). The result's
    ``tie_sensitive`` flags the queries whose AP could be different under another order.

    Queries are processed in buckets of similar ground-truth window counts, so one query with
    thousands of windows does not inflate the dense arrays of all the others.
    """
    n = pred.n
    t = len(thresholds)
    if tie_order not in TIE_ORDERS:
        raise ValueError(f"tie_order must be one of {TIE_ORDERS}, got {tie_order!r}")
    sensitive = np.zeros(n, dtype=bool)
    out = PerQuery(np.zeros((n, t)), np.zeros((n, t)), np.zeros((n, t)), np.zeros(n), sensitive)
    if n == 0:
        return out
    gcounts = gt.counts
    if gcounts.min() <= 0:
        raise ValueError("every ground-truth query must have at least one window")
    bucket = np.ceil(np.log2(gcounts)).astype(np.int64)
    for b in np.flatnonzero(np.bincount(bucket)):  # the distinct buckets, ascending
        in_bucket = np.flatnonzero(bucket == b)
        for lo in range(0, len(in_bucket), BLOCK_QUERIES):  # bounded memory for huge files
            rows = in_bucket[lo : lo + BLOCK_QUERIES]
            part = _score_block(pred.take(rows), gt.take(rows), thresholds, tie_order)
            out.r1[rows], out.ap[rows], out.r5[rows], out.iou1[rows] = part.r1, part.ap, part.r5, part.iou1
            sensitive[rows] = part.tie_sensitive
    return out


def _cross_iou(ps: np.ndarray, pe: np.ndarray, gs: np.ndarray, ge: np.ndarray) -> np.ndarray:
    """``inter / (len1 + len2 - inter)`` of every (prediction, gt) pair: (n, K, G)."""
    left = np.maximum(ps[:, :, None], gs[:, None, :])
    right = np.minimum(pe[:, :, None], ge[:, None, :])
    inter = np.clip(right - left, 0, None)
    union = (pe - ps)[:, :, None] + (ge - gs)[:, None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def _score_block(pred: RaggedWindows, gt: RaggedWindows, thr: np.ndarray, tie_order: TieOrder) -> PerQuery:
    n = pred.n
    g_width = int(gt.counts.max())
    gs, ge, _, gvalid = gt.padded(g_width)
    rows = np.arange(n)

    # R1: the first listed window against its best-matching gt window, hull IoU.
    ps1, pe1, _, _ = pred.padded(1)
    first_iou = np.where(gvalid[:, None, :], _cross_iou(ps1, pe1, gs, ge), -np.inf)[:, 0, :]
    best = np.argmax(first_iou, axis=1)
    s1, e1, bs, be = ps1[:, 0], pe1[:, 0], gs[rows, best], ge[rows, best]
    inter = np.maximum(0, np.minimum(e1, be) - np.maximum(s1, bs))
    hull = np.maximum(e1, be) - np.minimum(s1, bs)
    iou1 = np.divide(inter, hull, out=np.zeros_like(inter), where=hull != 0)
    r1 = (iou1[:, None] >= thr[None, :]).astype(np.float64)

    # AP: first 10 windows, stable sort by score descending, greedy matching per threshold.
    k_width = min(MAX_PRED_WINDOWS, int(pred.counts.max()))
    ps, pe, rank_score, pvalid = replace(pred, score=ranking_scores(pred)).padded(k_width)
    order = np.argsort(np.where(pvalid, -rank_score, np.inf), axis=1, kind="stable")
    ps, pe = np.take_along_axis(ps, order, 1), np.take_along_axis(pe, order, 1)
    pvalid = np.take_along_axis(pvalid, order, 1)
    iou = np.where(gvalid[:, None, :] & pvalid[:, :, None], _cross_iou(ps, pe, gs, ge), -np.inf)

    t = len(thr)
    locked = np.zeros((n, t, g_width), dtype=bool)
    tp = np.zeros((n, t, k_width), dtype=bool)
    best_iou = iou.max(axis=2)  # (n, K) best gt IoU of each ranked window
    reachable = best_iou >= thr.min()  # can this window match at any threshold?
    sensitive = np.zeros(n, dtype=bool)
    for k in range(k_width):  # loop over rank positions (<= 10), never over queries
        rows_k = np.flatnonzero(reachable[:, k])
        iou_k = iou[rows_k, k, None, :]
        cand = (iou_k >= thr[None, :, None]) & ~locked[rows_k]
        if g_width == 1:
            only = cand[:, :, 0]
            locked[rows_k, :, 0] |= only
            tp[rows_k, :, k] = only
            continue
        key = np.where(cand, iou_k, -np.inf)
        # highest IoU wins; on equal IoU the later gt window (argsort()[::-1] order) or the earlier
        later_first = tie_order == "later"
        choice = g_width - 1 - np.argmax(key[:, :, ::-1], axis=2) if later_first else np.argmax(key, axis=2)
        hit = cand.any(axis=2)
        last = k + 1 == k_width  # the last window leaves nothing for a later one to need
        with_tie = _equal_iou_rows(iou_k[:, 0, :], float(thr.min())) if not last else np.zeros(0, dtype=np.int64)
        if len(with_tie):  # rare: this window has two gt windows of exactly equal IoU >= the lowest θ
            later = iou[rows_k[with_tie], k + 1 :]
            sensitive[rows_k[with_tie]] |= _choice_matters(key[with_tie], cand[with_tie], later, thr)
        tp[rows_k, :, k] = hit
        qi, ti = np.nonzero(hit)
        locked[rows_k[qi], ti, choice[qi, ti]] = True
    ap = _voc_average_precision(tp, pvalid, gt.counts)

    top = min(RECALL_AT_K, k_width)
    r5 = (best_iou[:, :top].max(axis=1)[:, None] >= thr[None, :]).astype(np.float64)
    return PerQuery(r1, ap, r5, iou1, sensitive)


def _equal_iou_rows(iou: np.ndarray, lowest: float) -> np.ndarray:
    """Rows of ``iou`` (m, G) with two entries exactly equal and >= ``lowest``: the cheap first
    test (one comparison and count; most rows have at most one window that high)."""
    several = np.flatnonzero(np.count_nonzero(iou >= lowest, axis=1) >= 2)
    if not len(several):
        return several
    v = np.sort(np.where(iou[several] >= lowest, iou[several], np.nan), axis=1)  # NaN: never equal
    return several[(v[:, 1:] == v[:, :-1]).any(axis=1)]


def _choice_matters(key: np.ndarray, cand: np.ndarray, later_iou: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """(m,) bool: at some θ this prediction faces >= 2 unmatched windows tied at the highest IoU
    (``key``, ``cand``: (m, T, G)), and a later prediction (``later_iou``: (m, L, G)) tells two of them
    apart at θ: IoU >= θ with one, a different IoU with the other. Otherwise they are interchangeable."""
    tied = cand & (key == key.max(axis=2, keepdims=True))
    qi, ti = np.nonzero(tied.sum(axis=2) >= 2)
    out = np.zeros(key.shape[0], dtype=bool)
    if not len(qi):
        return out
    later = later_iou[qi]  # (p, L, G)
    v = np.where(later >= thr[ti][:, None, None], later, -np.inf)  # below θ: all alike
    in_tie = tied[qi, ti][:, None, :]
    differs = np.where(in_tie, v, -np.inf).max(axis=2) != np.where(in_tie, v, np.inf).min(axis=2)
    out[qi[differs.any(axis=1)]] = True
    return out


def _voc_average_precision(tp: np.ndarray, pvalid: np.ndarray, n_gt: np.ndarray) -> np.ndarray:
    """VOC all-point AP of (n, T, K) true-positive flags, summed as the official ``np.sum`` does.

    Only (query, threshold) pairs with at least one true positive are computed (AP is 0 otherwise).
    """
    n, t, k = tp.shape
    ap = np.zeros((n, t))
    qi, ti = np.nonzero(tp.any(axis=2))
    if not len(qi):
        return ap
    hits = tp[qi, ti]  # (P, K)
    g = n_gt[qi].astype(np.float64)
    tp_cum = np.cumsum(hits, axis=1).astype(np.float64)
    rank = np.arange(1, k + 1, dtype=np.float64)  # tp_cum + fp_cum at every valid position
    precision = np.where(pvalid[qi], tp_cum / rank, 0.0)
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    # Officially only the recall-change positions are summed, in order: the c-th true positive adds
    # (c/G - (c-1)/G) * envelope there. Put it in slot c-1; then one more 0.0 term when recall ends
    # below 1 (the appended recall of 1).
    pi, ki = np.nonzero(hits)
    c_val = tp_cum[pi, ki]
    c = np.zeros((len(qi), max(k + 1, 11)))
    c[pi, c_val.astype(np.int64) - 1] = (c_val / g[pi] - (c_val - 1.0) / g[pi]) * envelope[pi, ki]
    n_tp = tp_cum[:, -1]
    n_terms = n_tp + (n_tp < g)
    total = c[:, 0].copy()
    for j in range(1, c.shape[1]):
        total += c[:, j]
    many = n_terms >= 8  # numpy's pairwise sum: 8 partial sums, then the rest in order
    if many.any():
        m = c[many]
        pairwise = ((m[:, 0] + m[:, 1]) + (m[:, 2] + m[:, 3])) + ((m[:, 4] + m[:, 5]) + (m[:, 6] + m[:, 7]))
        for j in range(8, m.shape[1]):
            pairwise += m[:, j]
        total[many] = pairwise
    ap[qi, ti] = total
    return ap
