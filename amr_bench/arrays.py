"""Scoring windows given as Python lists or numpy arrays: no files, no qids (mir_eval's style).

:func:`evaluate` takes, query by query in the same order, the reference (ground-truth) windows and
the estimated (predicted) windows, and returns every metric under its one spelling
(:data:`amr_bench.result_blocks.METRIC_NAMES`), as fractions. The metrics are the official
scorer's (``docs/scorer.md``), computed by the same code as :func:`amr_bench.score`; what the file
path adds (validation of every line as ``FILE:LINE`` problems, qid matching, warnings, breakdowns,
the signature, the per-query table) is left out: here a malformed window is a ``ValueError``
naming the query's index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from amr_bench.metrics import GT_MAX_LENGTH, filter_ground_truth, per_query_scores
from amr_bench.ragged import RaggedWindows
from amr_bench.result_blocks import flat_metrics


def evaluate(reference: Sequence[ArrayLike], estimated: Sequence[ArrayLike]) -> dict[str, float]:
    """Score predicted windows against reference windows, one query per position.

    Args:
        reference: for each query, its ground-truth windows as ``[[start, end], ...]`` in seconds
            (a list of lists or an ``(k, 2)`` array). Windows whose length is not in (0, 1500] are
            dropped, as the official scorer drops them; a query left with none is not scored.
        estimated: for each query, its predicted windows ranked best first, ``[[start, end], ...]``
            or ``[[start, end, score], ...]`` (at least one window per query). R1 takes the first
            window; AP takes the first 10, sorted by score when there are scores.

    Returns:
        ``{"R1@0.5": ..., ..., "mAP@0.5": ..., "mAP": ..., "R5@0.5": ..., "mIoU@1": ...}``:
        fractions in [0, 1], means over the scored queries.

    Raises:
        ValueError: the two sequences differ in length; a query's windows are not numbers of the
            right shape, are not finite, start before 0 or end before they start; an estimated
            query has no window; or no query has a reference window to score against.

    Example:
        >>> from amr_bench import evaluate
        >>> reference = [[[10, 20]], [[0, 5], [30, 40]]]
        >>> estimated = [[[11, 20, 0.9], [0, 60, 0.1]], [[30, 41]]]
        >>> m = evaluate(reference, estimated)
        >>> m["R1@0.7"], round(m["mAP"], 4), round(m["mIoU@1"], 4)
        (1.0, 0.675, 0.9045)
    """
    ref = _ragged(reference, "reference", (2,), allow_empty=True)
    est = _ragged(estimated, "estimated", (2, 3), allow_empty=False)
    if ref.n != est.n:
        raise ValueError(f"reference has {ref.n} queries, estimated has {est.n}: give one entry per query in both")
    kept, has_window = filter_ground_truth(ref)
    if not has_window.any():
        raise ValueError(f"no query has a reference window of length in (0, {GT_MAX_LENGTH:g}] s: nothing to score")
    rows = np.flatnonzero(has_window)
    from amr_bench.scoring import _summary  # the same summary as a file's ``raw`` block

    return flat_metrics(_summary(per_query_scores(est.take(rows), kept.take(rows))))


def _ragged(queries: Sequence[Any], name: str, arities: tuple[int, ...], allow_empty: bool) -> RaggedWindows:
    """One query's windows at a time into flat arrays, each query checked and named by its index."""
    if isinstance(queries, (str, bytes)) or not hasattr(queries, "__len__"):
        raise ValueError(
            f"{name}: expected a sequence with one list of windows per query, got {type(queries).__name__}"
        )
    forms = " or ".join(f"[{', '.join(['start', 'end', 'score'][:a])}]" for a in arities)
    blocks: list[np.ndarray] = []
    for i, windows in enumerate(queries):
        try:
            block = np.asarray(windows, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name}[{i}]: windows must be rows of numbers {forms}") from None
        if block.size == 0:
            block = block.reshape(0, arities[0])
        if block.ndim != 2 or block.shape[1] not in arities:
            raise ValueError(f"{name}[{i}]: windows must be rows {forms}, got an array of shape {block.shape}")
        if len(block) == 0 and not allow_empty:
            raise ValueError(f"{name}[{i}]: no window (every query needs at least one predicted window)")
        if not np.isfinite(block).all():
            raise ValueError(f"{name}[{i}]: windows must be finite numbers")
        if (block[:, 0] < 0).any() or (block[:, 1] < block[:, 0]).any():
            raise ValueError(f"{name}[{i}]: every window needs 0 <= start <= end")
        blocks.append(block)
    counts = np.array([len(b) for b in blocks], dtype=np.int64)
    flat = np.concatenate([b[:, :2] for b in blocks]) if blocks else np.zeros((0, 2))
    has_score = np.concatenate([np.full(len(b), b.shape[1] == 3) for b in blocks]) if blocks else np.zeros(0, bool)
    score = (
        np.concatenate([b[:, 2] if b.shape[1] == 3 else np.full(len(b), np.nan) for b in blocks])
        if blocks
        else np.zeros(0)
    )
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return RaggedWindows(flat[:, 0].copy(), flat[:, 1].copy(), score, offsets, has_score)
