"""Datasets: the registry of bundled ground truth, feature stores, downloads and the simulator.

The names below are imported from their modules on first use (PEP 562), so that importing one
module of this package (the registry, on every ``score``) does not import the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "FeatureStore": "amr_bench.datasets.features",
    "frames_to_seconds": "amr_bench.datasets.features",
    "seconds_to_frames": "amr_bench.datasets.features",
    "load_split": "amr_bench.datasets.local",
    "local_splits": "amr_bench.datasets.local",
    "SplitEntry": "amr_bench.datasets.registry",
    "find_split": "amr_bench.datasets.registry",
    "resolve_ground_truth": "amr_bench.datasets.registry",
    "splits": "amr_bench.datasets.registry",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)
