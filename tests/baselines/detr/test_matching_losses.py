"""Matcher against brute force, gIoU by hand, focal loss against its formula, losses' behaviour."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given
from hypothesis import strategies as st

from amr_bench_baselines.detr.config import LossConfig
from amr_bench_baselines.detr.losses import SetCriterion, Targets, sigmoid_focal_loss
from amr_bench_baselines.detr.matcher import (
    HungarianMatcher,
    cxw_to_xx,
    focal_class_cost,
    generalized_iou,
    xx_to_cxw,
)


def test_giou_matches_hand_computation() -> None:
    a = torch.tensor([[0.0, 2.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 4.0], [3.0, 4.0]])
    g = generalized_iou(a, b)
    # [0,2] vs [1,4]: inter 1, union 4, hull 4 -> 1/4 - 0
    assert g[0, 0].item() == pytest.approx(0.25)
    # [0,2] vs [3,4]: inter 0, union 3, hull 4 -> 0 - 1/4
    assert g[0, 1].item() == pytest.approx(-0.25)
    # [0,1] vs [1,4]: touching, inter 0, union 4, hull 4 -> 0
    assert g[1, 0].item() == pytest.approx(0.0)
    # [0,1] vs [3,4]: inter 0, union 2, hull 4 -> -0.5
    assert g[1, 1].item() == pytest.approx(-0.5)
    assert generalized_iou(b, b).diagonal().tolist() == pytest.approx([1.0, 1.0])


def test_span_conversions_round_trip() -> None:
    x = torch.tensor([[0.2, 0.5], [0.0, 1.0]])
    assert torch.allclose(cxw_to_xx(xx_to_cxw(x)), x)


def test_focal_loss_matches_formula() -> None:
    logits = torch.tensor([-2.0, -0.3, 0.0, 1.7])
    targets = torch.tensor([1.0, 0.0, 1.0, 0.0])
    got = sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0)
    for x, y, value in zip(logits.tolist(), targets.tolist(), got.tolist(), strict=True):
        p = 1 / (1 + math.exp(-x))
        p_t = p if y == 1 else 1 - p
        alpha_t = 0.25 if y == 1 else 0.75
        assert value == pytest.approx(-alpha_t * (1 - p_t) ** 2 * math.log(p_t), rel=1e-5)


def test_focal_matching_cost_formula() -> None:
    p = torch.tensor([0.1, 0.5, 0.9])
    got = focal_class_cost(p, 0.25, 2.0)
    want = [0.25 * (1 - q) ** 2 * -math.log(q) - 0.75 * q**2 * -math.log(1 - q) for q in p.tolist()]
    assert got.tolist() == pytest.approx(want, rel=1e-4)
    assert got[0] > got[1] > got[2]  # a more confident query is cheaper to match


def brute_force_cost(cost: np.ndarray) -> float:
    q, g = cost.shape
    return min(sum(cost[perm[j], j] for j in range(g)) for perm in itertools.permutations(range(q), g))


@given(st.integers(1, 4), st.integers(0, 10_000), st.sampled_from(["prob", "focal"]))
def test_matcher_is_optimal_against_brute_force(n_gt: int, seed: int, class_cost: str) -> None:
    gen = torch.Generator().manual_seed(seed)
    q = 5
    logits = torch.randn(1, q, 2, generator=gen)
    spans = torch.rand(1, q, 2, generator=gen) * 0.5 + 0.05
    target = torch.rand(n_gt, 2, generator=gen) * 0.5 + 0.05
    matcher = HungarianMatcher(LossConfig(match_class_cost=class_cost))  # type: ignore[arg-type]
    ((rows, cols),) = matcher(logits, spans, [target])
    cost = matcher.cost_matrix(logits[0], spans[0], target).numpy()
    assert len(rows) == n_gt and len(set(rows.tolist())) == n_gt and sorted(cols.tolist()) == list(range(n_gt))
    assert cost[rows, cols].sum() == pytest.approx(brute_force_cost(cost), rel=1e-6, abs=1e-6)


def test_matcher_handles_recordings_without_moments() -> None:
    matcher = HungarianMatcher(LossConfig())
    out = matcher(torch.randn(2, 3, 2), torch.rand(2, 3, 2), [torch.zeros(0, 2), torch.tensor([[0.5, 0.2]])])
    assert len(out[0][0]) == 0 and len(out[1][0]) == 1


def fake_outputs(b: int, q: int, t: int, gen: Any) -> dict:
    return {
        "logits": torch.randn(b, q, 2, generator=gen, requires_grad=True),
        "spans": torch.rand(b, q, 2, generator=gen).mul(0.5).add(0.1).requires_grad_(),
        "saliency": torch.randn(b, t, generator=gen, requires_grad=True),
        "saliency_negative": torch.randn(b, t, generator=gen, requires_grad=True),
        "aux": [],
    }


def fake_targets(b: int, t: int) -> Targets:
    sal = torch.zeros(b, t)
    sal[:, 2:5] = 1
    return Targets(
        [torch.tensor([[0.35, 0.3]])] * b,
        sal,
        torch.ones(b, t, dtype=torch.bool),
        torch.full((b, 2), 3),
        torch.full((b, 2), 8),
        torch.ones(b),
    )


def test_perfect_spans_have_zero_span_loss() -> None:
    gen = torch.Generator().manual_seed(0)
    out = fake_outputs(2, 4, 10, gen)
    out["spans"] = torch.tensor([[[0.35, 0.3], [0.8, 0.1], [0.1, 0.1], [0.6, 0.2]]] * 2)
    losses = SetCriterion(LossConfig())(out, fake_targets(2, 10))
    assert losses["span"].item() == pytest.approx(0.0, abs=1e-6)
    assert losses["giou"].item() == pytest.approx(0.0, abs=1e-6)


def test_ce_background_weight_and_focal_option() -> None:
    gen = torch.Generator().manual_seed(1)
    out = fake_outputs(2, 4, 10, gen)
    targets = fake_targets(2, 10)
    ce = SetCriterion(LossConfig(background_weight=0.1))(out, targets)["class"]
    ce_full = SetCriterion(LossConfig(background_weight=1.0))(out, targets)["class"]
    assert ce.item() != pytest.approx(ce_full.item())
    focal = SetCriterion(LossConfig(class_loss="focal"))(out, targets)["class"]
    assert 0 < focal.item() < ce_full.item()


def test_saliency_hinge_zero_when_margin_met() -> None:
    gen = torch.Generator().manual_seed(2)
    out = fake_outputs(2, 4, 10, gen)
    sal = torch.zeros(2, 10)
    sal[:, 2:5] = 5.0
    out["saliency"] = sal
    losses = SetCriterion(LossConfig())(out, fake_targets(2, 10))
    assert losses["saliency_hinge"].item() == 0.0
    out["saliency"] = -sal
    # every pair violates the margin by 0.2 + 0 + 5: the mean over pairs (per-moment option) is 5.2;
    # QD-DETR's sum over the B * P pairs / (B * P) * 2 is twice that
    per_moment = SetCriterion(LossConfig(reduction="per-moment"))(out, fake_targets(2, 10))
    assert per_moment["saliency_hinge"].item() == pytest.approx(5.2)
    assert SetCriterion(LossConfig())(out, fake_targets(2, 10))["saliency_hinge"].item() == pytest.approx(10.4)


def test_rank_contrastive_prefers_in_moment_frames() -> None:
    gen = torch.Generator().manual_seed(3)
    out = fake_outputs(2, 4, 10, gen)
    good, bad = torch.zeros(2, 10), torch.zeros(2, 10)
    good[:, 2:5], bad[:, 6:9] = 3.0, 3.0
    crit = SetCriterion(LossConfig())
    out["saliency"] = good
    l_good = crit(out, fake_targets(2, 10))["saliency_rank"].item()
    out["saliency"] = bad
    assert l_good < crit(out, fake_targets(2, 10))["saliency_rank"].item()


def test_aux_losses_add_to_total() -> None:
    gen = torch.Generator().manual_seed(4)
    out = fake_outputs(2, 4, 10, gen)
    base = SetCriterion(LossConfig())(out, fake_targets(2, 10))
    out["aux"] = [{"logits": out["logits"], "spans": out["spans"]}]
    with_aux = SetCriterion(LossConfig())(out, fake_targets(2, 10))
    assert "span_0" in with_aux and with_aux["total"].item() > base["total"].item()
    assert SetCriterion(LossConfig(aux_loss=False))(out, fake_targets(2, 10))["total"].item() == pytest.approx(
        base["total"].item()
    )
