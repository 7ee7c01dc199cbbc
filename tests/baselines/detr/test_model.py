"""AM-DETR / LCS-DETR: shapes, registry, LCS parts, one optimisation step lowers the loss."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from amr_bench_baselines.detr.config import DetrConfig, for_model
from amr_bench_baselines.detr.losses import SetCriterion, Targets
from amr_bench_baselines.detr.model import MODELS, LcsDetr, LocalContinuityBlock, SaliencyGate, build_model

TINY = {
    "model.hidden": 32,
    "model.heads": 4,
    "model.ffn": 64,
    "model.t2a_layers": 1,
    "model.encoder_layers": 1,
    "model.decoder_layers": 2,
    "model.audio_dim": 16,
    "model.text_dim": 16,
}


def tiny(name: str, **extra: object) -> DetrConfig:
    """The module-tree tests of ``MomentDetr`` (the official tree: test_official_oracle.py)."""
    return for_model(name, "lighthouse" if name == "am-detr" else None).override({**TINY, **extra})


def batch(b: int = 3, t: int = 20, length: int = 5, gen_seed: int = 0) -> tuple[dict, Targets]:
    gen = torch.Generator().manual_seed(gen_seed)
    audio = torch.randn(b, t, 18, generator=gen)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[0, 15:] = False
    text = torch.randn(b, length, 16, generator=gen)
    tmask = torch.ones(b, length, dtype=torch.bool)
    tmask[1, 3:] = False
    sal = torch.zeros(b, t)
    sal[:, 4:9] = 1
    targets = Targets(
        [torch.tensor([[0.3, 0.25]])] * b, sal, mask, torch.full((b, 2), 5), torch.full((b, 2), 12), torch.ones(b)
    )
    inputs = {
        "audio": audio,
        "audio_mask": mask,
        "text": text,
        "text_mask": tmask,
        "negative_text": text.roll(1, 0),
        "negative_text_mask": tmask.roll(1, 0),
    }
    return inputs, targets


def test_defaults_are_the_reference_hyperparameters() -> None:
    cfg = DetrConfig()
    m, loss, t = cfg.model, cfg.loss, cfg.train
    assert (m.hidden, m.heads, m.ffn, m.queries, m.dropout, m.input_dropout) == (256, 8, 1024, 10, 0.1, 0.5)
    assert (t.lr, t.weight_decay, t.batch_size, t.grad_clip, t.select_metric) == (1e-4, 1e-4, 32, 0.1, "R1@0.7")
    assert (loss.cost_span, loss.cost_giou, loss.cost_class) == (10, 1, 4)
    assert (loss.span_weight, loss.giou_weight, loss.class_weight, loss.saliency_weight, loss.saliency_margin) == (
        10,
        1,
        4,
        1,
        0.2,
    )
    assert (cfg.data.max_audio_frames, cfg.data.max_text_tokens) == (300, 32)
    lcs = for_model("lcs-detr")
    assert lcs.model.saliency_gate and lcs.model.continuity_block and lcs.model.continuity_kernel == 5
    assert (lcs.loss.class_loss, lcs.loss.focal_gamma, lcs.loss.focal_alpha) == ("focal", 2.0, 0.25)


def test_config_round_trips_and_rejects_typos() -> None:
    cfg = tiny("lcs-detr")
    assert DetrConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="hiden"):
        cfg.override({"model.hiden": 3})
    with pytest.raises(ValueError, match="unknown model"):
        for_model("xx-detr")


@pytest.mark.parametrize("name", ["am-detr", "lcs-detr"])
def test_output_shapes(name: str) -> None:
    cfg = tiny(name)
    model = build_model(cfg.model).eval()
    inputs, _ = batch()
    out = model(**inputs)
    assert out["logits"].shape == (3, 10, 2)
    assert out["spans"].shape == (3, 10, 2)
    assert ((out["spans"] > 0) & (out["spans"] < 1)).all()
    assert out["saliency"].shape == (3, 20) and out["saliency_negative"].shape == (3, 20)
    assert len(out["aux"]) == cfg.model.decoder_layers - 1
    # padding does not leak: a recording scores the same alone as in a padded batch
    alone = model(inputs["audio"][:1, :15], inputs["audio_mask"][:1, :15], inputs["text"][:1], inputs["text_mask"][:1])
    assert torch.allclose(alone["spans"], out["spans"][:1], atol=1e-5)


def test_registry_not_branches() -> None:
    assert set(MODELS) >= {"am-detr", "lcs-detr"}
    assert isinstance(build_model(tiny("lcs-detr").model), LcsDetr)
    with pytest.raises(ValueError, match="use lcs-detr"):
        build_model(tiny("am-detr", **{"model.saliency_gate": True}).model)


def test_continuity_block_and_gate() -> None:
    torch.manual_seed(0)
    block = LocalContinuityBlock(8, 5)
    x = torch.randn(2, 12, 8)
    mask = torch.ones(2, 12, dtype=torch.bool)
    mask[1, 6:] = False
    y = block(x, mask)
    assert block.depthwise.groups == 8 and block.depthwise.kernel_size == (5,) and block.pointwise.kernel_size == (1,)
    assert (y[1, 6:] == 0).all()
    # the residual: zeroed convolutions give the identity
    torch.nn.init.zeros_(block.pointwise.weight)
    torch.nn.init.zeros_(block.pointwise.bias)
    assert torch.allclose(block(x, mask)[0], x[0])
    # a frame only sees +-2 neighbours (kernel 5)
    x2 = x.clone()
    x2[0, 0] += 10
    block2 = LocalContinuityBlock(8, 5)
    diff = (block2(x2, mask) - block2(x, mask))[0].abs().sum(-1)
    assert (diff[:3] > 0).all() and (diff[3:] == 0).all()

    gate = SaliencyGate(0.0, 1.0)
    text = torch.randn(1, 4, 8)
    tmask = torch.ones(1, 4, dtype=torch.bool)
    audio = torch.stack([text.mean(1)[0], -text.mean(1)[0]])[None]
    s = gate(audio, text, tmask)
    assert s[0, 0].item() == pytest.approx(1 / (1 + torch.exp(torch.tensor(-1.0)).item()), rel=1e-5)
    assert s[0, 1].item() == pytest.approx(1 / (1 + torch.exp(torch.tensor(1.0)).item()), rel=1e-5)


@pytest.mark.parametrize("target", ["features", "gate"])
def test_continuity_target_option_changes_the_stream(target: str) -> None:
    cfg = tiny("lcs-detr", **{"model.continuity_target": target})
    model = build_model(cfg.model).eval()
    a = torch.randn(1, 6, 32)
    stream, gate = model.prepare_audio(
        a, torch.ones(1, 6, dtype=torch.bool), torch.randn(1, 3, 32), torch.ones(1, 3, dtype=torch.bool)
    )
    assert gate is not None and gate.shape == (1, 6)
    assert torch.equal(stream, a) == (target == "gate")


@pytest.mark.parametrize("name", ["am-detr", "lcs-detr"])
def test_one_step_reduces_the_loss_on_a_fixed_batch(name: str) -> None:
    torch.manual_seed(0)
    cfg = tiny(name, **{"model.dropout": 0.0, "model.input_dropout": 0.0})
    model = build_model(cfg.model).train()
    crit = SetCriterion(cfg.loss)
    inputs, targets = batch()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr)  # the reference step size
    before = crit(model(**inputs), targets)["total"]
    opt.zero_grad()
    before.backward()
    opt.step()
    after = crit(model(**inputs), targets)["total"]
    assert after.item() < before.item()
