"""amr-bench: the scorer, validator, baselines and leaderboard for audio moment retrieval.

Importing this package never imports torch; the baselines live in the ``baselines`` package and
are loaded only by the commands that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # the one place the version is written: hatch reads it ([tool.hatch.version])

if TYPE_CHECKING:
    from amr_bench.scoring import ScoreResult, score
    from amr_bench.validation import ValidationReport, validate

__all__ = ["ScoreResult", "ValidationReport", "__version__", "score", "validate"]


def __getattr__(name: str) -> Any:
    if name in ("score", "ScoreResult"):
        from amr_bench import scoring

        return getattr(scoring, name)
    if name in ("validate", "ValidationReport"):
        from amr_bench import validation

        return getattr(validation, name)
    raise AttributeError(f"module 'amr_bench' has no attribute {name!r}")
