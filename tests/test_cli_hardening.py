"""The command line a person expects, and the input-hardening bugs each pinned by a test.

Outputs checked before any work and written atomically, never over an input; strict numeric
options; safe CSV and names; ``score``/``validate``/``leaderboard add`` without ``--gt``; hints
that come first; "did you mean".
"""

from __future__ import annotations

import csv
import json
import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.datasets.registry import find_split, splits
from amr_bench.errors import UsageError
from amr_bench.names import check_name
from amr_bench.outputs import atomic_writer, check_output_file, spreadsheet_safe, write_csv_atomic
from tests.cli_fixtures import GT_LINES, RUN_LINES
from tests.cli_fixtures import write_jsonl as _jsonl

runner = CliRunner()


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    return {"gt": _jsonl(tmp_path / "gt.jsonl", GT_LINES), "run": _jsonl(tmp_path / "run.jsonl", RUN_LINES)}


def invoke(args: list[Any]) -> Any:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def _no_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    import amr_bench.scoring

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("scored before the output was checked")

    monkeypatch.setattr(amr_bench.scoring, "score", refuse)


# --- outputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["-o", "--per-query"])
def test_score_output_problems_are_found_before_scoring(files, tmp_path, monkeypatch, option, dev_full) -> None:
    _no_scoring(monkeypatch)
    base = ["score", files["run"], "--gt", files["gt"], option]
    for target, needle in [
        (tmp_path, "is a folder"),
        (tmp_path / "missing" / "dir" / "m.json", "does not exist"),
        (dev_full, "not a regular file"),
    ]:
        result = invoke([*base, target])
        assert result.exit_code == 2, result.output
        assert option in result.output and needle in result.output
    assert stat.S_ISCHR(os.stat(dev_full).st_mode)


@pytest.mark.parametrize("option, victim", [("-o", "run"), ("--per-query", "gt"), ("-o", "gt")])
def test_score_never_writes_over_an_input(files, tmp_path, option, victim) -> None:
    before = files[victim].read_bytes()
    result = invoke(["score", files["run"], "--gt", files["gt"], option, files[victim]])
    assert result.exit_code == 2 and "input" in result.output
    assert files[victim].read_bytes() == before
    link = tmp_path / "other-name.jsonl"  # the same file under another name
    os.symlink(files[victim], link)
    assert invoke(["score", files["run"], "--gt", files["gt"], option, link]).exit_code == 2
    assert files[victim].read_bytes() == before


def test_score_output_and_per_query_must_differ(files, tmp_path) -> None:
    out = tmp_path / "same.txt"
    result = invoke(["score", files["run"], "--gt", files["gt"], "-o", out, "--per-query", out])
    assert result.exit_code == 2 and "--per-query" in result.output


