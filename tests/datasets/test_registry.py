"""The registry: bundled files match their sha256, every split loads as ground truth and scores
100 against itself, user datasets resolve without code changes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.datasets.registry import (
    dataset_info,
    find_split,
    register_user_dataset,
    resolve_ground_truth,
    sha256_file,
    splits,
)
from amr_bench.errors import UsageError

runner = CliRunner()
ALL = splits()
SCORABLE = [e for e in ALL if e.has_windows]


@pytest.mark.parametrize("entry", ALL, ids=lambda e: e.name)
def test_bundled_file_matches_registry(entry):
    assert sha256_file(entry.path) == entry.sha256
    with open(entry.path, "rb") as f:
        assert sum(1 for line in f if line.strip()) == entry.queries


@pytest.mark.parametrize("entry", ALL, ids=lambda e: e.name)
def test_every_dataset_has_source_licence_and_citation(entry):
    info = dataset_info(entry.dataset)
    assert info["citation"] and info["durations"] and "licence_note" in info
    assert info["features"]["frame_convention"].startswith("frame i covers [i, i+1)")
    dl = info["download"]
    # honest: either named files with a source, or an explicit note saying what is not known
    assert (dl.get("files") and dl.get("files_source")) or dl.get("files_note")


@pytest.mark.parametrize("entry", ALL, ids=lambda e: e.name)
def test_every_bundled_split_validates_as_ground_truth(entry):
    from amr_bench.groundtruth import load_ground_truth

    gt = load_ground_truth(entry.name)
    assert len(gt) == entry.queries
    assert gt.has_windows == entry.has_windows


def _self_submission(records: list[dict]) -> list[dict]:
    out = []
    for r in records:
        windows = [w for w in r["relevant_windows"] if 0 < w[1] - w[0] <= 1500]
        out.append({"qid": r["qid"], "pred_relevant_windows": [[*w, 1.0 - 1e-3 * i] for i, w in enumerate(windows)]})
    return out


@pytest.mark.parametrize("entry", SCORABLE, ids=lambda e: e.name)
def test_ground_truth_scored_against_itself_is_perfect(entry):
    from amr_bench.scoring import score_records

    records = [json.loads(line) for line in entry.path.read_text(encoding="utf-8").splitlines()]
    result = score_records(_self_submission(records), entry.name)
    assert set(result.full["MR-R1"].values()) == {100.0}
    pq = result.per_query
    # mAP uses the first 10 windows only: a query with n > 10 windows reaches recall 10/n at
    # precision 1, so its AP is exactly 10/n; every other query is perfect.
    expected = np.minimum(1.0, 10.0 / pq["n_gt"].to_numpy())
    np.testing.assert_allclose(pq["mAP"].to_numpy(), expected, rtol=0, atol=1e-12)
    if (pq["n_gt"] <= 10).all():
        assert set(result.full["MR-mAP"].values()) == {100.0}


def test_unknown_spec_is_a_usage_error_listing_splits():
    with pytest.raises(UsageError, match="castella/val"):
        resolve_ground_truth("nope/val")


def test_dataset_folder_split_resolves(tmp_path):
    (tmp_path / "test.jsonl").write_text("{}\n")
    path, entry = resolve_ground_truth(f"{tmp_path}/test")
    assert path == tmp_path / "test.jsonl" and entry is None
    assert find_split("castella/val") is not None


def test_user_registry_names_a_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("AMR_BENCH_DATASETS", str(tmp_path / "reg.json"))
    data = tmp_path / "mine"
    data.mkdir()
    (data / "val.jsonl").write_text("{}\n")
    result = runner.invoke(app, ["datasets", "register", "mine", str(data)])
    assert result.exit_code == 0, result.output
    assert resolve_ground_truth("mine/val")[0] == (data / "val.jsonl").resolve()
    listed = runner.invoke(app, ["datasets", "list", "--json"])
    assert json.loads(listed.stdout)["user"]["mine"]["root"] == str(data.resolve())
    with pytest.raises(UsageError):
        register_user_dataset("castella", data)


def test_register_refuses_a_folder_without_splits(tmp_path, monkeypatch):
    monkeypatch.setenv("AMR_BENCH_DATASETS", str(tmp_path / "reg.json"))
    result = runner.invoke(app, ["datasets", "register", "x", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a dataset folder" in result.output


def test_broken_user_registry_is_a_usage_error(tmp_path, monkeypatch):
    reg = tmp_path / "reg.json"
    reg.write_text('{"datasets": {"a": 3}}')
    monkeypatch.setenv("AMR_BENCH_DATASETS", str(reg))
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 2
    assert str(reg) in result.output


def test_list_shows_every_split_verified(monkeypatch, tmp_path):
    monkeypatch.setenv("AMR_BENCH_DATASETS", str(tmp_path / "none.json"))
    result = runner.invoke(app, ["datasets", "list", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)["bundled"]
    assert [r["split"] for r in rows] == [e.name for e in ALL]
    assert all(r["verified"] for r in rows)
