"""Training losses of AM-DETR / LCS-DETR.

- span: L1 on (center, width) of matched queries, and 1 - gIoU, each summed over matched pairs and
  divided by the number of ground-truth moments;
- class: weighted cross-entropy (foreground 1, background ``background_weight``; DETR's weighted
  mean) or sigmoid focal loss on the foreground logit margin ``l_fg - l_bg`` (which is exactly the
  2-way softmax probability), summed over queries and divided by the number of moments;
- saliency (final layer only): hinge ``max(0, margin + s_neg - s_pos)`` on sampled positive /
  negative frames, a rank-contrastive term (InfoNCE of in-moment frames against every frame of the
  recording and of the recording paired with another query, temperature ``tau``), and
  ``-log(1 - sigmoid(s))`` on the frames of the mismatched (rolled) query;
- auxiliary: the matched span and class losses on every earlier decoder layer.

Normalisers (number of moments, weighted counts) are summed over processes and divided by the
world size under DistributedDataParallel, so gradients equal the single-process ones.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        cfg = self.cfg
        matches = self.matcher(logits, spans, targets.spans)
        batch_idx = torch.cat([torch.full((len(q),), b, dtype=torch.long) for b, (q, _) in enumerate(matches)])
        query_idx = torch.from_numpy(np.concatenate([q for q, _ in matches]))
        batch_idx, query_idx = batch_idx.to(spans.device), query_idx.to(spans.device)
        pred = spans[batch_idx, query_idx].float()
        gt = torch.cat([t[g] for t, (_, g) in zip(targets.spans, matches)]).to(pred)
        loss_span = (pred - gt).abs().sum() / n_moments
        giou = torch.diagonal(generalized_iou(cxw_to_xx(pred), cxw_to_xx(gt))) if len(gt) else pred.new_zeros(0)
        loss_giou = (1 - giou).sum() / n_moments

        is_fg = torch.zeros(logits.shape[:2], dtype=torch.bool, device=logits.device)
        is_fg[batch_idx, query_idx] = True
        logits = logits.float()
        if cfg.class_loss == "focal":
            margin = logits[..., FOREGROUND] - logits[..., 1 - FOREGROUND]
            loss_class = sigmoid_focal_loss(margin, is_fg.float(), cfg.focal_alpha, cfg.focal_gamma).sum() / n_moments
        else:
            target = torch.where(is_fg, FOREGROUND, 1 - FOREGROUND)
            weight = torch.where(is_fg, 1.0, cfg.background_weight)
            nll = F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none")
            loss_class = (nll * weight.flatten()).sum() / global_normaliser(float(weight.sum()), logits.device)
        return {"span": loss_span, "giou": loss_giou, "class": loss_class}

    def saliency_losses(self, out: dict[str, object], targets: Targets) -> dict[str, Tensor]:
        cfg = self.cfg
        sal = out["saliency"].float()  # type: ignore[union-attr]
        mask = targets.audio_mask
        b = sal.shape[0]
        pos = sal.gather(1, targets.pos_idx)
        neg = sal.gather(1, targets.neg_idx)
        hinge = (cfg.saliency_margin + neg - pos).clamp(min=0).mean(1)
        loss_hinge = (hinge * targets.pair_ok).sum() / b

        losses = {"saliency_hinge": loss_hinge}
        if "saliency_negative" in out:
            sal_neg = out["saliency_negative"].float()  # type: ignore[union-attr]
            m = mask.float()
            loss_neg = (-F.logsigmoid(-sal_neg) * m).sum(1).mean()
            # rank-contrastive: in-moment frames vs every frame of both pairings
            scores = torch.cat([sal, sal_neg], 1) / cfg.rank_contrastive_tau
            valid = torch.cat([mask, mask], 1)
            positive = torch.cat([targets.saliency > 0.5, torch.zeros_like(mask)], 1) & valid
            scores = scores.masked_fill(~valid, -1e4)
            log_prob = scores - torch.logsumexp(scores, 1, keepdim=True)
            n_pos = positive.sum(1)
            per_rec = -(log_prob * positive).sum(1) / n_pos.clamp(min=1)
            loss_rank = (per_rec * (n_pos > 0)).sum() / b
            losses.update({"saliency_negative": loss_neg, "saliency_rank": loss_rank})
        return losses

    def __call__(self, out: dict[str, object], targets: Targets) -> dict[str, Tensor]:
        cfg = self.cfg
        device = out["logits"].device  # type: ignore[union-attr]
        n_moments = global_normaliser(float(sum(len(t) for t in targets.spans)), device)
        losses = self.layer_losses(out["logits"], out["spans"], targets, n_moments)  # type: ignore[arg-type]
        total = cfg.span_weight * losses["span"] + cfg.giou_weight * losses["giou"] + cfg.class_weight * losses["class"]
        if cfg.aux_loss:
            for i, aux in enumerate(out["aux"]):  # type: ignore[union-attr]
                aux_losses = self.layer_losses(aux["logits"], aux["spans"], targets, n_moments)
                total = total + cfg.span_weight * aux_losses["span"] + cfg.giou_weight * aux_losses["giou"]
                total = total + cfg.class_weight * aux_losses["class"]
                losses.update({f"{k}_{i}": v for k, v in aux_losses.items()})
        sal = self.saliency_losses(out, targets)
        losses.update(sal)
        total = total + cfg.saliency_weight * sum(sal.values())
        losses["total"] = total
        return losses
