"""What the per-query explorer of a system page needs: each query's top windows, kept in the store.

The store keeps per-query *scores*, not the submitted windows. So that a system page can draw a
query's ground truth and the system's answer on one timeline, the first :data:`TOP_WINDOWS`
windows of every scored query (in the submitted order, which is the order the scorer ranks them
in) are stored beside the scores as per-query columns ``top.start.<j>`` / ``top.end.<j>``,
NaN where a query has fewer windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

TOP_WINDOWS = 5
START = "top.start.{}"
END = "top.end.{}"


def window_columns(report: Any, qids: Sequence[Any], k: int = TOP_WINDOWS) -> dict[str, np.ndarray]:
    """Per-query columns of the first ``k`` submitted windows, aligned with ``qids`` (scored order)."""
    sub, gt = report.submission, report.ground_truth
    row_of_gt = np.full(len(gt.qids), -1, dtype=np.int64)
    matched = np.flatnonzero(sub.gt_rows >= 0)
    row_of_gt[sub.gt_rows[matched]] = matched
    rows = row_of_gt[np.array([gt.index[q] for q in qids], dtype=np.int64)]
    start, end, _, valid = sub.windows.take(rows).padded(k)
    start = np.where(valid, start, np.nan)
    end = np.where(valid, end, np.nan)
    out: dict[str, np.ndarray] = {}
    for j in range(k):
        out[START.format(j)] = start[:, j].astype(np.float64)
        out[END.format(j)] = end[:, j].astype(np.float64)
    return out


def window_column_names(k: int = TOP_WINDOWS) -> list[str]:
    return [name.format(j) for j in range(k) for name in (START, END)]
