"""Presets, settings resolution, the train command's error classes, and ``amr-bench reproduce``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench_baselines.detr.config import DetrConfig, for_model
from amr_bench_baselines.detr.model import build_model
from amr_bench_baselines.detr.presets import PRESETS, preset_config
from amr_bench_baselines.detr.reproduce import aggregate, benchmark_for, format_table, load_published
from amr_bench_baselines.detr.settings import SettingsError, resolve_config
from tests.helpers.detr_data import write_toy_dataset

torch.set_num_threads(1)

SMALL = ["--set", "model.hidden=16", "--set", "model.ffn=32", "--set", "model.heads=2", "--set", "train.batch_size=8"]
SMALL_CFG = {"model.hidden": 16, "model.ffn": 32, "model.heads": 2, "model.audio_dim": 8, "model.text_dim": 8}


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_toy_dataset(tmp_path_factory.mktemp("toy"), {"train": 12, "val": 4, "test": 4}, frames=20)


@pytest.mark.parametrize(
    ("model", "preset"),
    [("am-detr", p) for p in ("dcase2026", "lighthouse", "paper", "sim-cpu", "v0")]
    + [("lcs-detr", p) for p in ("lcs-report", "lcs-code", "lighthouse", "sim-cpu")],
)
def test_every_preset_builds_a_model_that_runs(model: str, preset: str) -> None:
    cfg = preset_config(model, preset).override(SMALL_CFG)
    assert cfg.preset == preset and cfg.model.name == model
    net = build_model(cfg.model).eval()
    audio = torch.randn(2, 9, 10)
    text = torch.randn(2, 3, 8)
    ones = torch.ones(2, 9, dtype=torch.bool)
    out = net(audio, ones, text, torch.ones(2, 3, dtype=torch.bool))
    assert out["spans"].shape == (2, 10, 2) and out["saliency"].shape == (2, 9)


def test_lighthouse_preset_is_the_official_configuration() -> None:
    cfg = for_model("am-detr", "lighthouse")
    assert cfg.preset == "lighthouse"
    assert (cfg.data.max_text_tokens, cfg.data.normalize_text, cfg.model.layout) == (32, True, "amr-bench")
    assert (cfg.train.epochs, cfg.train.select_metric, cfg.train.patience, cfg.train.bf16) == (200, "mAP", 0, False)
    assert (cfg.data.saliency_labels, cfg.data.max_windows, cfg.data.pairs_without_replacement) == ("first", 5, True)
    m = cfg.model
    assert (m.t2a_activation, m.span_heads, m.decoder_norm, m.init) == ("prelu", "separate", True, "qd-detr")
    assert (cfg.predict.round_to, cfg.predict.max_seconds, cfg.loss.reduction) == (1.0, 300.0, "qd-detr")
    code = for_model("lcs-detr", "lcs-code").model
    assert (code.continuity_target, code.text_pool, code.gate_init_beta) == ("gate", "class-attention", 20.0)
    assert not for_model("lcs-detr", "lcs-code").train.bf16  # the code's configs: use_amp False
    assert (code.gated_layers, code.drop_path, for_model("lcs-detr", "lcs-code").loss.class_loss) == (
        "lcs-code",
        0.1,
        "softmax-focal",
    )
    assert (code.ungated_t2a_layers, code.saliency_amplifier) == (2, True)
    assert for_model("lcs-detr").preset == "lcs-report" and for_model("lcs-detr").model.continuity_target == "features"
    assert set(PRESETS) == {"dcase2026", "lighthouse", "paper", "lcs-report", "lcs-code", "sim-cpu", "v0"}


def test_dcase2026_is_the_default_and_the_official_recipe() -> None:
    cfg = for_model("am-detr")
    assert cfg.preset == "dcase2026" and cfg.model.layout == "qd-detr"
    assert (cfg.train.epochs, cfg.train.batch_size, cfg.train.lr, cfg.train.weight_decay) == (200, 32, 1e-4, 1e-4)
    assert (cfg.train.grad_clip, cfg.train.select_metric, cfg.train.patience, cfg.train.bf16) == (
        0.1,
        "R1@0.7",
        0,
        False,
    )
    assert (cfg.data.max_text_tokens, cfg.data.normalize, cfg.data.normalize_text) == (0, True, False)
    assert (cfg.data.targets, cfg.data.max_windows, cfg.data.max_audio_frames) == ("qd-detr", 5, 300)
    assert (cfg.predict.method, cfg.predict.round_to, cfg.predict.max_seconds, cfg.predict.batch_size) == (
        "qd-detr",
        1.0,
        300.0,
        100,
    )
    assert sum(p.numel() for p in build_model(cfg.model).parameters() if p.requires_grad) == 7_123_237
    with pytest.raises(SettingsError, match="official AM-DETR"):
        resolve_config("lcs-detr", "dcase2026")


def test_an_old_config_without_the_new_keys_loads_the_old_model() -> None:
    """Run folders written before the options existed keep their architecture and protocol."""
    old = DetrConfig().to_dict()
    for section, names in {
        "model": ["t2a_activation", "span_heads", "decoder_norm", "init", "text_pool"],
        "data": ["saliency_labels", "max_windows", "pairs_without_replacement"],
    }.items():
        for name in names:
            del old[section][name]
    del old["predict"], old["preset"]
    cfg = DetrConfig.from_dict(old)
    assert (cfg.model.t2a_activation, cfg.model.span_heads, cfg.model.decoder_norm) == ("relu", "shared", False)
    assert cfg.predict.round_to == 0.0 and cfg.preset == ""


def test_settings_errors_are_usage_errors_before_training() -> None:
    with pytest.raises(SettingsError, match="lcs-detr"):
        resolve_config("am-detr", "lcs-code")
    with pytest.raises(SettingsError, match="unknown preset"):
        resolve_config("am-detr", "qd")
    with pytest.raises(SettingsError, match="selection metric"):
        resolve_config("am-detr", None, None, {}, **{"train.select_metric": "R@1"})
    with pytest.raises(SettingsError, match="hiden"):
        resolve_config("am-detr", None, None, {"model.hiden": 3})
    cfg = resolve_config("am-detr", "sim-cpu", None, {"model.hidden": 32}, **{"train.epochs": None, "train.lr": 0.01})
    assert (cfg.preset, cfg.model.hidden, cfg.train.lr, cfg.train.epochs) == ("sim-cpu", 32, 0.01, 20)


def test_train_preset_is_recorded_with_every_value(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "lcs-detr", "--data", str(toy), "--out", str(out), "--preset", "lcs-code", "--epochs", "1", "-q"]
    result = CliRunner().invoke(app, args + SMALL)
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "config.json").read_text())
    want = preset_config("lcs-detr", "lcs-code").override(
        {"model.hidden": 16, "model.ffn": 32, "model.heads": 2, "train.batch_size": 8, "train.epochs": 1}
    )
    assert saved == want.to_dict()
    assert json.loads((out / "metrics.json").read_text())["preset"] == "lcs-code"
    assert "lcs-code" in result.output


def test_a_failure_inside_training_is_not_a_usage_error(
    toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only argument problems exit with status 2; a bug deep in training stays a visible error."""
    import amr_bench_baselines.detr.train as train_module

    def broken_fit(run: object) -> None:
        raise ValueError("shapes do not match deep inside the loop")

    monkeypatch.setattr(train_module, "fit", broken_fit)
    args = ["train", "am-detr", "--data", str(toy), "--out", str(tmp_path / "r"), "--epochs", "1", "-q", *SMALL]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 2
    assert isinstance(result.exception, ValueError)


