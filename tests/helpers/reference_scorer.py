"""A slow, obvious implementation of the official scorer's semantics (docs/scorer.md).

Written for clarity, one query and one window at a time, with dictionaries and Python loops, as
the official Moment-DETR ``standalone_eval`` code does. The fast vectorised scorer must agree with
it exactly (per-query values bit for bit, means to the last rounded digit).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

THRESHOLDS = [float(f"{x:.2f}") for x in np.linspace(0.5, 0.95, 10)]


def _cross_iou(pred, gts):
    s1, e1 = pred
    out = []
    for s2, e2 in gts:
        inter = max(min(e1, e2) - max(s1, s2), 0)
        union = (e1 - s1) + (e2 - s2) - inter
        out.append(inter / union)
    return np.array(out, dtype=np.float64)


def _hull_iou(pred, gt):
    inter = max(0, min(pred[1], gt[1]) - max(pred[0], gt[0]))
    hull = max(pred[1], gt[1]) - min(pred[0], gt[0])
    return inter / hull if hull != 0 else 0.0


def filter_gt(gt_lines, low=0.0, high=1500.0):
    out = []
    for d in gt_lines:
        kept = [w for w in d["relevant_windows"] if low < (w[1] - w[0]) <= high]
        if kept:
            out.append({**d, "relevant_windows": kept})
    return out


def r1_ious(submission, gt_lines):
    """qid -> hull IoU of the first window with its best (first highest-IoU) gt window."""
    first = {d["qid"]: [float(v) for v in d["pred_relevant_windows"][0][:2]] for d in submission}
    out = {}
    for d in gt_lines:
        pred = first[d["qid"]]
        ious = _cross_iou(pred, [[float(a), float(b)] for a, b in d["relevant_windows"]])
        best = d["relevant_windows"][int(np.argmax(ious))]
        out[d["qid"]] = _hull_iou(pred, [float(best[0]), float(best[1])])
    return out


def ranked_predictions(pred_windows):
    """The first 10 windows, stably sorted by score descending (list order when no scores)."""
    preds = []
    for i, w in enumerate(pred_windows[:10]):
        score = w[2] if len(w) > 2 else -float(i)
        preds.append((float(w[0]), float(w[1]), score))
    preds.sort(key=lambda p: -p[2])  # stable
    return preds


def visit_order(ious, tie_order="later"):
    """The order in which the official code visits the gt windows: ``argsort()[::-1]``. With
    numpy 1.26 on a CPU without AVX-512 the small sort keeps equal keys in index order, so after
    the reversal the later of two equal-IoU windows comes first (``"later"``); ``"earlier"`` is
    the opposite order of equal keys."""
    order = list(range(len(ious)))
    if tie_order == "later":
        order.sort(key=lambda j: ious[j])  # stable ascending, then reversed
        order.reverse()
    else:
        order.sort(key=lambda j: -ious[j])  # stable descending
    return order


def average_precision(gt_windows, pred_windows, thresholds=THRESHOLDS, tie_order="later", orders=None):
    """One query: greedy matching, VOC all-point AP, per threshold.

    ``orders`` (one visiting order of the gt windows per ranked prediction) replaces the orders of
    ``tie_order``: the brute force over every order of equal keys uses it."""
    preds = ranked_predictions(pred_windows)
    n_gt = len(gt_windows)
    gts = [[float(a), float(b)] for a, b in gt_windows]
    aps = []
    for thr in thresholds:
        locked = [False] * n_gt
        tp, fp = [], []
        for i, (s, e, _) in enumerate(preds):
            ious = _cross_iou((s, e), gts)
            order = visit_order(ious, tie_order) if orders is None else orders[i]
            matched = False
            for j in order:
                if ious[j] < thr:
                    break
                if locked[j]:
                    continue
                locked[j] = True
                matched = True
                break
            tp.append(1.0 if matched else 0.0)
            fp.append(0.0 if matched else 1.0)
        tp_c = np.cumsum(tp)
        fp_c = np.cumsum(fp)
        recall = tp_c / float(n_gt)
        precision = tp_c / (tp_c + fp_c)
        mprec = np.hstack([[0], precision, [0]])
        mrec = np.hstack([[0], recall, [1]])
        for i in range(len(mprec) - 1)[::-1]:
            mprec[i] = max(mprec[i], mprec[i + 1])
        idx = np.where(mrec[1::] != mrec[0:-1])[0] + 1
        aps.append(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))
    return np.array(aps)


def tie_orders(gt_windows, pred_windows, thresholds=THRESHOLDS):
    """Every visiting order the official code could take for each ranked prediction: IoU
    descending, equal IoUs in any order (all permutations within each group of equal keys).

    Groups below the lowest θ keep one order: the loop stops at the first window under θ, and
    every window of such a group is under every θ, so their order cannot change anything."""
    gts = [[float(a), float(b)] for a, b in gt_windows]
    per_pred = []
    for s, e, _ in ranked_predictions(pred_windows):
        ious = _cross_iou((s, e), gts)
        groups = [[j for j in range(len(gts)) if ious[j] == v] for v in sorted(set(ious.tolist()), reverse=True)]
        choices = [itertools.permutations(g) if ious[g[0]] >= min(thresholds) else [tuple(g)] for g in groups]
        per_pred.append([list(itertools.chain(*p)) for p in itertools.product(*choices)])
    return per_pred


def n_tie_orders(gt_windows, pred_windows):
    return math.prod(len(o) for o in tie_orders(gt_windows, pred_windows))


def ap_under_every_order(gt_windows, pred_windows, thresholds=THRESHOLDS):
    """Brute force: the set of AP vectors over every combination of visiting orders."""
    out = set()
    for orders in itertools.product(*tie_orders(gt_windows, pred_windows)):
        out.add(tuple(average_precision(gt_windows, pred_windows, thresholds, orders=[list(o) for o in orders])))
    return out


def official_scores(submission, ground_truth, tie_order="later"):
    """The official output document and the per-query values (qid -> (r1_iou, ap array))."""
    gt = filter_gt(ground_truth)
    keep = {d["qid"] for d in gt}
    sub = [d for d in submission if d["qid"] in keep]
    gt_by_qid = {d["qid"]: d for d in gt}
    r1 = r1_ious(sub, gt)
    aps = {
        d["qid"]: average_precision(
            gt_by_qid[d["qid"]]["relevant_windows"], d["pred_relevant_windows"], tie_order=tie_order
        )
        for d in sub
    }
    ap_array = np.array([aps[d["qid"]] for d in sub])
    ap_thds = ap_array.mean(0)
    iou_r1 = np.array([r1[d["qid"]] for d in sub])
    full_map = {str(t): float(f"{100 * v:.2f}") for t, v in zip(THRESHOLDS, ap_thds, strict=True)}
    full_map["average"] = float(f"{100 * np.mean(ap_thds):.2f}")
    full_r1 = {str(t): float(f"{np.mean(iou_r1 >= t) * 100:.2f}") for t in THRESHOLDS}
    doc = {
        "brief": {
            "MR-full-R1@0.5": full_r1["0.5"],
            "MR-full-R1@0.7": full_r1["0.7"],
            "MR-full-mAP": full_map["average"],
            "MR-full-mAP@0.5": full_map["0.5"],
            "MR-full-mAP@0.75": full_map["0.75"],
        },
        "full": {"MR-mAP": full_map, "MR-R1": full_r1},
    }
    return doc, r1, aps, ap_thds
