"""QD-DETR's loss values computed BY HAND on small fixed tensors, term by term.

The arithmetic below follows the published definitions of QD-DETR ("Query-Dependent Video
Representation for Moment Retrieval and Highlight Detection", arXiv 2303.13874), which AM-DETR
("Language-based Audio Moment Retrieval", arXiv 2409.15672) trains with: span L1 as a mean over
the N x 2 numbers, 1 - gIoU as a mean over the N pairs, weighted CE as a plain mean over the B x Q
queries, the hinge summed over the B x P pairs / (B * P) * 2, the rank-contrastive term divided
by its 12 label levels, and the negative-pair term summed over frames and averaged over B.
Nothing here calls the code under test to compute an expected value.

Two recordings (B = 2), two queries each (Q = 2), four frames (frame 3 of recording 1 is padding).
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from amr_bench_baselines.detr.config import LossConfig
from amr_bench_baselines.detr.losses import SetCriterion, Targets

MARGIN, TAU, BG = 0.2, 0.5, 0.1


def softplus(x: float) -> float:
    return math.log(1 + math.exp(x))


def outputs() -> dict:
    return {
        # (foreground, background) logits; query 0 of recording 0 and query 1 of recording 1 match
        "logits": torch.tensor([[[2.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [0.0, 0.0]]]),
        "spans": torch.tensor([[[0.45, 0.5], [0.1, 0.1]], [[0.8, 0.2], [0.3, 0.4]]]),
        "saliency": torch.tensor([[1.0, 2.0, 0.5, -1.0], [0.0, 0.3, 0.25, 9.0]]),
        "saliency_negative": torch.tensor([[0.2, -0.1, 0.0, 0.3], [0.5, 0.1, -0.3, 5.0]]),
        "aux": [],
    }


def targets() -> Targets:
    return Targets(
        spans=[torch.tensor([[0.5, 0.4]]), torch.tensor([[0.25, 0.5]])],
        saliency=torch.tensor([[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]]),
        audio_mask=torch.tensor([[True, True, True, True], [True, True, True, False]]),
        pos_idx=torch.tensor([[2, 1], [0, 1]]),
        neg_idx=torch.tensor([[0, 3], [2, 2]]),
        pair_ok=torch.ones(2),
    )


def test_every_qd_detr_term_by_hand() -> None:
    got = SetCriterion(LossConfig())(outputs(), targets())

    # span L1: |0.45-0.5| + |0.5-0.4| + |0.3-0.25| + |0.4-0.5| = 0.3 over N x 2 = 4 numbers
    span = (0.05 + 0.1 + 0.05 + 0.1) / 4
    assert got["span"].item() == pytest.approx(span, rel=1e-5)

    # gIoU: [0.2, 0.7] vs [0.3, 0.7]: inter 0.4, union 0.5, hull 0.5 -> 0.8;
    #       [0.1, 0.5] vs [0.0, 0.5]: inter 0.4, union 0.5, hull 0.5 -> 0.8; mean of 1 - gIoU over N = 2
    giou = ((1 - 0.8) + (1 - 0.8)) / 2
    assert got["giou"].item() == pytest.approx(giou, rel=1e-5)

    # class CE, weight 1 (foreground) or 0.1 (background), plain mean over B x Q = 4 queries:
    # r0q0 fg [2, 0]: log(1 + e^-2); r0q1 bg [0, 1]: 0.1 log(1 + e^-1);
    # r1q0 bg [1, 1]: 0.1 log 2;      r1q1 fg [0, 0]: log 2
    ce = (math.log(1 + math.exp(-2)) + BG * math.log(1 + math.exp(-1)) + BG * math.log(2) + math.log(2)) / 4
    assert got["class"].item() == pytest.approx(ce, rel=1e-5)

    # hinge max(0, 0.2 + s_neg - s_pos) over the B x P = 4 pairs:
    # r0: (pos 2 = 0.5, neg 0 = 1.0) -> 0.7; (pos 1 = 2.0, neg 3 = -1.0) -> 0
    # r1: (pos 0 = 0.0, neg 2 = 0.25) -> 0.45; (pos 1 = 0.3, neg 2 = 0.25) -> 0.15
    hinge = (0.7 + 0.0 + 0.45 + 0.15) / 4 * 2
    assert got["saliency_hinge"].item() == pytest.approx(hinge, rel=1e-5)

    # negative pairs: -log(1 - sigmoid(s)) = softplus(s) over the valid frames, mean over B = 2
    neg = (
        (softplus(0.2) + softplus(-0.1) + softplus(0.0) + softplus(0.3))
        + (softplus(0.5) + softplus(0.1) + softplus(-0.3))
    ) / 2
    assert got["saliency_negative"].item() == pytest.approx(neg, rel=1e-5)

    # rank-contrastive, label level 1 only (binary labels): per recording, the scores of the true
    # pairing then the mismatched one, / tau, padding excluded; minus the mean log-softmax of the
    # in-moment frames; mean over B; divided by 12 label levels
    def rank_term(true: list[float], mismatched: list[float], positives: list[int]) -> float:
        scores = [s / TAU for s in true + mismatched]
        log_z = math.log(sum(math.exp(s) for s in scores))
        return -sum(scores[i] - log_z for i in positives) / len(positives)

    r0 = rank_term([1.0, 2.0, 0.5, -1.0], [0.2, -0.1, 0.0, 0.3], [1, 2])
    r1 = rank_term([0.0, 0.3, 0.25], [0.5, 0.1, -0.3], [0, 1])
    rank = (r0 + r1) / 2 / 12
    assert got["saliency_rank"].item() == pytest.approx(rank, rel=1e-5)

    total = 10 * span + 1 * giou + 4 * ce + 1 * (hinge + neg + rank)
    assert got["total"].item() == pytest.approx(total, rel=1e-5)


def test_focal_is_the_public_codes_mean_over_queries() -> None:
    """LCS-DETR's focal loss on the foreground margin l_fg - l_bg, mean over the B x Q queries."""
    got = SetCriterion(LossConfig(class_loss="focal"))(outputs(), targets())["class"].item()

    def focal(margin: float, foreground: bool) -> float:
        p = 1 / (1 + math.exp(-margin))
        p_t, alpha_t = (p, 0.25) if foreground else (1 - p, 0.75)
        return -alpha_t * (1 - p_t) ** 2 * math.log(p_t)

    want = (focal(2.0, True) + focal(-1.0, False) + focal(0.0, False) + focal(0.0, True)) / 4
    assert got == pytest.approx(want, rel=1e-5)


def test_per_moment_option_keeps_the_first_normalisations() -> None:
    """The per-moment option: span L1 summed / N (x2 of QD-DETR's), weighted-mean CE, rank not / 12."""
    qd = SetCriterion(LossConfig())(outputs(), targets())
    old = SetCriterion(LossConfig(reduction="per-moment"))(outputs(), targets())
    assert old["span"].item() == pytest.approx(2 * qd["span"].item(), rel=1e-5)
    assert old["saliency_rank"].item() == pytest.approx(12 * qd["saliency_rank"].item(), rel=1e-5)
    assert old["saliency_hinge"].item() == pytest.approx(qd["saliency_hinge"].item() / 2, rel=1e-5)
    weighted = (math.log(1 + math.exp(-2)) + BG * math.log(1 + math.exp(-1)) + BG * math.log(2) + math.log(2)) / (
        1 + BG + BG + 1
    )
    assert old["class"].item() == pytest.approx(weighted, rel=1e-5)
