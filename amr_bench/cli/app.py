"""The typer application every command module registers itself on.

Commands stay thin: parse options, call the library, print. Library errors (``AmrBenchError``)
become a message on stderr and an exit status (1 invalid input, 2 usage), never a traceback;
so do operating-system errors (a disk that fills up, a permission that changes while running)
and input nested too deeply to process.
"""

from __future__ import annotations

import functools
import sys
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from amr_bench.errors import AmrBenchError, InputError, Problem

app = typer.Typer(
    name="amr-bench",
    help="Score, validate and rank audio moment retrieval systems (DCASE 2026 Task 6).",
    epilog="Example: amr-bench score run.jsonl   (the ground truth is found from the qids; or --gt castella/test)",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])

GT_HELP = (
    "Ground truth: a bundled DATASET/SPLIT (castella/test), a registered NAME/SPLIT, a dataset folder's "
    "ROOT/SPLIT or a JSON Lines file."
)
GT_AUTO_HELP = GT_HELP + " Omitted: the split whose qids are exactly the submission's."
SEED_HELP = "Random seed of the resamples (a non-negative integer; same seed, same numbers)."
RESAMPLES_HELP = "Bootstrap resamples (100 to 100,000; memory grows with resamples x queries)."
METRIC_HELP = "Ranking metric: R1@0.5 ... R1@0.95, mAP@0.5 ... mAP@0.95 or mAP."


def _show_version(value: bool) -> None:
    if value:
        from amr_bench import __version__

        print(f"amr-bench {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", is_eager=True, callback=_show_version
    ),
) -> None:
    """Score, validate and rank audio moment retrieval systems (DCASE 2026 Task 6)."""
    for stream in (sys.stdout, sys.stderr):  # text the terminal cannot encode is escaped, never a crash
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def err(message: str) -> None:
    """Print one message to stderr. Every character a terminal would act on (escape sequences,
    carriage returns, right-to-left overrides, zero-width characters: a zip member name or YAML key
    chosen by someone else) is escaped (``\\x1b``), and so is text the terminal cannot encode (a lone
    surrogate). With stderr closed the message is dropped, never printed to stdout."""
    from amr_bench.terminal import note

    note(message)


def say(message: str) -> None:
    """Print one line to stdout with the same escaping as :func:`err`."""
    from amr_bench.terminal import printable

    print(printable(message))


PER_KIND_SHOWN = 10


def print_problems(problems: list[Problem], limit: int = PER_KIND_SHOWN) -> None:
    """Every error and warning, at most ``limit`` of each kind, with a count of the rest."""
    shown: dict[tuple[str, str], int] = defaultdict(int)
    for p in problems:
        kind = (p.severity, p.code or p.message)
        shown[kind] += 1
        if shown[kind] <= limit:
            err(str(p))
    for (severity, code), n in shown.items():
        if n > limit:
            err(
                f"... and {n - limit} more {severity}(s) of kind {code!r} (`amr-bench validate` "
                "lists them all with --all)"
            )


def handles_errors(fn: F) -> F:
    """Turn library errors into a message and an exit status instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            print_problems(exc.problems)
            err(f"error: {exc}")
            raise typer.Exit(exc.exit_code) from None
        except AmrBenchError as exc:
            err(f"error: {exc}")
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:
            from amr_bench.outputs import describe_os_error

            err(f"error: {describe_os_error(exc)}")
            raise typer.Exit(1) from None
        except RecursionError:
            err("error: the input is nested too deeply to process")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
