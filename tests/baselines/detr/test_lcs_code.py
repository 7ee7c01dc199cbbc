"""The ``lcs-code`` preset's parts (``amr_bench_baselines.detr.lcs_code``): LCS-DETR as its public code does it."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from amr_bench_baselines.detr.config import LossConfig
from amr_bench_baselines.detr.lcs_code import (
    ClassAttentionPool,
    DropPath,
    GatedTextToAudioLayer,
    LcsCodeDetr,
    softmax_focal_loss,
)
from amr_bench_baselines.detr.losses import SetCriterion
from amr_bench_baselines.detr.model import build_model
from amr_bench_baselines.detr.presets import preset_config

torch.set_num_threads(1)

SMALL = {"model.hidden": 16, "model.ffn": 32, "model.heads": 2, "model.audio_dim": 8, "model.text_dim": 8}


def small_model() -> LcsCodeDetr:
    torch.manual_seed(0)
    net = build_model(preset_config("lcs-detr", "lcs-code").override(SMALL).model)
    assert isinstance(net, LcsCodeDetr)
    return net


def inputs(b: int = 3, t: int = 9, n: int = 4) -> tuple:
    g = torch.Generator().manual_seed(1)
    audio = torch.randn(b, t, 10, generator=g)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[0, 6:] = False
    text = torch.randn(b, n, 8, generator=g)
    tmask = torch.ones(b, n, dtype=torch.bool)
    tmask[1, 2:] = False
    return audio, mask, text, tmask


def test_the_preset_builds_the_code_variant_with_its_shapes_and_settings() -> None:
    net = small_model().eval()
    cfg = net.cfg
    assert (cfg.gated_layers, cfg.drop_path, cfg.input_dropout, cfg.text_pool) == (
        "lcs-code",
        0.1,
        0.5,
        "class-attention",
    )
    assert len(net.t2a) == 0 and len(net.gated.layers) == 2 and len(net.t2a_ungated) == 2
    layer = net.gated.layers[0]
    assert isinstance(layer, GatedTextToAudioLayer)
    # projection-free attention: only the output projection; dropout is the input dropout; drop-path 0.1
    assert [n for n, _ in layer.named_children()] == ["out", "ffn", "norm1", "norm2", "drop_path"]
    assert layer.dropout == 0.5 and layer.drop_path.p == 0.1
    assert isinstance(layer.ffn[1], torch.nn.PReLU) and layer.ffn[1].weight.item() == pytest.approx(0.25)
    # β starts at 20, α at 0
    assert net.gate is not None
    assert (net.gate.beta.item(), net.gate.alpha.item()) == (20.0, 0.0)
    audio, mask, text, tmask = inputs()
    out = net(audio, mask, text, tmask, text.roll(-1, 0), tmask.roll(-1, 0))
    assert out["logits"].shape == (3, 10, 2) and out["spans"].shape == (3, 10, 2)
    assert out["saliency"].shape == (3, 9) and out["saliency_negative"].shape == (3, 9)
    assert len(out["aux"]) == 1
    pooled = net.gate.pool(net.text_proj(text), tmask)
    assert pooled.shape == (3, 16)


def test_the_negative_pair_does_not_pass_through_the_gate_or_the_gated_layers() -> None:
    net = small_model().eval()
    audio, mask, text, tmask = inputs()
    neg, neg_mask = text.roll(-1, 0), tmask.roll(-1, 0)
    before = net(audio, mask, text, tmask, neg, neg_mask)
    with torch.no_grad():
        assert net.gate is not None
        net.gate.beta.fill_(3.0)
        for p in net.gated.parameters():
            p.add_(0.3)
    after = net(audio, mask, text, tmask, neg, neg_mask)
    assert not torch.allclose(before["saliency"], after["saliency"])
    torch.testing.assert_close(before["saliency_negative"], after["saliency_negative"], rtol=0, atol=0)
    # the QD-DETR body (lcs-report) does gate its negative pair
    report = build_model(preset_config("lcs-detr", "lcs-report").override(SMALL).model).eval()
    assert not report.negative_skips_front_end


def test_the_gate_scales_each_frames_attention_weights() -> None:
    torch.manual_seed(0)
    layer = GatedTextToAudioLayer(8, 2, 16, dropout=0.0, drop_path=0.0).eval()
    audio, pos = torch.randn(2, 5, 8), torch.randn(2, 5, 8)
    text, tmask = torch.randn(2, 3, 8), torch.ones(2, 3, dtype=torch.bool)
    gate = torch.rand(2, 5)
    full = layer.attend(audio, pos, text, tmask, torch.ones(2, 5))
    gated = layer.attend(audio, pos, text, tmask, gate)
    bias = layer.out.bias
    # weights x s_i before the value sum and the output projection: (out(x) - bias) scales by s_i
    torch.testing.assert_close(gated - bias, (full - bias) * gate[..., None])
    # keys and values are the raw text tokens: a padded token changes nothing
    tmask[:, 2] = False
    one = layer.attend(audio, pos, text, tmask, gate)
    text2 = text.clone()
    text2[:, 2] = 100.0
    torch.testing.assert_close(one, layer.attend(audio, pos, text2, tmask, gate))


def test_drop_path_drops_whole_recordings_in_training_only() -> None:
    drop = DropPath(0.5)
    x = torch.ones(4000, 3, 2)
    torch.manual_seed(0)
    y = drop(x)
    per_recording = y.flatten(1)
    assert set(per_recording.unique().tolist()) == {0.0, 2.0}
    assert bool((per_recording == per_recording[:, :1]).all())  # one decision per recording
    assert abs(float((per_recording[:, 0] == 0).float().mean()) - 0.5) < 0.05
    assert torch.equal(drop.eval()(x), x)


def test_class_attention_pooling_ignores_padding_and_starts_near_its_query() -> None:
    torch.manual_seed(0)
    pool = ClassAttentionPool(8, 2, 16).eval()
    text = torch.randn(2, 4, 8)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    out = pool(text, mask)
    assert out.shape == (2, 8)
    changed = text.clone()
    changed[0, 2:] = 50.0
    torch.testing.assert_close(pool(changed, mask)[0], out[0])
    # LayerScale 1e-4: the pooled vector starts as the learned query plus a small update
    assert float((out - pool.query).abs().max().detach()) < 1e-2


def by_hand_focal(fg_logit: float, bg_logit: float, is_fg: bool, alpha: float = 0.25, gamma: float = 2.0) -> float:
    p_fg = math.exp(fg_logit) / (math.exp(fg_logit) + math.exp(bg_logit))
    p_t = p_fg if is_fg else 1 - p_fg
    log_p_t = max(math.log(p_t), -12.0)
    p_t = min(max(p_t, 1e-5), 1 - 1e-5)
    a = alpha if is_fg else 1 - alpha
    return -a * (1 - p_t) ** gamma * log_p_t


def test_softmax_focal_loss_against_a_computation_by_hand() -> None:
    rows = [(2.0, 0.0, True), (2.0, 0.0, False), (-1.0, 0.5, True), (0.3, 0.3, False), (-30.0, 0.0, True)]
    logits = torch.tensor([[fg, bg] for fg, bg, _ in rows], dtype=torch.float64)
    is_fg = torch.tensor([f for _, _, f in rows])
    got = softmax_focal_loss(logits, is_fg, 0.25, 2.0)
    want = [by_hand_focal(*r) for r in rows]
    assert got.tolist() == pytest.approx(want, rel=1e-5)  # computed in float32
    assert want[-1] == pytest.approx(0.25 * 12.0 * (1 - 1e-5) ** 2)  # log p_t clamped at -12


def test_the_class_loss_is_the_focal_mean_over_batch_times_queries() -> None:
    cfg = LossConfig(class_loss="softmax-focal")
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 5, 2, generator=g)
    is_fg = torch.zeros(2, 5, dtype=torch.bool)
    is_fg[0, 1] = is_fg[1, 4] = True
    loss = SetCriterion(cfg).class_loss(logits, is_fg, n_moments=2.0)
    want = sum(
        by_hand_focal(float(logits[b, q, 0]), float(logits[b, q, 1]), bool(is_fg[b, q]))
        for b in range(2)
        for q in range(5)
    )
    assert float(loss) == pytest.approx(want / 10, rel=1e-5)  # / (B x Q), not / number of moments


def test_class_attention_pooling_is_refused_outside_the_code_variant() -> None:
    cfg = preset_config("lcs-detr", "lcs-report").override({**SMALL, "model.text_pool": "class-attention"})
    with pytest.raises(ValueError, match="gated_layers"):
        build_model(cfg.model)
    with pytest.raises(ValueError, match="LCS-DETR option"):
        build_model(preset_config("am-detr", "sim-cpu").override({"model.gated_layers": "lcs-code"}).model)
