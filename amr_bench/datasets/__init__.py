"""Datasets: the registry of bundled ground truth, feature stores, downloads and the simulator.

Heavier parts (download, simulators) are imported from their modules when needed.
"""

from amr_bench.datasets.features import FeatureStore, frames_to_seconds, seconds_to_frames
from amr_bench.datasets.local import load_split, local_splits
from amr_bench.datasets.registry import SplitEntry, find_split, resolve_ground_truth, splits

__all__ = [
    "FeatureStore",
    "SplitEntry",
    "find_split",
    "frames_to_seconds",
    "load_split",
    "local_splits",
    "resolve_ground_truth",
    "seconds_to_frames",
    "splits",
]
