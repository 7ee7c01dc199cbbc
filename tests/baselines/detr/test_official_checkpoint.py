"""Official DCASE 2026 baseline checkpoints in and out (``amr-bench predict FILE.pth``, ``train --init``,
``export-official``), and the safe loader's refusals."""

from __future__ import annotations

import json
import pickle
import shutil
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.errors import InputError
from amr_bench_baselines.detr.official_checkpoint import (
    export_official,
    load_official_model,
    read_official,
)
from amr_bench_baselines.detr.presets import preset_config
from tests.helpers.official_qddetr import DATASET, MODEL, read_json, read_jsonl, rule_state_dict


def fake_easydict_module() -> types.ModuleType:
    """A stand-in for the ``easydict`` package: an ``EasyDict`` that pickles as the real one does
    (a dict subclass whose keys are also attributes: items, then the attribute dict)."""
    module = types.ModuleType("easydict")

    class EasyDict(dict):  # type: ignore[type-arg]
        def __init__(self, d: dict[str, Any] | None = None, **kwargs: Any) -> None:
            super().__init__()
            for k, v in {**(d or {}), **kwargs}.items():
                setattr(self, k, v)

        def __setattr__(self, name: str, value: Any) -> None:
            if isinstance(value, dict) and not isinstance(value, EasyDict):
                value = EasyDict(value)
            super().__setattr__(name, value)
            super().__setitem__(name, value)

        __setitem__ = __setattr__  # type: ignore[assignment]

    EasyDict.__module__ = "easydict"
    EasyDict.__qualname__ = "EasyDict"
    module.EasyDict = EasyDict  # type: ignore[attr-defined]
    return module


def official_options() -> dict[str, Any]:
    """The options of the official config.yml as train.py keeps them (the oracle's config + the rest)."""
    opt = dict(read_json("config.json"))
    opt.update(
        seed=2023,
        n_epoch=200,
        bsz=32,
        eval_bsz=100,
        lr_drop=400,
        model_name="qd_detr",
        ctx_mode="audio_tef",
        results_dir="results",
        ckpt_filepath="results/best_checkpoint.pth",
        dset_name="castella",
        train_log_txt_formatter="{time_str} [Epoch] {epoch:03d} [Loss] {loss_str}\n",
        nested={"a": [1, 2.5, "x"]},
    )
    return opt


def save_official(path: Path, state: dict[str, Any], opt: dict[str, Any] | None) -> Path:
    """``torch.save`` as the official train.py does, with ``opt`` an (imitation) easydict.EasyDict;
    the fake module is gone from ``sys.modules`` afterwards, so loading cannot import it."""
    module = fake_easydict_module()
    sys.modules["easydict"] = module
    try:
        model = torch.nn.Linear(2, 2)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 400)
        payload: dict[str, Any] = {
            "model": state,
            "optimizer": optimizer.state_dict(),
            "lr_scheduler": scheduler.state_dict(),
            "epoch": 41,
        }
        if opt is not None:
            payload["opt"] = module.EasyDict(opt)
        torch.save(payload, path)
    finally:
        del sys.modules["easydict"]
    return path


@pytest.fixture(scope="module")
def official_pth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_official(
        tmp_path_factory.mktemp("official") / "best_checkpoint.pth", rule_state_dict(), official_options()
    )


def test_reads_the_official_layout_without_importing_easydict(official_pth: Path) -> None:
    ckpt = read_official(official_pth)
    assert "easydict" not in sys.modules
    assert ckpt.epoch == 41 and set(ckpt.state) == set(read_json("weights.json")["state_dict"])
    assert type(ckpt.options) is dict and ckpt.options["hidden_dim"] == 256
    assert ckpt.options["nested"] == {"a": [1, 2.5, "x"]} and type(ckpt.options["nested"]) is dict
    _model, cfg, meta = load_official_model(official_pth)
    assert cfg.preset == "dcase2026" and cfg.train.seed == 2023 and cfg.predict.batch_size == 100
    assert meta["epoch"] == 41


