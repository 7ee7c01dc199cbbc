"""The baseline commands (``baseline ...``, ``features extract``): their particular error cases, each
bug pinned by a test. :mod:`tests.cli.test_hostile_arguments` runs every command against the generic
hostile arguments."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from amr_bench.errors import UsageError
from tests.helpers.cli import GT_LINES, invoke, make_fifo
from tests.helpers.cli import write_jsonl as _jsonl


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    """A dataset folder with two splits (no features: nothing here gets as far as reading them)."""
    root = tmp_path / "data"
    root.mkdir()
    _jsonl(root / "test.jsonl", GT_LINES)
    _jsonl(root / "val.jsonl", GT_LINES)
    return root


# --- submissions and settings files of the baselines ---------------------------------------------


def test_write_submission_never_replaces_a_special_file(tmp_path: Path) -> None:
    """It used to write a temporary file and rename it over the target: as root, over /dev/full."""
    from amr_bench_baselines.zeroshot.submission import write_submission

    fifo = make_fifo(tmp_path)
    with pytest.raises(UsageError, match="not a regular file"):
        write_submission([{"qid": 1, "pred_relevant_windows": [[0, 1]]}], fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_write_submission_failing_half_way_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    from amr_bench_baselines.zeroshot.submission import write_submission

    out = tmp_path / "run.jsonl"
    out.write_text("old\n")
    records = [{"qid": 1, "pred_relevant_windows": [[0, 1]]}, {"qid": object()}]  # the second cannot be written
    with pytest.raises(TypeError):
        write_submission(records, out)
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.jsonl"]


def test_sliding_clap_settings_are_replaced_atomically_not_rewritten_in_place(tmp_path: Path) -> None:
    from amr_bench_baselines.zeroshot.sliding_clap import SlidingSettings

    path = tmp_path / "s.json"
    path.write_text("old")
    keep = tmp_path / "hard-link-to-old"
    os.link(path, keep)  # an in-place write would change the linked file too
    SlidingSettings(window=4, threshold=0.2, median=3).save(path)
    assert SlidingSettings.load(path).window == 4
    assert keep.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard-link-to-old", "s.json"]


@pytest.mark.parametrize(
    "command",
    [
        ["baseline", "jointproj"],
        ["baseline", "clap-cosine"],
        ["baseline", "sliding-clap"],
        ["baseline", "tune", "sliding-clap"],
    ],
)
def test_baseline_out_is_never_a_split_of_the_dataset_folder(
    command: list[str], data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--out DATA/val.jsonl`` while answering (or tuning on) another split would destroy a ground
    truth; it is refused before the split is even read."""
    import amr_bench_baselines.zeroshot.curves

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read the split before checking --out")

    monkeypatch.setattr(amr_bench_baselines.zeroshot.curves, "load_split_data", refuse)
    victim = data / ("test.jsonl" if command[1] == "tune" else "val.jsonl")  # tune uses val by default
    before = victim.read_bytes()
    result = invoke([*command, "--data", data, "--out", victim])
    assert result.exit_code == 2, result.output
    assert "--out" in result.output and f"split file {victim.name} of --data" in result.output
    assert victim.read_bytes() == before


def test_a_missing_data_folder_is_named_as_such_before_the_outputs_in_it(tmp_path: Path) -> None:
    """``tune`` used to report its default ``--out`` (DATA/sliding-clap.settings.json) instead."""
    result = invoke(["baseline", "tune", "sliding-clap", "--data", tmp_path / "nowhere"])
    assert result.exit_code == 2 and "--data" in result.output and "--out" not in result.output
    result = invoke(["baseline", "clap-cosine", "--data", tmp_path / "nowhere", "--out", tmp_path / "o.jsonl"])
    assert result.exit_code == 2 and "--data" in result.output and "does not exist" in result.output


def test_features_extract_refuses_a_file_as_out_before_loading_a_model(data: Path) -> None:
    target = data / "test.jsonl"
    before = target.read_bytes()
    result = invoke(["features", "extract", data, "--out", target, "--random-weights"])
    assert result.exit_code == 2 and "--out" in result.output and "not a folder" in result.output
    assert target.read_bytes() == before


# --- baseline prior -------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["file", "root/split"])
def test_prior_never_writes_over_its_ground_truth(spec: str, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The submission used to replace the --gt file; also when --gt names it as ROOT/SPLIT."""
    import amr_bench_baselines.zeroshot.prior

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("fitted before checking --out")

    monkeypatch.setattr(amr_bench_baselines.zeroshot.prior, "fit_prior", refuse)
    victim = data / "test.jsonl"
    before = victim.read_bytes()
    gt = str(victim) if spec == "file" else f"{data}/test"
    result = invoke(["baseline", "prior", "--fit", data / "val.jsonl", "--gt", gt, "--out", victim])
    assert result.exit_code == 2, result.output
    assert "--out" in result.output and "--gt ground truth" in result.output
    assert victim.read_bytes() == before


def test_prior_names_the_option_of_a_mistyped_split(tmp_path: Path) -> None:
    result = invoke(
        ["baseline", "prior", "--fit", "castella/trian", "--gt", "castella/val", "--out", tmp_path / "p.jsonl"]
    )
    assert result.exit_code == 2
    assert "--fit: " in result.output and "did you mean 'castella/train'?" in result.output
    result = invoke(["baseline", "prior", "--fit", "castella/val", "--gt", "castella/tset", "--out", tmp_path / "p"])
    assert result.exit_code == 2 and "--gt: " in result.output


def test_prior_warns_when_fitted_on_the_split_it_answers(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    same = invoke(["baseline", "prior", "--fit", data / "test.jsonl", "--gt", data / "test.jsonl", "--out", out])
    assert same.exit_code == 0 and "warning: --fit and --gt are the same ground truth" in same.output
    other = invoke(["baseline", "prior", "--fit", "castella/val", "--gt", data / "test.jsonl", "--out", out])
    assert other.exit_code == 0 and "warning" not in other.output
    assert len(out.read_text().splitlines()) == len(GT_LINES)


def test_prior_method_did_you_mean(tmp_path: Path) -> None:
    args = ["baseline", "prior", "--fit", "castella/val", "--gt", "castella/test", "--out", tmp_path / "p"]
    result = invoke([*args, "--method", "smaple"])
    assert result.exit_code == 2 and "--method" in result.output and "did you mean 'sample'?" in result.output


def test_prior_on_a_blind_split_says_it_is_not_scored(tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    result = invoke(["baseline", "prior", "--fit", "castella/val", "--gt", "dcase2026/eval", "--out", out])
    assert result.exit_code == 0 and "not scored: dcase2026/eval has no relevant windows" in result.output
    assert len(out.read_text().splitlines()) == 177
