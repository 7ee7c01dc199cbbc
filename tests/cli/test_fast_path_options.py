"""The fast path reads the options of ``score``/``validate`` from their one declaration.

A new option on either command is picked up without touching :mod:`amr_bench.cli.fast`: the fast
path knows its spellings and hands the command line to the full application whenever it appears.
"""

from __future__ import annotations

import ast
import textwrap

import pytest
import typer

from amr_bench.cli import app, fast
from amr_bench.cli.fast import FAST_PARAMS, _options_of, declared_options, parse_args


def _click_options(command: str) -> dict[str, tuple[str, bool]]:
    params = typer.main.get_command(app).commands[command].params  # type: ignore[attr-defined]
    return {
        spelling: (p.name, not p.is_flag)
        for p in params
        if p.param_type_name == "option"
        for spelling in [*p.opts, *p.secondary_opts]
    }


@pytest.mark.parametrize("command", fast.COMMANDS)
def test_the_declared_options_are_the_ones_typer_builds(command: str) -> None:
    assert declared_options(command) == _click_options(command)


@pytest.mark.parametrize("command", fast.COMMANDS)
def test_every_option_the_fast_path_does_not_run_hands_over(command: str) -> None:
    options = declared_options(command)
    assert options is not None
    base = [command, "run.jsonl", "--gt", "castella/val", "-q"]
    assert parse_args(base) is not None
    for spelling, (param, takes_value) in options.items():
        if param in FAST_PARAMS[command]:
            continue
        args = [*base, spelling, *(["x"] if takes_value else [])]
        assert parse_args(args) is None, args


def test_a_new_option_is_picked_up_from_the_declaration() -> None:
    source = textwrap.dedent(
        """
        def score(
            submission: Path = typer.Argument(...),
            gt: str | None = typer.Option(None, "--gt"),
            tie_order: str = typer.Option("official", help="..."),
            strict: bool = typer.Option(False, help="..."),
        ) -> None: ...
        """
    )
    func = ast.parse(source).body[0]
    assert isinstance(func, ast.FunctionDef)
    assert _options_of(func) == {
        "--gt": ("gt", True),
        "--tie-order": ("tie_order", True),
        "--strict": ("strict", False),
        "--no-strict": ("strict", False),
    }


def test_an_unreadable_declaration_hands_over(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    declared_options.cache_clear()
    monkeypatch.setattr(fast, "_DECLARATIONS", tmp_path / "missing.py")
    try:
        assert parse_args(["score", "run.jsonl", "--gt", "castella/val", "-q"]) is None
    finally:
        declared_options.cache_clear()
