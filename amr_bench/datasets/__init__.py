"""Datasets: the registry of bundled ground truth, feature stores, downloads and the simulator."""

from amr_bench.datasets.registry import SplitEntry, find_split, resolve_ground_truth, splits

__all__ = ["SplitEntry", "find_split", "resolve_ground_truth", "splits"]
