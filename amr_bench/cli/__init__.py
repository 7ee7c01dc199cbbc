"""The ``amr-bench`` command line. Each module below registers its commands on ``app``.

Commands of other installed packages (the baselines: ``features extract``, ``baseline ...``,
``train``, ``predict``) register themselves through the ``amr_bench.commands`` entry point group;
the core never imports them by name.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from amr_bench.cli import datasets as _datasets  # noqa: F401  (datasets ..., simulate, simulate-audio)
from amr_bench.cli import leaderboard as _leaderboard  # noqa: F401  (leaderboard/compare/demo)
from amr_bench.cli import organiser as _organiser  # noqa: F401  (leaderboard versions/withdraw/restore...)
from amr_bench.cli import scoring as _scoring  # noqa: F401  (registers validate/score/check)
from amr_bench.cli.app import app

COMMAND_GROUP = "amr_bench.commands"


def load_command_plugins() -> None:
    """Import every module registered under ``amr_bench.commands`` (each adds its commands)."""
    for entry in sorted(entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        entry.load()


load_command_plugins()


def main() -> None:
    app()


__all__ = ["app", "main"]