def test_predict_cli_on_an_official_checkpoint_gives_the_official_predictions(
    official_pth: Path, tmp_path: Path
) -> None:
    out = tmp_path / "p.jsonl"
    result = CliRunner().invoke(
        app, ["predict", str(official_pth), "--data", str(DATASET), "--split", "train", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert read_jsonl(out) == read_jsonl(MODEL / "predictions.jsonl")


def test_options_decide_the_configuration(tmp_path: Path) -> None:
    """A checkpoint of another size reads its size from ``opt``; without ``opt``, from the shapes."""
    cfg = preset_config("am-detr", "dcase2026").override({"model.hidden": 64, "model.ffn": 128, "model.heads": 4})
    from amr_bench_baselines.detr.model import build_model

    state = build_model(cfg.model).state_dict()
    opt = {**official_options(), "hidden_dim": 64, "dim_feedforward": 128, "nheads": 4}
    _, got, _ = load_official_model(save_official(tmp_path / "small.pth", state, opt))
    assert (got.model.hidden, got.model.ffn, got.model.heads) == (64, 128, 4)
    _, shapes_only, _ = load_official_model(save_official(tmp_path / "bare.pth", state, None))
    assert (shapes_only.model.hidden, shapes_only.model.ffn) == (64, 128)
    with pytest.raises(InputError, match="span_loss_type='ce' is not supported"):
        load_official_model(save_official(tmp_path / "ce.pth", state, {**opt, "span_loss_type": "ce"}))


class Payload:
    """Runs code when unpickled (writes a marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


@pytest.mark.parametrize("container", ["torch", "pickle"])
def test_a_malicious_checkpoint_is_refused_before_anything_runs(tmp_path: Path, container: str) -> None:
    marker = tmp_path / "ran.txt"
    path = tmp_path / "evil.pth"
    if container == "torch":
        torch.save({"model": {"w": torch.zeros(1)}, "opt": Payload(marker)}, path)
    else:  # a bare pickle, as torch.load also reads
        path.write_bytes(pickle.dumps({"model": {}, "opt": Payload(marker)}, protocol=2))
    with pytest.raises(InputError, match="refused") as info:
        read_official(path)
    assert info.value.problems[0].message.endswith(("it names builtins.exec", "it names exec"))
    assert not marker.exists()
    result = CliRunner().invoke(
        app, ["predict", str(path), "--data", str(DATASET), "--split", "train", "--out", str(tmp_path / "p.jsonl")]
    )
    assert result.exit_code == 1 and "refused" in result.output and "Traceback" not in result.output
    assert not marker.exists() and not (tmp_path / "p.jsonl").exists()


@pytest.mark.parametrize(
    "content",
    [b"junk\n", b"", b"\x80\x02K\x01.", b"PK\x03\x04broken", bytes(range(256)) * 4]
    + [np.random.default_rng(seed).bytes(512) for seed in range(8)],
)
def test_any_file_that_is_not_a_checkpoint_is_refused_with_a_message(tmp_path: Path, content: bytes) -> None:
    """Whatever torch's unpickler raises on a file that is not a checkpoint (KeyError, IndexError ...,
    seen on the 5 bytes ``junk\n``) is the same refusal, never a traceback."""
    junk = tmp_path / "junk.pth"
    junk.write_bytes(content)
    with pytest.raises(InputError, match=r"not a readable torch checkpoint|refused"):
        read_official(junk)
    out = tmp_path / "p.jsonl"
    result = CliRunner().invoke(
        app, ["predict", str(junk), "--data", str(DATASET), "--split", "train", "--out", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert "junk.pth" in result.output and "Traceback" not in result.output and not out.exists()


def test_not_a_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pth"
    junk.write_text("not a checkpoint")
    with pytest.raises(InputError, match="not a readable torch checkpoint"):
        read_official(junk)
    wrong = tmp_path / "wrong.pth"
    torch.save({"model": {"w": torch.zeros(3)}}, wrong)
    with pytest.raises(InputError, match="do not fit the official network"):
        load_official_model(wrong)


def test_export_loads_as_the_official_evaluate_does_and_round_trips(official_pth: Path, tmp_path: Path) -> None:
    model, cfg, _ = load_official_model(official_pth)
    out = export_official(model, cfg, tmp_path / "exported.pth", 41)
    raw = torch.load(out, map_location="cpu", weights_only=True)  # no allow-list needed: plain dicts only
    assert list(raw["model"]) == list(read_json("weights.json")["state_dict"])  # official names, official order
    fresh, _, _ = load_official_model(out)
    for name, tensor in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], tensor)
    assert raw["opt"]["hidden_dim"] == 256 and raw["opt"]["span_loss_type"] == "l1"


def test_train_init_from_an_official_checkpoint_then_export(official_pth: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATASET, data)
    shutil.copy(data / "train.jsonl", data / "val.jsonl")
    run = tmp_path / "run"
    runner = CliRunner()
    args = ["train", "am-detr", "--data", str(data), "--out", str(run), "--epochs", "1", "--lr", "0", "-q"]
    result = runner.invoke(app, [*args, "--init", str(official_pth)])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "config.json").read_text())["preset"] == "dcase2026"
    # lr 0: the weights stay the official ones, so the run predicts the official windows
    out = tmp_path / "p.jsonl"
    result = runner.invoke(app, ["predict", str(run), "--data", str(data), "--split", "train", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert read_jsonl(out) == read_jsonl(MODEL / "predictions.jsonl")
    exported = tmp_path / "again.pth"
    result = runner.invoke(app, ["export-official", str(run), "--out", str(exported)])
    assert result.exit_code == 0, result.output
    out2 = tmp_path / "p2.jsonl"
    result = runner.invoke(app, ["predict", str(exported), "--data", str(data), "--split", "train", "--out", str(out2)])
    assert result.exit_code == 0 and read_jsonl(out2) == read_jsonl(MODEL / "predictions.jsonl")
    # an official checkpoint cannot initialise a model of another layout
    result = runner.invoke(
        app,
        [
            "train",
            "am-detr",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "r2"),
            "--preset",
            "lighthouse",
            "--epochs",
            "1",
            "-q",
            "--init",
            str(official_pth),
        ],
    )
    assert result.exit_code == 2 and "none of its tensors fit" in result.output


def test_export_says_which_config_yml_options_the_official_evaluate_needs(tmp_path: Path) -> None:
    """The official evaluate.py builds its network from its config.yml, not from the checkpoint:
    a model with 4 heads (the same tensor shapes as 8) loads there without a complaint and predicts
    something else unless config.yml says ``nheads: 4``. Export names every such option, and warns
    about settings the official code has no option for."""
    from amr_bench_baselines.detr.checkpoint import save_checkpoint
    from amr_bench_baselines.detr.model import build_model

    runner = CliRunner()
    stock = preset_config("am-detr", "dcase2026")
    cases = {
        "stock": stock,
        "heads": stock.override({"model.heads": 4, "predict.round_to": 2.0}),
        "foreign": stock.override({"data.normalize": False}),
    }
    outputs = {}
    for name, cfg in cases.items():
        save_checkpoint(tmp_path / name, build_model(cfg.model), cfg, {"epoch": 3})
        result = runner.invoke(app, ["export-official", str(tmp_path / name), "--out", str(tmp_path / f"{name}.pth")])
        assert result.exit_code == 0, result.output
        outputs[name] = result.output
    assert "config.yml" not in outputs["stock"].replace("evaluate.py", "") and "warning" not in outputs["stock"]
    assert "nheads: 4    (config.yml: 8)" in outputs["heads"]
    assert "clip_length: 2.0    (config.yml: 1.0)" in outputs["heads"]
    assert "dim_feedforward" not in outputs["heads"]
    assert "warning" in outputs["foreign"] and "data.normalize=False" in outputs["foreign"]
    raw = torch.load(tmp_path / "heads.pth", map_location="cpu", weights_only=True)
    assert raw["opt"]["nheads"] == 4 and raw["epoch"] == 3
