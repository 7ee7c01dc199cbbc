"""Problems found in input files, and the exceptions that carry them to the CLI.

Every problem names the file and the 1-based line it was found on, so a person can act on it:
``run.jsonl:12: error: pred_relevant_windows[3]: start 12.0 >= end 11.5``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about one place in a file (``line`` is None for whole-file findings)."""

    path: str
    line: int | None
    message: str
    severity: Severity = "error"
    code: str = ""  # a short kind (``duplicate-qid``) used to group and summarise problems

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.severity}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class AmrBenchError(Exception):
    """Base class of the errors the CLI turns into a message and an exit status."""

    exit_code = 1


class InputError(AmrBenchError):
    """Input files are invalid; ``problems`` lists every error and warning found."""

    def __init__(self, problems: Iterable[Problem], summary: str | None = None) -> None:
        self.problems = sorted(problems, key=problem_order)
        n_err = sum(p.is_error for p in self.problems)
        super().__init__(summary or f"{n_err} error(s) in the input")


class UsageError(AmrBenchError):
    """The command was called wrongly (an unknown dataset name, a missing option value...)."""

    exit_code = 2


def problem_order(p: Problem) -> tuple[str, int, int]:
    """File, then line (whole-file findings last), errors before warnings."""
    return (p.path, p.line if p.line is not None else 1 << 62, 0 if p.is_error else 1)


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'castella/val'?)"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
