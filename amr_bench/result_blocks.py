"""The blocks of a score result, typed, and the one spelling of metric names.

A :class:`~amr_bench.scoring.ScoreResult` holds the official scorer's two blocks (``brief`` and
``full``: percentages rounded to two decimals, under the official keys, kept as they are for
parity) and amr-bench's own blocks (``raw``, ``breakdown``, ``counts``, ``signature``: unrounded
fractions). The types below say what each block holds; :func:`flat_metrics` gives every headline
number under one spelling, the one the per-query table, the leaderboard and ``--metric`` use:

========================  =================================================  ==========================
name                      meaning                                            official key (``brief``)
========================  =================================================  ==========================
``"R1@0.7"``              recall at rank 1, IoU >= 0.7 (one per θ)          ``"MR-full-R1@0.7"``
``"R5@0.7"``              a hit among the first five windows (one per θ)    (none)
``"mAP@0.5"``             mean over queries of AP@0.5 (one per θ)            ``"MR-full-mAP@0.5"``
``"mAP"``                 mean of the ten mAP@θ                              ``"MR-full-mAP"``
``"mIoU@1"``              mean IoU of the first window                       (none)
========================  =================================================  ==========================

θ runs over ``0.5, 0.55, ..., 0.95`` (:data:`amr_bench.metrics.THRESHOLD_KEYS`). The semantics of
every metric: ``docs/scorer.md``.
"""

from __future__ import annotations

from typing import TypedDict

from amr_bench.metrics import THRESHOLD_KEYS

#: The official scorer's ``brief`` block: ``{"MR-full-R1@0.5": 41.19, ...}`` (percent, 2 decimals).
Brief = TypedDict(
    "Brief",
    {
        "MR-full-R1@0.5": float,
        "MR-full-R1@0.7": float,
        "MR-full-mAP": float,
        "MR-full-mAP@0.5": float,
        "MR-full-mAP@0.75": float,
    },
)
#: The official scorer's ``full`` block: ``{"MR-mAP": {"0.5": ..., "average": ...}, "MR-R1": {"0.5": ...}}``.
Full = TypedDict("Full", {"MR-mAP": dict[str, float], "MR-R1": dict[str, float]})

#: Unrounded fractions over a set of queries: ``{"R1": {"0.7": 0.23, ...}, "mAP": {..., "average": ...}, ...}``.
MetricBlock = TypedDict(
    "MetricBlock",
    {"mAP": dict[str, float], "R1": dict[str, float], "R5": dict[str, float], "mIoU@1": float, "queries": int},
)


class Counts(TypedDict):
    """How many queries and windows were read, scored and dropped by the length filter."""

    ground_truth_queries: int
    scored_queries: int
    dropped_queries: int
    ground_truth_windows: int
    dropped_ground_truth_windows: int
    submission_lines: int
    submission_windows: int
    tie_sensitive_queries: int


class Signature(TypedDict):
    """Everything the numbers depend on: scorer version, metric definition, edges, both files' sha256."""

    scorer: str
    metric: str
    length_edges: list[float]
    ground_truth: str
    ground_truth_sha256: str
    submission_sha256: str


#: Every name :func:`flat_metrics` returns, in a fixed order.
METRIC_NAMES: tuple[str, ...] = (
    *(f"R1@{t}" for t in THRESHOLD_KEYS),
    *(f"mAP@{t}" for t in THRESHOLD_KEYS),
    "mAP",
    *(f"R5@{t}" for t in THRESHOLD_KEYS),
    "mIoU@1",
)


def flat_metrics(block: MetricBlock) -> dict[str, float]:
    """Every number of a metric block under its one spelling (fractions in [0, 1]).

    Args:
        block: a ``raw`` block of a score result, or one bucket of its ``breakdown`` that has
            queries.

    Returns:
        ``{"R1@0.5": ..., "mAP@0.5": ..., "mAP": ..., "R5@0.5": ..., "mIoU@1": ...}`` in the order
        of :data:`METRIC_NAMES`.

    Example:
        >>> block = {"R1": {t: 0.5 for t in THRESHOLD_KEYS}, "R5": {t: 1.0 for t in THRESHOLD_KEYS},
        ...          "mAP": {**{t: 0.25 for t in THRESHOLD_KEYS}, "average": 0.25}, "mIoU@1": 0.6, "queries": 2}
        >>> m = flat_metrics(block)
        >>> m["R1@0.7"], m["mAP@0.5"], m["mAP"], m["mIoU@1"]
        (0.5, 0.25, 0.25, 0.6)
        >>> list(m) == list(METRIC_NAMES)
        True
    """
    out = {f"R1@{t}": block["R1"][t] for t in THRESHOLD_KEYS}
    out |= {f"mAP@{t}": block["mAP"][t] for t in THRESHOLD_KEYS}
    out["mAP"] = block["mAP"]["average"]
    out |= {f"R5@{t}": block["R5"][t] for t in THRESHOLD_KEYS}
    out["mIoU@1"] = block["mIoU@1"]
    return out