def test_cli_argument_problems_exit_2(toy: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad_preset = runner.invoke(
        app, ["train", "am-detr", "--data", str(toy), "--out", str(tmp_path / "a"), "--preset", "lcs-code"]
    )
    assert bad_preset.exit_code == 2 and "lcs-detr" in bad_preset.output
    bad_select = runner.invoke(
        app, ["train", "am-detr", "--data", str(toy), "--out", str(tmp_path / "b"), "--select", "R@1"]
    )
    assert bad_select.exit_code == 2 and "R@1" in bad_select.output
    bad_init = runner.invoke(
        app,
        ["train", "am-detr", "--data", str(toy), "--out", str(tmp_path / "c"), "--init", str(tmp_path), *SMALL],
    )
    assert bad_init.exit_code == 2 and "checkpoint" in bad_init.output
    bad_model = runner.invoke(app, ["reproduce", "xx-detr", "--data", str(toy)])
    assert bad_model.exit_code == 2 and "xx-detr" in bad_model.output


def test_published_numbers_sit_beside_the_mean_with_their_source() -> None:
    published = load_published("am-detr")
    assert published["clotho-moment"]["metrics"]["R1@0.7"] == 81.86
    assert "arXiv 2409.15672" in published["clotho-moment"]["source"]
    assert "re-split" in load_published("lcs-detr")["clotho-moment+castella"]["note"]
    root = Path("/data/clotho_moment")
    assert benchmark_for("test", root, published, None) == "clotho-moment"
    assert benchmark_for("test_unav100-subset", root, published, None) == "unav100-subset"
    assert benchmark_for("test", Path("/data/sim"), published, None) is None
    metrics = {"R1@0.5": 0.8, "R1@0.7": 0.6, "mAP": 0.5, "mAP@0.5": 0.7, "mAP@0.75": 0.4}
    per_seed = {0: {"test": metrics}, 1: {"test": {**metrics, "R1@0.7": 0.7}}}
    table = aggregate(per_seed, ["test"], published, {"test": "clotho-moment"})
    row = table["test"]["metrics"]["R1@0.7"]
    assert row["mean"] == pytest.approx(65.0) and row["std"] == pytest.approx(7.0710678)
    text = format_table("am-detr", for_model("am-detr"), [0, 1], table)
    assert "| test | R1@0.7 | 65.00 ± 7.07 | 81.86 [1] |" in text
    assert "[1] Language-based Audio Moment Retrieval (arXiv 2409.15672)" in text


@pytest.mark.slow
def test_reproduce_runs_end_to_end_on_the_simulator(tmp_path: Path) -> None:
    from amr_bench.datasets.simulate import simulate
    from amr_bench.scoring import score_records
    from amr_bench_baselines.detr.train import metrics_from_score

    data = tmp_path / "sim"
    simulate(data, recordings=40, seed=5, style="clotho-moment")
    out = tmp_path / "repro"
    args = ["reproduce", "am-detr", "--data", str(data), "--recipe", "single", "--preset", "sim-cpu", "--seeds", "0,1"]
    args += ["--out", str(out)]
    result = CliRunner().invoke(app, [*args, "-q", "--set", "train.epochs=1", *SMALL])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "reproduce.json").read_text())
    assert summary["preset"] == "sim-cpu" and summary["seeds"] == [0, 1]
    gt = [json.loads(x) for x in (data / "test.jsonl").read_text().splitlines()]
    per_seed = []
    for seed in (0, 1):
        preds = [json.loads(x) for x in (out / f"seed-{seed}" / "predictions" / "test.jsonl").read_text().splitlines()]
        assert len(preds) == len(gt)
        per_seed.append(metrics_from_score(score_records(preds, gt))["R1@0.7"])
    row = summary["table"]["test"]["metrics"]["R1@0.7"]
    assert row["mean"] == pytest.approx(100 * sum(per_seed) / 2)
    assert row["published"] is None
    assert "| test | R1@0.7 |" in (out / "reproduce.md").read_text() and "| test | R1@0.7 |" in result.output
    again = CliRunner().invoke(app, [*args, "-q", "--set", "train.epochs=1", *SMALL])
    assert again.exit_code == 2 and "exists" in again.output  # never overwritten


def test_lighthouse_rounding_and_clamp_of_predicted_windows() -> None:
    from amr_bench_baselines.detr.predict import windows_from_outputs

    spans = np.array([[0.5, 0.2], [0.503, 0.004], [0.9, 0.3]])
    scores = np.array([0.9, 0.5, 0.1])
    w = windows_from_outputs(spans, scores, frames=100, duration=98.0, top_k=10, round_to=1.0, max_seconds=80.0)
    assert w[0, :2].tolist() == [40.0, 60.0]
    assert w[1, :2].tolist() == [50.0, 51.0]  # [50.1, 50.5] rounds to an empty window: one rounding step wide
    assert w[2, :2].tolist() == [75.0, 80.0]  # [75, 105] clamped to max_seconds before the duration
    raw = windows_from_outputs(spans, scores, frames=100, duration=98.0, top_k=10)
    assert raw[1, :2].tolist() == pytest.approx([50.1, 50.5])
