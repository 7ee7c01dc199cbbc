"""The typer application every command module registers itself on.

Commands stay thin: parse options, call the library, print. Library errors (``AmrBenchError``)
become a message on stderr and an exit status (1 invalid input, 2 usage), never a traceback.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable, TypeVar

import typer

from amr_bench.errors import AmrBenchError, InputError

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


def report_problems(exc: InputError, limit: int | None = None) -> None:
    shown = exc.problems if limit is None else exc.problems[:limit]
    for p in shown:
        err(str(p))
    if limit is not None and len(exc.problems) > limit:
        err(f"... and {len(exc.problems) - limit} more")


def handles_errors(fn: F) -> F:
    """Turn library errors into a message and an exit status instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            report_problems(exc)
            err(f"error: {exc}")
            raise typer.Exit(exc.exit_code) from None
        except AmrBenchError as exc:
            err(f"error: {exc}")
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]
