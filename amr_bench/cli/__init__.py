"""The ``amr-bench`` command line. Each module below registers its commands on ``app``.

Commands of other installed packages (the baselines: ``features extract``, ``baseline ...``,
``train``, ``predict``) register themselves through the ``amr_bench.commands`` entry point group;
the core never imports them by name.

Building the full application (typer, click, rich, every command module, the entry points) costs
more than scoring a file of a few hundred lines, so ``main`` first offers the command line to
:mod:`amr_bench.cli.fast`, which runs a plain ``score``/``validate`` that succeeds without any of
it; everything else (help, other commands, any error) goes to the full application. ``app`` is
built on first access (``from amr_bench.cli import app``).
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

    from amr_bench.cli.app import app

COMMAND_GROUP = "amr_bench.commands"


def load_command_plugins() -> None:
    """Import every module registered under ``amr_bench.commands`` (each adds its commands)."""
    from importlib.metadata import entry_points  # 25 ms: not on the fast path

    for entry in sorted(entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        entry.load()


def full_app() -> typer.Typer:
    """The application with every command registered (imported once)."""
    from amr_bench.cli import datasets as _datasets  # noqa: F401  (datasets ..., simulate, simulate-audio)
    from amr_bench.cli import leaderboard as _leaderboard  # noqa: F401  (leaderboard/compare/demo)
    from amr_bench.cli import leaderboard_versions as _leaderboard_versions  # noqa: F401  (leaderboard versions/withdraw/restore...)
    from amr_bench.cli import scoring as _scoring  # noqa: F401  (registers validate/score/check)
    from amr_bench.cli.app import app

    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        load_command_plugins()
    return app


_plugins_loaded = False


class _CliPackage(types.ModuleType):
    """``amr_bench.cli.app`` is the application, built on first access (as it was when this
    package built it on import), even though a submodule of the same name exists."""

    @property
    def app(self) -> typer.Typer:
        return full_app()

    @app.setter
    def app(self, value: object) -> None:
        """The import system binds the submodule ``amr_bench.cli.app`` here: ``app`` stays the application."""


sys.modules[__name__].__class__ = _CliPackage


def main() -> None:
    from amr_bench.cli.fast import run_fast

    code = run_fast(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    full_app()()


__all__ = ["app", "full_app", "main"]