def test_outputs_are_replaced_atomically_not_rewritten_in_place(files, tmp_path) -> None:
    out = tmp_path / "m.json"
    out.write_text("old")
    keep = tmp_path / "hard-link-to-old"
    os.link(out, keep)  # an in-place write would change the linked file too
    assert invoke(["score", files["run"], "--gt", files["gt"], "-q", "-o", out]).exit_code == 0
    assert json.loads(out.read_text())["counts"]["scored_queries"] == 3
    assert keep.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt.jsonl", "hard-link-to-old", "m.json", "run.jsonl"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path) -> None:
    target = tmp_path / "t.txt"
    target.write_text("before")
    with pytest.raises(RuntimeError), atomic_writer(target) as f:
        f.write("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_check_output_file_refuses_a_path_under_a_file(tmp_path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(UsageError, match=r"is a file, not a folder"):
        check_output_file(f / "out.json", "-o")


def test_write_clean_is_checked_first_and_never_the_checked_file(tmp_path, files, dev_full) -> None:
    before = files["gt"].read_bytes()
    for target, needle in [(files["gt"], "input"), (tmp_path, "is a folder"), (dev_full, "regular file")]:
        result = invoke(["datasets", "check", files["gt"], "--write-clean", target])
        assert result.exit_code == 2 and "--write-clean" in result.output and needle in result.output
    assert files["gt"].read_bytes() == before
    assert stat.S_ISCHR(os.stat(dev_full).st_mode)


@pytest.mark.parametrize("command", [["leaderboard", "render", "--out"], ["demo"], ["simulate"]])
def test_folder_outputs_refuse_a_file(files, tmp_path, command) -> None:
    db = tmp_path / "s.sqlite"
    assert (
        invoke(
            ["leaderboard", "add", files["run"], "--gt", f"b={files['gt']}", "--team", "t", "--system", "s", "--db", db]
        )
    ).exit_code == 0
    before = files["run"].read_bytes()
    args = [*command, files["run"]] + (["--db", db] if command[0] == "leaderboard" else [])
    result = invoke(args)
    assert result.exit_code == 2 and "not a folder" in result.output
    assert files["run"].read_bytes() == before


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("edges", ["30,10", "-5", "", "10,10", "nan", "inf", "10,,30", "0,10", "ten"])
def test_length_edges_must_be_strictly_increasing_positive_finite(files, edges) -> None:
    result = invoke(["score", files["run"], "--gt", files["gt"], "--length-edges", edges])
    assert result.exit_code == 2 and "--length-edges" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["leaderboard", "rank", "--seed", "-1"],
        ["leaderboard", "render", "--seed", "-1"],
        ["compare", "{run}", "{run}", "--gt", "{gt}", "--seed", "-1"],
        ["compare", "{run}", "{run}", "--gt", "{gt}", "--permutations", "0"],
        ["compare", "{run}", "{run}", "--gt", "{gt}", "--permutations", "-5"],
        ["compare", "{run}", "{run}", "--gt", "{gt}", "--resamples", "100000000"],
        ["leaderboard", "rank", "--resamples", "100000000"],
    ],
)
def test_seeds_permutations_and_resamples_are_bounded(files, args) -> None:
    result = invoke([a.format(run=files["run"], gt=files["gt"]) for a in args])
    assert result.exit_code == 2
    option = next(a for a in args if a in ("--seed", "--permutations", "--resamples"))
    assert option in result.output


def test_resample_matrix_larger_than_the_memory_cap_is_refused_not_a_memory_error() -> None:
    from amr_bench import stats

    with pytest.raises(stats.ResampleLimitError, match="use at most"):
        stats.resample_counts(6649, 100_000, 0)
    with pytest.raises(ValueError):
        stats.signflip_pvalues([[1.0, 0.0], [0.0, 1.0]], [(0, 1)], n_permutations=0)


@pytest.mark.parametrize(
    "expected, needle",
    [
        ('{"brief": {"MR-full-R1@0.7": NaN}}', "NaN"),
        ('{"brief": {"MR-full-R1@0.7": Infinity}}', "Infinity"),
        ('{"brief": {"MR-full-R1@0.7": 1' + "0" * 400 + "}}", "beyond the range"),
        ('{"brief": {"MR-full-R1@0.7": 1e400}}', "not finite"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"a":' * 100 + "1" + "}" * 100, "levels deep"),
        ("[]", "nothing to compare"),
        ("{}", "nothing to compare"),
        ("true", "nothing to compare"),
    ],
)
def test_check_expect_refuses_non_numbers_and_nothing_to_compare(files, tmp_path, expected, needle) -> None:
    metrics = tmp_path / "m.json"
    assert invoke(["score", files["run"], "--gt", files["gt"], "-q", "-o", metrics]).exit_code == 0
    exp = tmp_path / "expect.json"
    exp.write_text(expected)
    result = invoke(["check", metrics, "--expect", exp])
    assert result.exit_code == 1 and needle in result.output and str(exp) in result.output


def test_check_states_the_tolerance_unit(files, tmp_path) -> None:
    metrics = tmp_path / "m.json"
    assert invoke(["score", files["run"], "--gt", files["gt"], "-q", "-o", metrics]).exit_code == 0
    doc = json.loads(metrics.read_text())
    exp = tmp_path / "e.json"
    exp.write_text(json.dumps({"brief": doc["brief"]}))
    assert "within 0.01 percentage points" in invoke(["check", metrics, "--expect", exp]).output
    exp.write_text(json.dumps({"raw": {"mIoU@1": doc["raw"]["mIoU@1"] + 0.5}}))
    moved = invoke(["check", metrics, "--expect", exp])
    assert moved.exit_code == 1 and "tolerance 0.01 fraction" in moved.output
    assert "percentage points" in invoke(["check", "--help"]).output


# --- text in outputs ----------------------------------------------------------------------------

HOSTILE_QIDS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "a\rb", "c\nd", 'say "hi", ok', "plain"]


