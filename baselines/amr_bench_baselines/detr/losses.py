"""Training losses of AM-DETR / LCS-DETR.

Terms (``loss.reduction="qd-detr"``, the default: the normalisations of the published QD-DETR
code that AM-DETR uses, "Query-Dependent Video Representation for Moment Retrieval and Highlight
Detection", arXiv 2303.13874; N matched moments, B recordings, Q queries, P hinge pairs):

- span: mean |span_q - span_g| over the N x 2 numbers (center, width) of matched pairs, and the
  mean of 1 - gIoU over the N pairs;
- class: cross-entropy with weight 1 for foreground and ``background_weight`` for background,
  then a plain mean over the B x Q queries (not the weighted mean); or (LCS-DETR) sigmoid focal
  loss on the foreground logit margin ``l_fg - l_bg`` (exactly the 2-way softmax probability),
  mean over the B x Q queries;
- saliency (final layer only): hinge ``max(0, margin + s_neg - s_pos)`` summed over the B x P
  sampled pairs, divided by B * P, times 2; a rank-contrastive term (InfoNCE of the frames at or
  above each label level against every frame of the recording and of the recording paired with
  another query, temperature ``tau``, mean over B, summed over levels and divided by
  ``rank_levels`` = 12); and ``-log(1 - sigmoid(s))`` summed over the frames of the mismatched
  (rolled) query, mean over B;
- auxiliary: the matched span and class losses on every earlier decoder layer.

``loss.reduction="per-moment"`` keeps this implementation's first normalisations: span L1 and
gIoU summed over pairs / N, weighted-mean CE or focal sum / N, rank-contrastive not divided by the
levels, hinge mean over pairs / B.

Every normaliser is summed over processes and divided by the world size under
DistributedDataParallel, so gradients equal the single-process ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor

from amr_bench_baselines.detr.config import LossConfig
from amr_bench_baselines.detr.matcher import HungarianMatcher, cxw_to_xx, generalized_iou
from amr_bench_baselines.detr.model import FOREGROUND


def sigmoid_focal_loss(logits: Tensor, targets: Tensor, alpha: float, gamma: float) -> Tensor:
    """Elementwise -alpha_t (1 - p_t)^gamma log(p_t) (Lin et al. 2017), p = sigmoid(logits)."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return alpha_t * (1 - p_t) ** gamma * ce


