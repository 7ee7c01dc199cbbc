"""The command line a person expects: ``score``/``validate``/``leaderboard add`` without ``--gt``,
hints that come first, "did you mean", one wording."""

import os
import re
from pathlib import Path

import pytest

from amr_bench.datasets.registry import find_split, splits
from tests.helpers.cli import invoke
from tests.helpers.cli import write_jsonl as _jsonl

# --- the command line a person expects ---------------------------------------------------------


def _split_path(name: str) -> Path:
    entry = find_split(name)
    assert entry is not None
    return entry.path


def _submission_for(split: str, path: Path) -> Path:
    from amr_bench.jsonl import read_jsonl

    records = read_jsonl(_split_path(split)).records
    return _jsonl(path, [{"qid": r["qid"], "pred_relevant_windows": [[0, 5, 1.0]]} for r in records])


@pytest.mark.parametrize("entry", splits(), ids=[e.name for e in splits()])
def test_score_without_gt_finds_every_bundled_split(tmp_path, entry) -> None:
    sub = _submission_for(entry.name, tmp_path / "run.jsonl")
    command = "score" if entry.has_windows else "validate"
    result = invoke([command, sub, *(["-o", tmp_path / "m.json"] if entry.has_windows else [])])
    assert result.exit_code == 0, result.output
    assert f"all {entry.queries:,} qids of {sub} match {entry.name}" in result.output
    assert "ground truth:" not in invoke([command, sub, "-q"]).output  # --quiet: the choice is not printed


def test_validate_and_leaderboard_add_without_gt(tmp_path) -> None:
    sub = _submission_for("castella/val", tmp_path / "run.jsonl")
    assert "match castella/val" in invoke(["validate", sub]).output
    db = tmp_path / "s.sqlite"
    result = invoke(["leaderboard", "add", sub, "--team", "t", "--system", "s", "--db", db])
    assert result.exit_code == 0 and "match castella/val" in result.output


def test_no_split_or_several_splits_are_refused_with_the_candidates(tmp_path, monkeypatch) -> None:
    from amr_bench.jsonl import read_jsonl

    records = read_jsonl(_split_path("castella/val")).records
    partial = _jsonl(
        tmp_path / "part.jsonl", [{"qid": r["qid"], "pred_relevant_windows": [[0, 5]]} for r in records[:-2]]
    )
    result = invoke(["score", partial])
    assert result.exit_code == 2 and "--gt is needed" in result.output
    assert "castella/val: 350 of the submission's 350 qids (split has 352)" in result.output
    # a user dataset holding the same queries as castella/val: two exact matches, no guess
    root = tmp_path / "copy"
    root.mkdir()
    (root / "val.jsonl").write_bytes(_split_path("castella/val").read_bytes())
    monkeypatch.setenv("AMR_BENCH_DATASETS", str(tmp_path / "datasets.json"))
    assert invoke(["datasets", "register", "mycopy", root]).exit_code == 0
    full = _submission_for("castella/val", tmp_path / "full.jsonl")
    result = invoke(["score", full])
    assert result.exit_code == 2 and "castella/val" in result.output and "mycopy/val" in result.output


def test_wrong_split_is_diagnosed_before_the_per_line_errors(tmp_path) -> None:
    sub = _submission_for("castella/val", tmp_path / "run.jsonl")
    for command in ("score", "validate"):
        result = invoke([command, sub, "--gt", "castella/test"])
        assert result.exit_code == 1
        out = result.output
        assert "hint: wrong split?" in out and "try --gt castella/val" in out
        assert out.index("hint: wrong split?") < out.index(f"{sub}:1: error")


def test_swapped_files_are_named(files) -> None:
    result = invoke(["score", files["gt"], "--gt", files["run"]])
    assert result.exit_code == 1
    assert "look swapped" in result.output
    assert result.output.index("look swapped") < result.output.index("error")


@pytest.mark.parametrize(
    "args, suggestion",
    [
        (["score", "{run}", "--gt", "castela/val"], "castella/val"),
        (["datasets", "download", "castela", "--root", "{tmp}"], "castella"),
        (["leaderboard", "rank", "--db", "{db}", "--metric", "R1@07"], "R1@0.7"),
        (["leaderboard", "rank", "--db", "{db}", "--baseline", "t/ss"], "t/s"),
        (["leaderboard", "rank", "--db", "{db}", "--dataset", "bech"], "bench"),
        (["simulate", "{tmp}/sim", "--style", "castela"], "castella"),
    ],
)
def test_did_you_mean(files, tmp_path, args, suggestion) -> None:
    db = tmp_path / "s.sqlite"
    add = ["leaderboard", "add", files["run"], "--gt", f"bench={files['gt']}", "--team", "t", "--system", "s"]
    assert invoke([*add, "--db", db]).exit_code == 0
    result = invoke([a.format(run=files["run"], db=db, tmp=tmp_path) for a in args])
    assert result.exit_code == 2 and f"did you mean {suggestion!r}?" in result.output, result.output


def test_one_wording_for_gt() -> None:
    from amr_bench.cli.app import GT_HELP

    def flat(text: str) -> str:
        return re.sub(r"[\s\u2500-\u257f]+", "", text)

    commands = (["score"], ["validate"], ["compare"], ["leaderboard", "add"], ["leaderboard", "ingest"])
    for command in (*commands, ["baseline", "prior"]):
        assert flat(GT_HELP) in flat(invoke([*command, "--help"]).output), command


def test_leaderboard_add_without_gt_names_a_registered_split_after_it(files, tmp_path, monkeypatch) -> None:
    root = tmp_path / "mine"
    root.mkdir()
    (root / "test.jsonl").write_bytes(files["gt"].read_bytes())
    monkeypatch.setenv("AMR_BENCH_DATASETS", str(tmp_path / "datasets.json"))
    assert invoke(["datasets", "register", "mine", root]).exit_code == 0
    db = tmp_path / "s.sqlite"
    added = invoke(["leaderboard", "add", files["run"], "--team", "t", "--system", "s", "--db", db])
    assert added.exit_code == 0 and "match mine/test" in added.output
    assert "== mine/test" in invoke(["leaderboard", "rank", "--db", db, "--resamples", "100"]).output


@pytest.mark.parametrize("name, ok", [("dcase2026-eval", True), ("mine/test", True), ("a/b/c", False), ("/x", False)])
def test_benchmark_names(files, tmp_path, name, ok) -> None:
    args = ["leaderboard", "add", files["run"], "--gt", f"{name}={files['gt']}", "--team", "t", "--system", "s"]
    result = invoke([*args, "--db", tmp_path / "s.sqlite"])
    assert result.exit_code == (0 if ok else 2), result.output


def test_the_mission_command_end_to_end() -> None:
    """``amr-bench score submission.jsonl`` as written, in a real process."""
    import subprocess
    import sys
    from importlib import resources

    run = resources.files("amr_bench") / "data" / "reference_runs" / "qddetr_castella_val_preds.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-m", "amr_bench", "score", str(run)], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "ground truth: castella/val (all 352 qids" in proc.stderr
    assert "16.19" in proc.stdout
