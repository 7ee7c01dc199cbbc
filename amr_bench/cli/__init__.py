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
    from amr_bench.cli import codabench as _codabench  # noqa: F401  (codabench bundle/score)
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


class Terminated(BaseException):
    """SIGTERM (or SIGHUP) arrived: raised where the program is, so that every ``finally`` and
    cleanup runs (temporary files removed, store transactions rolled back) before it exits."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def install_signal_handlers() -> None:
    """SIGTERM and SIGHUP end the command like Ctrl-C does: by an exception, cleanups included
    (Python's default is to die at once, leaving temporary files behind)."""
    import signal

    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _terminate)


def main() -> None:
    """The ``amr-bench`` command: the fast path, else the full application. Ctrl-C and SIGTERM end
    it with one line on stderr (exit 130, or 128 + the signal), every temporary file removed; never
    a traceback."""
    from amr_bench.terminal import note

    install_signal_handlers()
    try:
        from amr_bench.cli.fast import run_fast

        code = run_fast(sys.argv[1:])
        if code is None:
            full_app()()
    except KeyboardInterrupt:
        note("amr-bench: interrupted (Ctrl-C); temporary files removed")
        code = 130
    except Terminated as exc:
        note(f"amr-bench: terminated (signal {exc.signum}); temporary files removed")
        code = 128 + exc.signum
    sys.exit(code)


__all__ = ["app", "full_app", "main"]
