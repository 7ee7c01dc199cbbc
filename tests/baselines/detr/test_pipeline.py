"""Data, checkpoints, prediction and the CLI of the DETR baselines, on a tiny dataset on disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench_baselines.detr.checkpoint import load_checkpoint, save_checkpoint
from amr_bench_baselines.detr.config import DataConfig, for_model
from amr_bench_baselines.detr.data import (
    MomentDataset,
    PairedBatchSampler,
    collate,
    frame_labels,
    jitter_windows,
    open_store,
    read_split,
)
from amr_bench_baselines.detr.model import build_model
from amr_bench_baselines.detr.predict import predict_records, windows_from_outputs
from tests.helpers.detr_data import write_toy_dataset

torch.set_num_threads(1)  # 2 shared cores: one thread is several times faster than two here

TINY_SET = [
    "--set",
    "model.hidden=16",
    "--set",
    "model.ffn=32",
    "--set",
    "model.heads=2",
    "--set",
    "model.t2a_layers=1",
    "--set",
    "model.encoder_layers=1",
    "--set",
    "model.decoder_layers=1",
    "--set",
    "train.batch_size=8",
    "--set",
    "train.lr=0.001",
]


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_toy_dataset(tmp_path_factory.mktemp("toy"), {"train": 16, "val": 6, "test": 6}, frames=30)


@pytest.fixture(scope="module")
def trained_run(toy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "am"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "am-detr",
            "--data",
            str(toy),
            "--out",
            str(out),
            "--epochs",
            "2",
            "--select",
            "R1@0.7",
            "-q",
            *TINY_SET,
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_item_layout(toy: Path) -> None:
    cfg = DataConfig(max_audio_frames=20, max_text_tokens=4)
    ds = MomentDataset(read_split(toy, "train"), open_store(toy), cfg, train=False)
    it = ds.item(0, 1)
    assert it["audio"].shape == (20, 770)
    assert np.allclose(np.linalg.norm(it["audio"][:, :768], axis=1), 1.0, atol=1e-5)
    assert np.allclose(it["audio"][:, 768:], np.stack([np.arange(20) / 20, np.arange(1, 21) / 20], 1))
    assert it["text"].shape == (4, 768) and it["negative_text"].shape == (4, 768)
    assert ((it["spans"] >= 0) & (it["spans"] <= 1)).all()
    # longer than the training length: prediction keeps the whole recording
    assert ds.item(0, None, cap=None)["audio"].shape[0] == 30


def test_frame_labels_and_jitter() -> None:
    labels = frame_labels(np.array([[2.5, 5.0], [8.0, 8.4]]), 10)
    assert labels.tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 1, 0]
    w = np.array([[10.0, 20.0]])
    rng = np.random.default_rng(0)
    moved = np.stack([jitter_windows(w, 0.1, 100.0, rng)[0] for _ in range(200)])
    assert np.all(np.abs(moved - w) <= 1.0 + 1e-9) and moved.std(0).min() > 0.3


def test_collate_masks(toy: Path) -> None:
    ds = MomentDataset(read_split(toy, "train"), open_store(toy), DataConfig(), train=True)
    b = collate([ds.item(0, 1), ds.item(1, 0)])
    assert b.audio.shape[:2] == b.audio_mask.shape and b.text.shape[:2] == b.text_mask.shape
    assert b.negative_text is not None and torch.equal(b.negative_text[0], b.text[1])


def test_paired_sampler_splits_global_batches_across_processes() -> None:
    single = [list(b) for b in PairedBatchSampler(10, 4, seed=3)]
    ranks = [[list(b) for b in PairedBatchSampler(10, 4, seed=3, rank=r, world=2)] for r in range(2)]
    assert [a + b for a, b in zip(*ranks, strict=True)] == single
    first = single[0]
    assert [p for _, p, _ in first] == [*[i for i, _, _ in first][1:], first[0][0]]  # rolled by one


def test_windows_are_seconds_clamped_sorted() -> None:
    spans = np.array([[0.5, 0.2], [0.95, 0.3], [0.1, 0.4]])
    w = windows_from_outputs(spans, np.array([0.2, 0.9, 0.5]), frames=100, duration=98.0, top_k=10)
    assert w[:, 2].tolist() == [0.9, 0.5, 0.2]
    assert w[0, :2].tolist() == pytest.approx([80.0, 98.0])  # clamped to the duration
    assert w[1, :2].tolist() == pytest.approx([0.0, 30.0])
    assert (w[:, 1] > w[:, 0]).all()


def test_checkpoint_round_trip_gives_identical_predictions(toy: Path, tmp_path: Path) -> None:
    cfg = for_model("lcs-detr").override({"model.hidden": 16, "model.ffn": 32, "model.heads": 2})
    torch.manual_seed(0)
    model = build_model(cfg.model).eval()
    ds = MomentDataset(read_split(toy, "val"), open_store(toy), cfg.data, train=False)
    before = predict_records(model, ds, with_saliency=True)
    save_checkpoint(tmp_path / "ck", model, cfg, {"seed": 0})
    assert not list((tmp_path / "ck").glob("*.pt")) and (tmp_path / "ck" / "model.safetensors").is_file()
    loaded, cfg2, meta = load_checkpoint(tmp_path / "ck")
    assert cfg2 == cfg and meta == {"seed": 0}
    assert predict_records(loaded, ds, with_saliency=True) == before


def test_train_writes_run_with_metadata(trained_run: Path) -> None:
    meta = json.loads((trained_run / "best" / "meta.json").read_text())
    assert meta["seed"] == 0 and meta["select_metric"] == "R1@0.7"
    assert meta["preset"] == "dcase2026"  # am-detr's default preset, recorded with every value
    config = json.loads((trained_run / "config.json").read_text())
    assert config["preset"] == "dcase2026" and config["train"]["select_metric"] == "R1@0.7"
    assert config["predict"] == {"round_to": 1.0, "max_seconds": 300.0, "method": "qd-detr", "batch_size": 100}
    assert set(meta["data_sha256"]) >= {"train.jsonl", "val.jsonl"}
    assert meta["amr_bench_version"] and meta["history"] and "R1@0.7" in meta["history"][0]["val"]
    assert (trained_run / "last" / "optimizer.safetensors").is_file()
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert 0.0 <= metrics["val"]["R1@0.7"] <= 1.0 and metrics["test"] is not None


def test_existing_run_is_never_overwritten(trained_run: Path, toy: Path) -> None:
    stamp = (trained_run / "best" / "model.safetensors").stat().st_mtime_ns
    result = CliRunner().invoke(
        app, ["train", "am-detr", "--data", str(toy), "--out", str(trained_run), "--epochs", "1", "-q", *TINY_SET]
    )
    assert result.exit_code == 2 and "--resume" in result.output
    assert (trained_run / "best" / "model.safetensors").stat().st_mtime_ns == stamp


def test_resume_continues_after_the_last_epoch(trained_run: Path, toy: Path, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(trained_run, run)
    result = CliRunner().invoke(
        app, ["train", "am-detr", "--data", str(toy), "--out", str(run), "--epochs", "3", "--resume", "-q", *TINY_SET]
    )
    assert result.exit_code == 0, result.output
    history = json.loads((run / "last" / "meta.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2]


def test_resume_equals_uninterrupted_training(toy: Path, tmp_path: Path) -> None:
    from amr_bench_baselines.detr.train import train_run

    cfg = for_model("am-detr").override(
        {
            "model.hidden": 16,
            "model.ffn": 32,
            "model.heads": 2,
            "model.t2a_layers": 1,
            "model.encoder_layers": 1,
            "model.decoder_layers": 1,
            "train.batch_size": 8,
            "train.epochs": 2,
        }
    )
    train_run(cfg, toy, tmp_path / "full", progress=False, test_split=None)
    train_run(cfg.override({"train.epochs": 1}), toy, tmp_path / "part", progress=False, test_split=None)
    (tmp_path / "part" / "config.json").unlink()
    train_run(cfg, toy, tmp_path / "part", resume=True, progress=False, test_split=None)
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "full" / "last" / "model.safetensors"))
    b = load_file(str(tmp_path / "part" / "last" / "model.safetensors"))
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_predict_cli_writes_a_valid_submission(trained_run: Path, toy: Path, tmp_path: Path) -> None:
    from amr_bench.validation import validate

    out = tmp_path / "sub.jsonl"
    result = CliRunner().invoke(
        app, ["predict", str(trained_run), "--data", str(toy), "--split", "test", "--out", str(out), "--saliency"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 6 and all(len(x["pred_relevant_windows"]) == 10 for x in lines)
    assert all(len(x["pred_saliency_scores"]) == 30 for x in lines)
    report = validate(out, toy / "test.jsonl")
    assert report.ok, [str(p) for p in report.errors]
    plain = tmp_path / "dcase.jsonl"
    assert (
        CliRunner()
        .invoke(app, ["predict", str(trained_run), "--data", str(toy), "--out", str(plain), "--no-scores"])
        .exit_code
        == 0
    )
    first = json.loads(plain.read_text().splitlines()[0])
    assert all(len(w) == 2 for w in first["pred_relevant_windows"])
    assert [w[:2] for w in lines[0]["pred_relevant_windows"]] == first["pred_relevant_windows"]
    again = CliRunner().invoke(app, ["predict", str(trained_run), "--data", str(toy), "--out", str(plain)])
    assert again.exit_code == 2 and "--force" in again.output


def test_cli_usage_errors(toy: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad_key = runner.invoke(
        app, ["train", "lcs-detr", "--data", str(toy), "--out", str(tmp_path / "x"), "--set", "model.hiden=3"]
    )
    assert bad_key.exit_code == 2 and "model.hiden" in bad_key.output
    bad_seeds = runner.invoke(
        app, ["train", "am-detr", "--data", str(toy), "--out", str(tmp_path / "y"), "--seeds", "a,b"]
    )
    assert bad_seeds.exit_code == 2 and "--seeds" in bad_seeds.output
    no_split = runner.invoke(app, ["train", "am-detr", "--data", str(tmp_path), "--out", str(tmp_path / "z")])
    assert no_split.exit_code == 1 and "train" in no_split.output
    not_a_run = runner.invoke(app, ["predict", str(tmp_path), "--data", str(toy), "--out", str(tmp_path / "p.jsonl")])
    assert not_a_run.exit_code == 2 and "checkpoint" in not_a_run.output


def test_seeds_write_mean_and_std(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "multi"
    result = CliRunner().invoke(
        app,
        ["train", "am-detr", "--data", str(toy), "--out", str(out), "--epochs", "1", "--seeds", "0,1", "-q", *TINY_SET],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    runs = [json.loads((out / f"seed-{s}" / "metrics.json").read_text())["val"] for s in (0, 1)]
    for key in ("R1@0.7", "mAP"):
        values = np.array([r[key] for r in runs])
        assert summary["val"][key]["mean"] == pytest.approx(values.mean())
        assert summary["val"][key]["std"] == pytest.approx(values.std(ddof=1))
    assert "±" in result.output


def test_importing_the_cli_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, amr_bench.cli; assert 'torch' not in sys.modules, 'torch imported'"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


@pytest.mark.gpu
@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs CUDA (bf16 autocast path); the same code runs on CPU above"
)
def test_bf16_training_step_on_cuda(toy: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "train",
            "am-detr",
            "--data",
            str(toy),
            "--out",
            str(tmp_path / "g"),
            "--epochs",
            "1",
            "--device",
            "cuda",
            "--set",
            "train.bf16=true",
            "-q",
            *TINY_SET,
        ],
    )
    assert result.exit_code == 0, result.output