def global_normaliser(value: float, device: torch.device) -> float:
    """Sum over processes / world size (identity without torch.distributed); at least 1e-6."""
    if dist.is_available() and dist.is_initialized():
        t = torch.tensor([value], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        value = float(t.item()) / dist.get_world_size()
    return max(value, 1e-6)


@dataclass
class Targets:
    """What the criterion needs from a batch (built by ``amr_bench_baselines.detr.data.collate``)."""

    spans: list[Tensor]  # per recording (G_b, 2) center/width fractions
    saliency: Tensor  # (B, T) 1.0 inside a moment, 0.0 outside
    audio_mask: Tensor  # (B, T) bool
    pos_idx: Tensor  # (B, P) sampled in-moment frames
    neg_idx: Tensor  # (B, P) sampled out-of-moment frames
    pair_ok: Tensor  # (B,) bool: both samples exist


class SetCriterion:
    def __init__(self, cfg: LossConfig) -> None:
        self.cfg = cfg
        self.matcher = HungarianMatcher(cfg)

    def layer_losses(self, logits: Tensor, spans: Tensor, targets: Targets, n_moments: float) -> dict[str, Tensor]:
        matches = self.matcher(logits, spans, targets.spans)
        batch_idx = torch.cat([torch.full((len(q),), b, dtype=torch.long) for b, (q, _) in enumerate(matches)])
        query_idx = torch.from_numpy(np.concatenate([q for q, _ in matches]))
        batch_idx, query_idx = batch_idx.to(spans.device), query_idx.to(spans.device)
        pred = spans[batch_idx, query_idx].float()
        gt = torch.cat([t[g] for t, (_, g) in zip(targets.spans, matches, strict=True)]).to(pred)
        giou = torch.diagonal(generalized_iou(cxw_to_xx(pred), cxw_to_xx(gt))) if len(gt) else pred.new_zeros(0)
        is_fg = torch.zeros(logits.shape[:2], dtype=torch.bool, device=logits.device)
        is_fg[batch_idx, query_idx] = True
        span_l1, one_minus_giou = (pred - gt).abs().sum(), (1 - giou).sum()
        # QD-DETR: a mean over the N x 2 numbers; per-moment: summed over both numbers / N
        loss_span = span_l1 / (2 * n_moments if self.cfg.reduction == "qd-detr" else n_moments)
        loss_class = self.class_loss(logits, is_fg, n_moments)
        return {"span": loss_span, "giou": one_minus_giou / n_moments, "class": loss_class}

    def class_loss(self, logits: Tensor, is_fg: Tensor, n_moments: float) -> Tensor:
        """Foreground/background loss of every query; ``is_fg`` (B, Q) marks the matched ones."""
        cfg = self.cfg
        logits = logits.float()
        n_queries = global_normaliser(float(is_fg.numel()), logits.device)
        if cfg.class_loss == "softmax-focal":  # LCS-DETR's public code: a mean over batch x queries
            from amr_bench_baselines.detr.lcs_code import softmax_focal_loss

            return softmax_focal_loss(logits, is_fg, cfg.focal_alpha, cfg.focal_gamma).sum() / n_queries
        if cfg.class_loss == "focal":
            margin = logits[..., FOREGROUND] - logits[..., 1 - FOREGROUND]
            focal = sigmoid_focal_loss(margin, is_fg.float(), cfg.focal_alpha, cfg.focal_gamma).sum()
            return focal / (n_queries if cfg.reduction == "qd-detr" else n_moments)
        target = torch.where(is_fg, FOREGROUND, 1 - FOREGROUND)
        weight = torch.where(is_fg, 1.0, cfg.background_weight)
        nll = F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none")
        weighted = (nll * weight.flatten()).sum()
        if cfg.reduction == "qd-detr":
            return weighted / n_queries
        return weighted / global_normaliser(float(weight.sum()), logits.device)

    def hinge_loss(self, sal: Tensor, targets: Targets) -> Tensor:
        """Sampled in-moment frames above sampled out-of-moment frames by ``saliency_margin``."""
        pos = sal.gather(1, targets.pos_idx)
        neg = sal.gather(1, targets.neg_idx)
        hinge = (self.cfg.saliency_margin + neg - pos).clamp(min=0) * targets.pair_ok[:, None]
        b = global_normaliser(float(sal.shape[0]), sal.device)
        if self.cfg.reduction == "qd-detr":
            pairs = global_normaliser(float(hinge.numel()), sal.device)
            return hinge.sum() / pairs * 2
        return hinge.mean(1).sum() / b

    def rank_contrastive_loss(self, sal: Tensor, sal_neg: Tensor, targets: Targets) -> Tensor:
        """In-moment frames against every frame of the true and the mismatched pairing (InfoNCE)."""
        cfg = self.cfg
        mask = targets.audio_mask
        b = global_normaliser(float(sal.shape[0]), sal.device)
        scores = torch.cat([sal, sal_neg], 1) / cfg.rank_contrastive_tau
        valid = torch.cat([mask, mask], 1)
        labels = torch.cat([targets.saliency, torch.zeros_like(targets.saliency)], 1)
        scores = scores.masked_fill(~valid, -1e4)
        log_prob = scores - torch.logsumexp(scores, 1, keepdim=True)
        levels = range(1, cfg.rank_levels) if cfg.reduction == "qd-detr" else range(1, 2)
        total = sal.new_zeros(())
        for level in levels:
            positive = (labels >= level) & valid
            if not bool(positive.any()):
                continue
            n_pos = positive.sum(1)
            per_rec = -(log_prob * positive).sum(1) / n_pos.clamp(min=1)
            total = total + (per_rec * (n_pos > 0)).sum() / b
        return total / cfg.rank_levels if cfg.reduction == "qd-detr" else total

    def saliency_losses(self, out: dict[str, Any], targets: Targets) -> dict[str, Tensor]:
        sal = out["saliency"].float()
        losses = {"saliency_hinge": self.hinge_loss(sal, targets)}
        if "saliency_negative" in out:
            sal_neg = out["saliency_negative"].float()
            b = global_normaliser(float(sal.shape[0]), sal.device)
            loss_neg = (-F.logsigmoid(-sal_neg) * targets.audio_mask.float()).sum() / b
            losses["saliency_negative"] = loss_neg
            losses["saliency_rank"] = self.rank_contrastive_loss(sal, sal_neg, targets)
        return losses

    def __call__(self, out: dict[str, Any], targets: Targets) -> dict[str, Tensor]:
        cfg = self.cfg
        device = out["logits"].device
        n_moments = global_normaliser(float(sum(len(t) for t in targets.spans)), device)
        losses = self.layer_losses(out["logits"], out["spans"], targets, n_moments)
        total = cfg.span_weight * losses["span"] + cfg.giou_weight * losses["giou"] + cfg.class_weight * losses["class"]
        if cfg.aux_loss:
            for i, aux in enumerate(out["aux"]):
                aux_losses = self.layer_losses(aux["logits"], aux["spans"], targets, n_moments)
                total = total + cfg.span_weight * aux_losses["span"] + cfg.giou_weight * aux_losses["giou"]
                total = total + cfg.class_weight * aux_losses["class"]
                losses.update({f"{k}_{i}": v for k, v in aux_losses.items()})
        sal = self.saliency_losses(out, targets)
        losses.update(sal)
        total = total + cfg.saliency_weight * sum(sal.values())
        losses["total"] = total
        return losses
