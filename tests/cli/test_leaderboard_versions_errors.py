"""The organiser's commands (``leaderboard versions|withdraw|restore|remove-version``): their
particular error cases, each bug pinned by a test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.cli import GT_LINES, RUN_LINES, invoke
from tests.helpers.cli import write_jsonl as _jsonl


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    """A dataset folder with two splits (no features: nothing here gets as far as reading them)."""
    root = tmp_path / "data"
    root.mkdir()
    _jsonl(root / "test.jsonl", GT_LINES)
    _jsonl(root / "val.jsonl", GT_LINES)
    return root


# --- the organiser's commands ---------------------------------------------------------------------


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    gt = _jsonl(tmp_path / "gt.jsonl", GT_LINES)
    run = _jsonl(tmp_path / "run.jsonl", RUN_LINES)
    db = tmp_path / "s.sqlite"
    added = invoke(["leaderboard", "add", run, "--gt", f"bench={gt}", "--team", "T", "--system", "s", "--db", db])
    assert added.exit_code == 0, added.output
    return db


def test_rank_with_every_system_withdrawn_says_so(store: Path) -> None:
    """It used to say "--dataset: no results for None" (no --dataset was given)."""
    assert invoke(["leaderboard", "withdraw", "T/s", "--reason", "left", "--db", store]).exit_code == 0
    result = invoke(["leaderboard", "rank", "--db", store, "--resamples", "100"])
    assert result.exit_code == 2
    assert "None" not in result.output and "nothing to rank" in result.output and "versions" in result.output


def test_a_missing_version_lists_the_stored_ones(store: Path) -> None:
    """It used to say "version 9 exists on no benchmark; name one with --benchmark"."""
    result = invoke(["leaderboard", "withdraw", "T/s", "--version", "9", "--reason", "x", "--db", store])
    assert result.exit_code == 2
    assert "--version 9: no such version" in result.output and "its versions: 1 " in result.output
    assert "--benchmark" not in result.output


def test_mistyped_system_and_benchmark_get_a_did_you_mean(store: Path) -> None:
    result = invoke(["leaderboard", "withdraw", "T/S", "--reason", "x", "--db", store])
    assert result.exit_code == 2 and "did you mean 'T/s'?" in result.output
    args = ["leaderboard", "remove-version", "T/s", "--version", "1", "--benchmark", "bnech", "--reason", "x"]
    result = invoke([*args, "--db", store])
    assert result.exit_code == 2 and "did you mean 'bench'?" in result.output


def test_restoring_a_version_of_a_withdrawn_system_says_how_to_restore_it(store: Path) -> None:
    assert invoke(["leaderboard", "withdraw", "T/s", "--reason", "left", "--db", store]).exit_code == 0
    result = invoke(["leaderboard", "restore", "T/s", "--version", "1", "--reason", "back", "--db", store])
    assert result.exit_code == 0 and "the whole system T/s is withdrawn" in result.output
    assert "amr-bench leaderboard restore" in result.output


def test_organiser_commands_say_the_store_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite"
    for args in (["versions"], ["audit"], ["withdraw", "T/s", "--reason", "x"]):
        result = invoke(["leaderboard", *args, "--db", missing])
        assert result.exit_code == 2 and f"--db {missing}: no result store there" in result.output
        help_text = re.sub(r"[\s\u2500-\u257f]+", "", invoke(["leaderboard", args[0], "--help"]).output)
        assert "createdonfirstuse" not in help_text and "anexistingone" in help_text
    assert not missing.exists()
