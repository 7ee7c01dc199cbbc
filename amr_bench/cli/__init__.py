"""The ``amr-bench`` command line. Each module below registers its commands on ``app``."""

from __future__ import annotations

from amr_bench.cli import baselines as _baselines  # noqa: F401  (features extract, baseline ...)
from amr_bench.cli import datasets as _datasets  # noqa: F401  (datasets ..., simulate, simulate-audio)
from amr_bench.cli import leaderboard as _leaderboard  # noqa: F401  (leaderboard/compare/demo)
from amr_bench.cli import scoring as _scoring  # noqa: F401  (registers validate/score/check)
from amr_bench.cli import train as _train  # noqa: F401  (train am-detr|lcs-detr, predict)
from amr_bench.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
