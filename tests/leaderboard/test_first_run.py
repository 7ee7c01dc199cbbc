"""A first run without guessing: reading commands find the store, errors name the command that works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from amr_bench.cli import app
from tests.leaderboard.test_exports import add_named

runner = CliRunner()


def test_rank_and_render_find_the_demo_store_when_it_is_the_only_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_named(tmp_path / "amr-bench-demo" / "leaderboard.sqlite", "t", "s", 10)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AMR_BENCH_DB", raising=False)
    res = runner.invoke(app, ["leaderboard", "rank", "--resamples", "200"])
    assert res.exit_code == 0, res.output
    assert "t/s" in res.stdout and "using the result store amr-bench-demo/leaderboard.sqlite" in res.stderr
    res = runner.invoke(app, ["leaderboard", "render", "--resamples", "200", "--out", "site"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "site" / "index.html").is_file()
    res = runner.invoke(app, ["leaderboard", "versions"])
    assert res.exit_code == 0 and "t/s" in res.stdout


def test_the_environment_variable_names_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_named(tmp_path / "elsewhere.sqlite", "t", "s", 10)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AMR_BENCH_DB", str(tmp_path / "elsewhere.sqlite"))
    res = runner.invoke(app, ["leaderboard", "rank", "--resamples", "200"])
    assert res.exit_code == 0 and "t/s" in res.stdout, res.output


def test_no_store_is_an_error_naming_the_command_that_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AMR_BENCH_DB", raising=False)
    res = runner.invoke(app, ["leaderboard", "rank"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "--db amr-bench-demo/leaderboard.sqlite" in res.output and "AMR_BENCH_DB" in res.output
    for name in ("a", "b"):
        add_named(tmp_path / name / "leaderboard.sqlite", "t", "s", 10)
    res = runner.invoke(app, ["leaderboard", "render"])
    assert res.exit_code == 2 and "a/leaderboard.sqlite, b/leaderboard.sqlite" in res.output


def test_rank_help_has_one_example() -> None:
    res = runner.invoke(app, ["leaderboard", "rank", "--help"], terminal_width=200)
    assert res.exit_code == 0
    assert len(re.findall(r"Example", res.output)) == 1, res.output
