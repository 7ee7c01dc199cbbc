"""Span geometry (1-D IoU / generalised IoU) and Hungarian matching of queries to moments.

Cost of assigning query q to ground-truth span g (lower is better):
``cost_span * |span_q - span_g|_1 (center, width) - cost_giou * gIoU(q, g) + cost_class * c_q``,
with ``c_q = -p_fg(q)`` ("prob", DETR/QD-DETR) or the focal cost of Deformable DETR ("focal":
``alpha (1-p)^gamma (-log p) - (1-alpha) p^gamma (-log(1-p))``, the LCS-DETR report's matcher).
The assignment is ``scipy.optimize.linear_sum_assignment`` per recording.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from amr_bench_baselines.detr.config import LossConfig
from amr_bench_baselines.detr.model import FOREGROUND


def cxw_to_xx(spans: Tensor) -> Tensor:
    return torch.stack([spans[..., 0] - 0.5 * spans[..., 1], spans[..., 0] + 0.5 * spans[..., 1]], -1)


def xx_to_cxw(spans: Tensor) -> Tensor:
    return torch.stack([(spans[..., 0] + spans[..., 1]) / 2, spans[..., 1] - spans[..., 0]], -1)


def pairwise_iou_and_hull(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(N,2), (M,2) start/end spans -> IoU (N,M), union (N,M), hull length (N,M)."""
    s1, e1 = a[:, None, 0], a[:, None, 1]
    s2, e2 = b[None, :, 0], b[None, :, 1]
    inter = (torch.minimum(e1, e2) - torch.maximum(s1, s2)).clamp(min=0)
    union = (e1 - s1) + (e2 - s2) - inter
    hull = torch.maximum(e1, e2) - torch.minimum(s1, s2)
    return inter / union.clamp(min=1e-8), union, hull


def generalized_iou(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise 1-D gIoU = IoU - (hull - union) / hull, for start/end spans (N,2) x (M,2)."""
    iou, union, hull = pairwise_iou_and_hull(a, b)
    return iou - (hull - union) / hull.clamp(min=1e-8)


def focal_class_cost(p_fg: Tensor, alpha: float, gamma: float) -> Tensor:
    eps = 1e-8
    pos = alpha * (1 - p_fg) ** gamma * -(p_fg + eps).log()
    neg = (1 - alpha) * p_fg**gamma * -(1 - p_fg + eps).log()
    return pos - neg


class HungarianMatcher:
    def __init__(self, cfg: LossConfig) -> None:
        self.cfg = cfg

    def cost_matrix(self, logits: Tensor, spans: Tensor, target: Tensor) -> Tensor:
        """One recording: logits (Q,2), spans (Q,2) cxw, target (G,2) cxw -> cost (Q,G)."""
        p_fg = logits.float().softmax(-1)[:, FOREGROUND]
        if self.cfg.match_class_cost == "focal":
            c_class = focal_class_cost(p_fg, self.cfg.focal_alpha, self.cfg.focal_gamma)
        else:
            c_class = -p_fg
        spans, target = spans.float(), target.float()
        c_span = torch.cdist(spans, target, p=1)
        c_giou = -generalized_iou(cxw_to_xx(spans), cxw_to_xx(target))
        return self.cfg.cost_span * c_span + self.cfg.cost_giou * c_giou + self.cfg.cost_class * c_class[:, None]

    @torch.no_grad()
    def __call__(self, logits: Tensor, spans: Tensor, targets: list[Tensor]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Batch logits (B,Q,2), spans (B,Q,2) and per-recording target spans -> (query idx, gt idx)."""
        out = []
        for b, target in enumerate(targets):
            if len(target) == 0:
                out.append((np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)))
                continue
            cost = self.cost_matrix(logits[b], spans[b], target).cpu().numpy()
            rows, cols = linear_sum_assignment(cost)
            out.append((rows.astype(np.int64), cols.astype(np.int64)))
        return out
