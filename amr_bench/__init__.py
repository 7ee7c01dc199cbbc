"""amr-bench: the scorer, validator, baselines and leaderboard for audio moment retrieval.

The public API, importable from here (each loaded on first use, so ``import amr_bench`` is cheap):

* :func:`score`, :func:`score_records` and :class:`ScoreResult` (:mod:`amr_bench.scoring`): a
  submission file or in-memory records, validated and scored;
* :func:`evaluate` (:mod:`amr_bench.arrays`): windows held in lists or numpy arrays, no files;
* :func:`validate` and :class:`ValidationReport` (:mod:`amr_bench.validation`);
* :mod:`amr_bench.stats`: bootstrap intervals, paired tests, Holm, significance tiers;
* every submodule by attribute (``amr_bench.scoring``, ``amr_bench.metrics``, ...).

Importing this package never imports torch; the baselines live in the ``baselines`` package and
are loaded only by the commands that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # the one place the version is written: hatch reads it ([tool.hatch.version])

if TYPE_CHECKING:
    from amr_bench.arrays import evaluate
    from amr_bench.scoring import ScoreResult, score, score_records
    from amr_bench.validation import ValidationReport, validate

__all__ = ["ScoreResult", "ValidationReport", "__version__", "evaluate", "score", "score_records", "validate"]

_HOME = {
    "score": "scoring",
    "score_records": "scoring",
    "ScoreResult": "scoring",
    "validate": "validation",
    "ValidationReport": "validation",
    "evaluate": "arrays",
}


def __getattr__(name: str) -> Any:
    """The public functions and classes, and every submodule, imported on first access."""
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
