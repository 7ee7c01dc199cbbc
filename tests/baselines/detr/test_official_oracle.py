"""The ``dcase2026`` preset against numbers made by the official DCASE 2026 Task 6 baseline code.

Oracle: tests/data/official_qddetr (README there). Tolerances as the oracle states them for CPU
float32: outputs and losses 1e-5 relative, gradient and after-step checksums 1e-4, predicted
windows equal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from amr_bench_baselines.detr.config import DetrConfig
from amr_bench_baselines.detr.data import MomentDataset, collate, open_store, read_split
from amr_bench_baselines.detr.losses import SetCriterion, Targets
from amr_bench_baselines.detr.model import build_model
from amr_bench_baselines.detr.predict import predict_with_config
from amr_bench_baselines.detr.presets import preset_config
from tests.helpers.official_qddetr import (
    DATASET,
    MODEL,
    NOISE_FLOOR,
    ORACLE,
    assert_checksum,
    read_json,
    read_jsonl,
    rule_state_dict,
)

RTOL = 1e-5


@pytest.fixture(scope="module")
def cfg() -> DetrConfig:
    return preset_config("am-detr", "dcase2026")


@pytest.fixture(scope="module")
def pipeline() -> dict[str, np.ndarray]:
    with np.load(ORACLE / "pipeline.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def model(cfg: DetrConfig) -> Any:
    torch.manual_seed(0)
    m = build_model(cfg.model)
    m.load_state_dict(rule_state_dict())
    return m.eval()


def oracle_targets(p: dict[str, np.ndarray]) -> Targets:
    """The official batch's targets (its sampled hinge frames included) in this package's form."""
    n = p["src_aud"].shape[0]
    return Targets(
        spans=[torch.from_numpy(p[f"span_labels_{i}"]) for i in range(n)],
        saliency=torch.from_numpy(p["saliency_all_labels"]),
        audio_mask=torch.from_numpy(p["src_aud_mask"]).bool(),
        pos_idx=torch.from_numpy(p["saliency_pos_labels"]).long(),
        neg_idx=torch.from_numpy(p["saliency_neg_labels"]).long(),
        pair_ok=torch.ones(n),
    )


def forward(model: Any, p: dict[str, np.ndarray]) -> dict[str, Any]:
    audio, text = torch.from_numpy(p["src_aud"]), torch.from_numpy(p["src_txt"])
    tmask = torch.from_numpy(p["src_txt_mask"]).bool()
    return model(audio, torch.from_numpy(p["src_aud_mask"]).bool(), text, tmask, text.roll(-1, 0), tmask.roll(-1, 0))


def close(got: Any, want: Any, what: str, rtol: float = RTOL) -> None:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(np.abs(want).max(), 1e-30), err_msg=what)


def test_trainable_parameters_and_names_are_the_official_ones(cfg: DetrConfig) -> None:
    weights = read_json("weights.json")
    m = build_model(cfg.model)
    assert sum(p.numel() for p in m.parameters() if p.requires_grad) == weights["trainable_parameters"] == 7_123_237
    # same names, shapes and order (the order makes an exported optimizer state line up)
    assert [(k, list(v.shape)) for k, v in m.state_dict().items()] == [
        (k, e["shape"]) for k, e in weights["state_dict"].items()
    ]


def test_weight_rule_reproduces_the_checksums() -> None:
    state = rule_state_dict()
    for name, entry in read_json("weights.json")["state_dict"].items():
        assert_checksum(name, state[name].numpy(), entry, 1e-6)


def test_pipeline_equals_the_official_batch(cfg: DetrConfig, pipeline: dict[str, np.ndarray]) -> None:
    records = read_split(DATASET, "train")
    ds = MomentDataset(records, open_store(DATASET), cfg.data, train=True, seed=7)
    batch = collate([ds.item(i, (i + 1) % len(records), 0) for i in range(len(records))])
    close(batch.audio.numpy(), pipeline["src_aud"], "src_aud (L2-normalised audio + TEF)")
    np.testing.assert_array_equal(batch.audio_mask.numpy(), pipeline["src_aud_mask"].astype(bool))
    close(batch.text.numpy(), pipeline["src_txt"], "src_txt (every row, as stored)")
    np.testing.assert_array_equal(batch.text_mask.numpy(), pipeline["src_txt_mask"].astype(bool))
    np.testing.assert_array_equal(batch.targets.saliency.numpy(), pipeline["saliency_all_labels"])
    for i, spans in enumerate(batch.targets.spans):
        close(spans.numpy(), pipeline[f"span_labels_{i}"], f"span_labels_{i}")
    labels = pipeline["saliency_all_labels"]
    for name, ours, theirs, inside in (
        ("pos", batch.targets.pos_idx.numpy(), pipeline["saliency_pos_labels"], 1.0),
        ("neg", batch.targets.neg_idx.numpy(), pipeline["saliency_neg_labels"], 0.0),
    ):
        for b in range(len(records)):
            n = int(pipeline["src_aud_mask"][b].sum())
            assert (labels[b, theirs[b]] == inside).all() and (labels[b, ours[b]] == inside).all(), (name, b)
            assert (ours[b] < n).all(), (name, b)
            pool = int((labels[b, :n] == inside).sum())
            assert (len(set(ours[b].tolist())) == 2) == (pool >= 2), (name, b)  # distinct when possible
    assert bool(batch.targets.pair_ok.all())


def test_outputs_match(model: Any, pipeline: dict[str, np.ndarray]) -> None:
    want = np.load(MODEL / "outputs.npz")
    with torch.no_grad():
        out = forward(model, pipeline)
    close(out["logits"], want["pred_logits"], "pred_logits")
    close(out["spans"], want["pred_spans"], "pred_spans")
    close(out["saliency"], want["saliency_scores"], "saliency_scores")
    close(out["saliency_negative"], want["saliency_scores_neg"], "saliency_scores_neg (the next query's text)")
    close(out["aux"][0]["logits"], want["aux0_pred_logits"], "aux0_pred_logits")
    close(out["aux"][0]["spans"], want["aux0_pred_spans"], "aux0_pred_spans")


def test_matching_losses_gradients_and_one_step(cfg: DetrConfig, model: Any, pipeline: dict[str, np.ndarray]) -> None:
    criterion = SetCriterion(cfg.loss)
    targets = oracle_targets(pipeline)
    m = build_model(cfg.model)
    m.load_state_dict(rule_state_dict())
    m.eval()
    out = forward(m, pipeline)

    matches = criterion.matcher(out["logits"], out["spans"], targets.spans)
    assert [[q.tolist(), g.tolist()] for q, g in matches] == read_json("indices.json")

    losses = criterion(out, targets)
    want = read_json("losses.json")
    pairs = {"span": "loss_span", "giou": "loss_giou", "class": "loss_label"}
    for ours, theirs in pairs.items():
        close(float(losses[ours].detach()), want[theirs], theirs)
        close(float(losses[f"{ours}_0"].detach()), want[f"{theirs}_0"], f"{theirs}_0")
    saliency = losses["saliency_hinge"] + losses["saliency_negative"] + losses["saliency_rank"]
    close(float(saliency.detach()), want["loss_saliency"], "loss_saliency (hinge + negative pair + rank contrastive)")
    close(float(losses["total"].detach()), want["weighted_total"], "weighted_total")
    assert (
        cfg.loss.span_weight == want["weight_dict"]["loss_span"]
        and cfg.loss.class_weight == want["weight_dict"]["loss_label"]
    )

    losses["total"].backward()
    grads = read_json("grads.json")
    named = dict(m.named_parameters())
    assert set(grads) == {n for n, p in named.items() if p.grad is not None}  # the text position table gets none
    for name, entry in grads.items():
        assert_checksum(f"grad {name}", named[name].grad.numpy(), entry, 1e-4, NOISE_FLOOR)

    trainable = [p for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    torch.nn.utils.clip_grad_norm_(m.parameters(), cfg.train.grad_clip)
    optimizer.step()
    for name, entry in read_json("after_step.json").items():
        assert_checksum(f"after step {name}", named[name].detach().numpy(), entry, 1e-4)


def test_predictions_equal(cfg: DetrConfig, model: Any) -> None:
    ds = MomentDataset(read_split(DATASET, "train"), open_store(DATASET), cfg.data, train=False)
    assert predict_with_config(model, ds, cfg, "cpu") == read_jsonl(MODEL / "predictions.jsonl")


def test_predictions_before_postprocessing_equal_to_the_last_decimal(cfg: DetrConfig, model: Any) -> None:
    """Same queries, same ranking, every number to 4 decimals; a value whose 5th decimal sits at a
    rounding boundary may differ by one unit of the 4th (our float32 outputs agree to ~3e-7, not
    bit for bit), and at most a few do."""
    ds = MomentDataset(read_split(DATASET, "train"), open_store(DATASET), cfg.data, train=False)
    got = predict_with_config(model, ds, cfg, "cpu", postprocess=False)
    want = read_jsonl(MODEL / "predictions_before_postprocessing.jsonl")
    assert [{k: v for k, v in r.items() if k != "pred_relevant_windows"} for r in got] == [
        {k: v for k, v in r.items() if k != "pred_relevant_windows"} for r in want
    ]
    ours = np.array([r["pred_relevant_windows"] for r in got])
    theirs = np.array([r["pred_relevant_windows"] for r in want])
    assert ours.shape == theirs.shape == (6, 10, 3)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1.0001e-4)
    assert int((ours != theirs).sum()) <= 3


def test_official_targets_edge_cases_by_hand() -> None:
    from amr_bench_baselines.detr.data import official_targets

    rng = np.random.default_rng(0)
    # a window inside one frame: int(3) = 3 > min(int(3.5), 10) - 1 = 2, so the run is frame 2 alone
    spans, labels, pos, neg, ok = official_targets(np.array([[3.0, 3.5]]), 10, 5, rng)
    assert labels.tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0] and pos.tolist() == [2, 2] and ok
    assert len(set(neg.tolist())) == 2 and not labels[neg].any()
    # the whole recording: no outside frame, so the negatives are the positives (a constant hinge)
    _, labels, pos, neg, ok = official_targets(np.array([[0.0, 10.0]]), 10, 5, rng)
    assert labels.all() and neg.tolist() == pos.tolist() and len(set(pos.tolist())) == 2 and ok
    # a window past the end (CASTELLA's [299, 4800]) is not clipped; its labels stop at the last frame
    spans, labels, _, _, _ = official_targets(np.array([[299.0, 4800.0]]), 300, 5, rng)
    np.testing.assert_allclose(spans, [[(299 + 4800) / 600, 4501 / 300]], rtol=1e-6)
    assert np.flatnonzero(labels).tolist() == [299]
    # more windows than max_windows: a random 5 in random order; the labels follow the first of them
    windows = np.array([[i * 10.0, i * 10.0 + 4] for i in range(7)])
    spans, labels, _, _, _ = official_targets(windows, 70, 5, rng)
    assert len(spans) == 5
    first = round(float(spans[0, 0] - spans[0, 1] / 2) * 70)
    assert np.flatnonzero(labels).tolist() == list(range(first, first + 4))
    # no window (a split without ground truth): nothing to learn from, no hinge pair
    spans, labels, _, _, ok = official_targets(np.zeros((0, 2)), 10, 5, rng)
    assert spans.shape == (0, 2) and not labels.any() and not ok