def test_per_query_csv_is_spreadsheet_safe_and_round_trips(tmp_path) -> None:
    gt = [
        {"qid": q, "query": "x", "duration": 30, "vid": f"v{i}", "relevant_windows": [[1, 5]]}
        for i, q in enumerate(HOSTILE_QIDS)
    ]
    run = [{"qid": q, "pred_relevant_windows": [[1, 5]]} for q in HOSTILE_QIDS]
    gt_path, run_path = _jsonl(tmp_path / "gt.jsonl", gt), _jsonl(tmp_path / "run.jsonl", run)
    out = tmp_path / "pq.csv"
    assert invoke(["score", run_path, "--gt", gt_path, "-q", "--per-query", out]).exit_code == 0
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert len(rows) == len(HOSTILE_QIDS) + 1
    qids = [r[0] for r in rows[1:]]
    assert qids == [spreadsheet_safe(q) for q in HOSTILE_QIDS]
    assert all(not q.startswith(("=", "+", "-", "@", "\t", "\r")) for q in qids)
    assert [r[rows[0].index("R1@0.5")] for r in rows[1:]] == ["1"] * len(HOSTILE_QIDS)


NO_SURROGATES = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@given(st.lists(st.lists(NO_SURROGATES, min_size=2, max_size=2), max_size=6))
def test_csv_cells_round_trip(tmp_path_factory, rows) -> None:
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    write_csv_atomic(path, ["a", "b"], rows)
    with open(path, newline="", encoding="utf-8") as f:
        back = list(csv.reader(f))
    assert back == [["a", "b"]] + [[spreadsheet_safe(c) for c in row] for row in rows]


def test_csv_with_a_lone_surrogate_is_written_escaped(tmp_path) -> None:
    path = write_csv_atomic(tmp_path / "t.csv", ["qid"], [["a\ud800b"]])
    assert "a\\ud800b" in path.read_text("utf-8")


@pytest.mark.parametrize(
    "name", ["", "  ", "a/b", "a\\b", "a\x1bb", "line\nbreak", "tab\there", "\ud800", "zero\u200bwidth", ".", "x" * 101]
)
def test_bad_team_and_system_names_are_refused_before_anything_is_stored(files, tmp_path, name) -> None:
    db = tmp_path / "s.sqlite"
    for option in ("--team", "--system"):
        args = ["leaderboard", "add", files["run"], "--gt", f"b={files['gt']}", "--team", "t", "--system", "s"]
        args[args.index(option) + 1] = name
        result = invoke([*args, "--db", db])
        assert result.exit_code == 2 and option in result.output
    assert not db.exists()


REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


@given(st.text(min_size=1, max_size=30))
def test_names_with_control_characters_or_slashes_are_refused(text) -> None:
    bad = any(c in "/\\" or unicodedata.category(c) in REFUSED_CATEGORIES for c in text)
    try:
        check_name(text)
        accepted = True
    except UsageError:
        accepted = False
    if bad or text != text.strip() or text in (".", ".."):
        assert not accepted
    if accepted:
        text.encode("utf-8")  # never a lone surrogate


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=100))
def test_plain_names_are_accepted(text) -> None:
    assert check_name(text) == unicodedata.normalize("NFC", text)  # accepted, in the form names are compared in


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
