"""The typer application every command module registers itself on.

Commands stay thin: parse options, call the library, print. Library errors (``AmrBenchError``)
become a message on stderr and an exit status (1 invalid input, 2 usage), never a traceback.
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
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


def err(message: str) -> None:
    print(message, file=sys.stderr)


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

    return wrapper  # type: ignore[return-value]
