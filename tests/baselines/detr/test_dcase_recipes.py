"""``amr-bench reproduce am-detr`` (recipe dcase2026): the DCASE 2026 baseline's recipes beside its numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench_baselines.detr.dcase_recipes import RECIPES, aggregate, format_tables, spread
from amr_bench_baselines.detr.presets import preset_config
from amr_bench_baselines.detr.reproduce import TABLE_METRICS, load_published

torch.set_num_threads(1)

TINY = ["--set", "model.hidden=16", "--set", "model.ffn=32", "--set", "model.heads=2", "--set", "train.batch_size=8"]


def fake_runs(shift: float) -> dict[int, dict[str, dict[str, float]]]:
    """Two seeds; metric m of seed s on split ``test`` is 0.10 + 0.02 s + shift (val: + 0.05)."""
    return {
        s: {
            split: {m: 0.10 + 0.02 * s + shift + (0.05 if split == "val" else 0.0) for m in TABLE_METRICS}
            for split in ("val", "test")
        }
        for s in (0, 1)
    }


def test_spread_is_the_sample_std_and_keeps_the_population_one() -> None:
    got = spread([0.10, 0.12, 0.17])
    v = np.array([10.0, 12.0, 17.0])
    assert got["mean"] == pytest.approx(13.0)
    assert got["std"] == pytest.approx(float(v.std(ddof=1)))  # 3.6056
    assert got["std_population"] == pytest.approx(float(v.std(ddof=0)))  # 2.9439
    assert spread([0.2])["std"] == 0.0


def test_every_published_number_of_the_dcase_baseline_is_recorded() -> None:
    pub = load_published("am-detr")
    assert pub["castella"]["metrics"] == {
        "R1@0.5": 22.74,
        "R1@0.7": 10.17,
        "mAP": 10.49,
        "mAP@0.5": 21.93,
        "mAP@0.75": 8.85,
    }
    assert pub["castella"]["std"] == {"R1@0.5": 0.77, "R1@0.7": 0.86, "mAP": 0.53, "mAP@0.5": 0.57, "mAP@0.75": 0.58}
    assert pub["castella-pretrained"]["metrics"] == {
        "R1@0.5": 25.86,
        "R1@0.7": 13.85,
        "mAP": 11.74,
        "mAP@0.5": 23.14,
        "mAP@0.75": 10.54,
    }
    assert pub["castella-pretrained"]["std"] == {
        "R1@0.5": 0.74,
        "R1@0.7": 1.47,
        "mAP": 0.39,
        "mAP@0.5": 0.33,
        "mAP@0.75": 0.54,
    }
    released = pub["castella-released"]
    assert released["val_metrics"] == {
        "R1@0.5": 27.56,
        "R1@0.7": 16.19,
        "mAP": 11.44,
        "mAP@0.5": 24.02,
        "mAP@0.75": 10.26,
    }
    assert released["metrics"] == {"R1@0.5": 23.16, "R1@0.7": 10.32, "mAP": 9.11, "mAP@0.5": 20.34, "mAP@0.75": 6.96}
    note = load_published("lcs-detr")["clotho-moment+castella"]["note"]
    assert "re-split of Clotho-Moment's validation set" in note and "not a number on any public split" in note


def test_both_published_tables_sit_beside_their_own_columns() -> None:
    table = aggregate({"castella": fake_runs(0.0), "castella-pretrained": fake_runs(0.1)})
    cfg = preset_config("am-detr", "sim-cpu")
    text = format_tables(cfg, [0, 1], Path("cas"), Path("cm"), table)
    # test: ours (mean ± sample std over seeds 0, 1) | published only-CASTELLA | ours | published pre-trained | released
    assert "| R1@0.7 | 11.00 ± 1.41 | 10.17 ± 0.86 | 21.00 ± 1.41 | 13.85 ± 1.47 | 10.32 |" in text
    assert "| mAP@0.75 | 11.00 ± 1.41 | 8.85 ± 0.58 | 21.00 ± 1.41 | 10.54 ± 0.54 | 6.96 |" in text
    # val: both recipes beside the released run's validation numbers
    assert "| R1@0.5 | 16.00 ± 1.41 | 26.00 ± 1.41 | 27.56 |" in text
    assert "sample std (ddof=1)" in text and "does not say which std" in text
    for i, key in enumerate(("castella", "castella-pretrained", "castella-released"), 1):
        assert f"[{i}] {load_published('am-detr')[key]['source']}" in text
    alone = format_tables(cfg, [0, 1], Path("cas"), None, aggregate({"castella": fake_runs(0.0)}))
    assert "| R1@0.7 | 11.00 ± 1.41 | 10.17 ± 0.86 | not run | 13.85 ± 1.47 | 10.32 |" in alone
    assert "give --pretrain-data" in alone


def test_recipe_argument_errors_exit_2_before_training(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path)
    cases = [
        (["reproduce", "lcs-detr", "--data", data, "--recipe", "dcase2026"], "lcs-detr"),
        (["reproduce", "am-detr", "--data", data, "--recipe", "dcase"], "dcase2026 or single"),
        (["reproduce", "am-detr", "--data", data, "--published", "castella", "--preset", "sim-cpu"], "--published"),
        (["reproduce", "am-detr", "--data", data, "--recipe", "single", "--pretrain-data", data], "--pretrain-data"),
    ]
    for args, words in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and words in result.output, (args, result.output)


def test_missing_splits_are_named_before_anything_trains(tmp_path: Path) -> None:
    from tests.helpers.detr_data import write_toy_dataset

    data = write_toy_dataset(tmp_path / "cas", {"train": 8, "val": 4}, frames=12)
    out = tmp_path / "out"
    args = ["reproduce", "am-detr", "--data", str(data), "--pretrain-data", str(tmp_path / "cm")]
    result = CliRunner().invoke(app, [*args, "--preset", "sim-cpu", "--out", str(out), "-q"])
    assert result.exit_code == 1, result.output
    for missing in (data / "test.jsonl", tmp_path / "cm" / "train.jsonl", tmp_path / "cm" / "val.jsonl"):
        assert str(missing) in result.output
    assert not out.exists()


@pytest.mark.slow
def test_the_dcase_recipes_run_end_to_end_on_the_simulator(tmp_path: Path) -> None:
    from amr_bench.datasets.simulate import simulate
    from amr_bench.scoring import score_records
    from amr_bench_baselines.detr.train import metrics_from_score

    cas, cm = tmp_path / "cas", tmp_path / "cm"
    simulate(cas, recordings=20, seed=1, style="castella")
    simulate(cm, recordings=20, seed=2, style="clotho-moment")
    out = tmp_path / "rep"
    args = ["reproduce", "am-detr", "--data", str(cas), "--pretrain-data", str(cm), "--preset", "sim-cpu"]
    result = CliRunner().invoke(
        app, [*args, "--seeds", "0,1", "--out", str(out), "-q", "--set", "train.epochs=1", *TINY]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "reproduce.json").read_text())
    assert summary["recipes"] == [r.name for r in RECIPES] and summary["preset"] == "sim-cpu"
    for seed in (0, 1):
        # pre-training on Clotho-Moment, then a full CASTELLA run from its selected weights
        pre = out / "pretrain" / f"seed-{seed}"
        assert json.loads((pre / "config.json").read_text())["train"]["seed"] == seed
        meta = json.loads((out / "castella-pretrained" / f"seed-{seed}" / "best" / "meta.json").read_text())
        assert meta["init"] == str(pre / "best") and meta["data_root"] == str(cas)
        assert json.loads((out / "castella" / f"seed-{seed}" / "best" / "meta.json").read_text())["init"] is None
    gt = [json.loads(x) for x in (cas / "test.jsonl").read_text().splitlines()]
    values = []
    for seed in (0, 1):
        path = out / "castella-pretrained" / f"seed-{seed}" / "predictions" / "test.jsonl"
        values.append(metrics_from_score(score_records([json.loads(x) for x in path.read_text().splitlines()], gt)))
    row = summary["table"]["castella-pretrained"]["test"]["R1@0.5"]
    mine = np.array([100 * v["R1@0.5"] for v in values])
    assert row["mean"] == pytest.approx(mine.mean()) and row["std"] == pytest.approx(mine.std(ddof=1))
    assert row["std_population"] == pytest.approx(mine.std(ddof=0))
    assert (out / "castella" / "seed-1" / "predictions" / "val.jsonl").is_file()
    printed = result.output
    assert "| R1@0.7 |" in printed and "10.17 ± 0.86" in printed and "13.85 ± 1.47" in printed and "16.19" in printed
    assert (out / "reproduce.md").read_text() in printed


def test_lcs_detrs_73_08_is_printed_with_its_re_split_note() -> None:
    from amr_bench_baselines.detr.reproduce import aggregate as aggregate_single
    from amr_bench_baselines.detr.reproduce import format_table

    published = load_published("lcs-detr")
    metrics = {m: 0.5 for m in TABLE_METRICS}
    table = aggregate_single({0: {"test": metrics}}, ["test"], published, {"test": "clotho-moment+castella"})
    text = format_table("lcs-detr", preset_config("lcs-detr", "lcs-code"), [0], table)
    assert "| test | R1@0.7 | 50.00 ± 0.00 | 73.08 [1] |" in text
    assert "not a number on any public split" in text and "clotho_moment_valid_" in text
