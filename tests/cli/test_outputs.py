"""Outputs: checked before any work, written atomically, never over an input; the text written is
spreadsheet-safe and team/system/benchmark names are plain text. Each bug pinned by a test."""

import csv
import json
import os
import stat
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amr_bench.errors import UsageError
from amr_bench.names import check_name
from amr_bench.outputs import atomic_writer, check_output_file, spreadsheet_safe, write_csv_atomic
from tests.helpers.cli import invoke, refuse_scoring
from tests.helpers.cli import write_jsonl as _jsonl

# --- outputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["-o", "--per-query"])
def test_score_output_problems_are_found_before_scoring(files, tmp_path, monkeypatch, option, dev_full) -> None:
    refuse_scoring(monkeypatch)
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
