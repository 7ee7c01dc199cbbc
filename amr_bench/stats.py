"""Uncertainty for per-query score matrices: bootstrap intervals, paired tests, Holm, tiers.

Everything works on a score matrix ``X`` of shape ``(systems, queries)`` holding per-query values
(0/1 hits for R1@θ, average precision for mAP...). A metric is the mean over queries of a row.

Conventions:

- One resample index matrix per call, shared by every system and metric: resample ``b`` draws
  ``Q`` query indices with replacement; it is turned into a count matrix ``W`` (``B x Q``,
  ``W[b, q]`` = how often query ``q`` was drawn) so that all resampled sums are one matrix
  product ``W @ X.T``. Paired comparisons reuse the same resamples, so a paired bootstrap for any
  pair of systems costs one subtraction.
- Sums, not means, are compared: for 0/1 matrices every sum is an exact integer in float64.
- p-values are two-sided and smoothed, ``(1 + #{extreme}) / (1 + n)``, so never 0; identical
  systems give exactly 1.
- Confidence intervals are percentile intervals of the resampled means.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from amr_bench.errors import UsageError

Test = Literal["bootstrap", "signflip"]

DEFAULT_RESAMPLES = 1000
DEFAULT_PERMUTATIONS = 10000
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95
DEFAULT_ALPHA = 0.05
MIN_RESAMPLES = 100
MAX_RESAMPLES = 100_000
MAX_PERMUTATIONS = 1_000_000
# A resample matrix holds at most this many (resample, query) cells: about 16 bytes each while it
# is built (the drawn indices and the counts), so at most 1 GiB.
MAX_RESAMPLE_CELLS = 1 << 26

# The sign-flip test draws its random signs in blocks of at most this many (permutation, query)
# cells (about 17 bytes each while a block is used: the drawn signs and two float copies), so its
# memory stays near 36 MiB whatever the number of queries (queries x pairs for the differences aside).
SIGNFLIP_MAX_CELLS = 1 << 21

# Two resampled statistics closer than this (relative to the number of queries) count as equal:
# it absorbs summation-order noise of non-integer scores and nothing else.
_EPS = 1e-9


def _as_matrix(scores: ArrayLike) -> NDArray[np.float64]:
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"expected a (systems, queries) matrix with queries > 0, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("score matrix contains NaN or infinite values")
    return x


def resample_counts(n_queries: int, n_resamples: int, seed: int) -> NDArray[np.float64]:
    """How often each query is drawn in each bootstrap resample.

    Args:
        n_queries: ``Q``, the number of queries.
        n_resamples: ``B``, the number of resamples.
        seed: the seed of NumPy's default generator (non-negative); the same seed gives the same
            matrix.

    Returns:
        ``W`` of shape ``(B, Q)``: ``W[b, q]`` is how often query ``q`` is drawn in resample ``b``
        (every row sums to ``Q``).

    Raises:
        ValueError: fewer than one resample or query, or a negative seed.
        ResampleLimitError: ``B * Q`` is over :data:`MAX_RESAMPLE_CELLS` (the message gives the
            largest ``B`` that fits) rather than running out of memory.

    Example:
        >>> w = resample_counts(8, 1000, seed=0)
        >>> w.shape, set(w.sum(axis=1).tolist())
        ((1000, 8), {8.0})
    """
    if n_resamples < 1 or n_queries < 1:
        raise ValueError(f"need at least one resample and one query, got {n_resamples} and {n_queries}")
    if seed < 0:
        raise ValueError(f"the seed must be non-negative, got {seed}")
    if n_resamples * n_queries > MAX_RESAMPLE_CELLS:
        raise ResampleLimitError(
            f"--resamples {n_resamples:,} x {n_queries:,} queries is {n_resamples * n_queries:,} cells, more than "
            f"the limit of {MAX_RESAMPLE_CELLS:,} (about 1 GiB); use at most "
            f"{max(1, MAX_RESAMPLE_CELLS // n_queries):,} resamples"
        )
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_queries, size=(n_resamples, n_queries), dtype=np.int64)
    counts = np.empty((n_resamples, n_queries), dtype=np.float64)
    step = max(1, (1 << 20) // n_queries)  # rows per bincount: bounded temporary memory
    for start in range(0, n_resamples, step):
        block = idx[start : start + step]
        flat = block + (np.arange(block.shape[0], dtype=np.int64) * n_queries)[:, None]
        counts[start : start + step] = np.bincount(flat.ravel(), minlength=block.size).reshape(block.shape)
    return counts


class ResampleLimitError(UsageError):
    """More resamples than fit the memory limit (a usage error: ask for fewer)."""


def resampled_sums(scores: ArrayLike, counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Every system's sum of per-query scores under every resample.

    Args:
        scores: the ``(systems, queries)`` score matrix (one row per system; a 1-d array is one
            system).
        counts: the ``(B, queries)`` matrix of :func:`resample_counts`.

    Returns:
        ``(B, systems)`` sums: ``counts @ scores.T``.

    Raises:
        ValueError: the two matrices cover different numbers of queries, or ``scores`` holds NaN
            or infinities.

    Example:
        >>> x = [[1, 1, 0, 1], [0, 1, 0, 1]]
        >>> resampled_sums(x, resample_counts(4, 100, seed=0)).shape
        (100, 2)
    """
    x = _as_matrix(scores)
    if counts.shape[1] != x.shape[1]:
        raise ValueError(f"resample counts cover {counts.shape[1]} queries, scores {x.shape[1]}")
    return counts @ x.T


@dataclass(frozen=True)
class Intervals:
    """Point estimates (means) and percentile bootstrap intervals, one per system.

    Attributes:
        mean: each system's mean over the queries.
        low: the lower end of each interval.
        high: the upper end of each interval.
        level: the interval's level (0.95: a 95% interval).
        n_resamples: how many resamples it was computed from.
        seed: the seed of those resamples.
    """

    mean: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    level: float
    n_resamples: int
    seed: int


def bootstrap_ci(
    scores: ArrayLike,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
    counts: NDArray[np.float64] | None = None,
) -> Intervals:
    """Percentile bootstrap intervals of the mean of every row of ``scores``.

    Args:
        scores: the ``(systems, queries)`` per-query score matrix (a 1-d array is one system),
            e.g. a column of :attr:`amr_bench.scoring.ScoreResult.per_query`.
        n_resamples: bootstrap resamples (ignored when ``counts`` is given).
        seed: their seed.
        level: the interval's level, in (0, 1).
        counts: resample counts shared with other calls (:func:`resample_counts`), so that every
            system and metric is resampled the same way.

    Returns:
        The :class:`Intervals`.

    Raises:
        ValueError: ``scores`` is empty or not finite, or the resample arguments are invalid.
        ResampleLimitError: the resample matrix would be too large.

    Example:
        >>> ci = bootstrap_ci([[1, 1, 0, 1, 0, 1, 1, 0], [0, 1, 0, 1, 0, 0, 1, 0]], seed=0)
        >>> ci.mean.tolist(), ci.low.tolist(), ci.high.tolist()
        ([0.625, 0.375], [0.25, 0.125], [0.875, 0.75])
    """
    x = _as_matrix(scores)
    q = x.shape[1]
    w = resample_counts(q, n_resamples, seed) if counts is None else counts
    means = resampled_sums(x, w) / q
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail], axis=0)
    return Intervals(x.mean(axis=1), low, high, level, w.shape[0], seed)


def paired_bootstrap_pvalues(
    sums: NDArray[np.float64], observed: NDArray[np.float64], pairs: Sequence[tuple[int, int]]
) -> NDArray[np.float64]:
    """Two-sided paired bootstrap p-values from shared resampled sums.

    For a pair ``(i, j)`` with observed difference ``d``, the p-value is the share of resamples
    whose difference, centred on ``d``, is at least ``|d|`` away from zero (the null distribution
    is the bootstrap distribution shifted to mean zero), smoothed as ``(1 + k) / (1 + B)``.

    Args:
        sums: ``(B, systems)`` resampled sums (:func:`resampled_sums`).
        observed: each system's sum over the original queries.
        pairs: the ``(i, j)`` system pairs to test.

    Returns:
        One p-value per pair, in (0, 1]; identical systems get exactly 1.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1, 1, 0, 1, 0, 1, 1, 0], [0, 1, 0, 1, 0, 0, 1, 0]], float)
        >>> sums = resampled_sums(x, resample_counts(8, 1000, seed=0))
        >>> paired_bootstrap_pvalues(sums, x.sum(axis=1), [(0, 1), (0, 0)]).round(3).tolist()
        [0.205, 1.0]
    """
    if not pairs:
        return np.zeros(0)
    i = np.array([p[0] for p in pairs])
    j = np.array([p[1] for p in pairs])
    d_obs = observed[i] - observed[j]
    d_boot = sums[:, i] - sums[:, j]
    tol = _EPS * max(1.0, float(np.max(np.abs(observed))))
    extreme = np.abs(d_boot - d_obs) >= np.abs(d_obs) - tol
    return (1.0 + extreme.sum(axis=0)) / (1.0 + sums.shape[0])


def signflip_pvalues(
    scores: ArrayLike,
    pairs: Sequence[tuple[int, int]],
    n_permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = DEFAULT_SEED,
    chunk: int = 2000,
) -> NDArray[np.float64]:
    """Two-sided paired randomisation (sign-flip) test p-values for each pair of rows.

    Under the null the two systems are exchangeable on each query, so every per-query difference
    keeps or flips its sign with probability 1/2. One random sign matrix is shared by all pairs;
    it is drawn ``chunk`` permutations at a time, fewer when that would exceed
    :data:`SIGNFLIP_MAX_CELLS` cells (so memory does not grow with the number of queries).

    Args:
        scores: the ``(systems, queries)`` per-query score matrix.
        pairs: the ``(i, j)`` row pairs to test.
        n_permutations: random sign vectors drawn.
        seed: their seed.
        chunk: sign vectors drawn at a time at most (fewer past ``SIGNFLIP_MAX_CELLS`` cells).

    Returns:
        One p-value per pair, smoothed as ``(1 + k) / (1 + n_permutations)``.

    Raises:
        ValueError: fewer than one permutation, or ``scores`` empty or not finite.

    Example:
        >>> x = [[1, 1, 0, 1, 0, 1, 1, 0], [0, 1, 0, 1, 0, 0, 1, 0]]
        >>> signflip_pvalues(x, [(0, 1)], n_permutations=1000, seed=0).round(3).tolist()
        [0.497]
    """
    x = _as_matrix(scores)
    if n_permutations < 1:
        raise ValueError(f"need at least one permutation, got {n_permutations}")
    if not pairs:
        return np.zeros(0)
    i = np.array([p[0] for p in pairs])
    j = np.array([p[1] for p in pairs])
    diffs = x[i] - x[j]  # (P, Q)
    d_obs = np.abs(diffs.sum(axis=1))
    tol = _EPS * max(1.0, float(np.max(np.abs(x).sum(axis=1))))
    rng = np.random.default_rng(seed)
    extreme = np.zeros(len(pairs), dtype=np.int64)
    done = 0
    rows = max(1, min(chunk, SIGNFLIP_MAX_CELLS // x.shape[1]))
    while done < n_permutations:
        n = min(rows, n_permutations - done)
        signs = rng.integers(0, 2, size=(n, x.shape[1]), dtype=np.int8).astype(np.float64) * 2 - 1
        stats = np.abs(signs @ diffs.T)  # (n, P)
        extreme += (stats >= d_obs - tol).sum(axis=0)
        done += n
    return np.asarray((1.0 + extreme) / (1.0 + n_permutations), dtype=np.float64)


def holm(pvalues: ArrayLike) -> NDArray[np.float64]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    Args:
        pvalues: the raw p-values of one family of tests.

    Returns:
        The adjusted p-values, in the order given.

    Example:
        >>> holm([0.01, 0.04, 0.03]).round(4).tolist()
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    stepped = p[order] * (m - np.arange(m))
    adjusted_sorted = np.minimum(np.maximum.accumulate(stepped), 1.0)
    out = np.empty(m)
    out[order] = adjusted_sorted
    return out


@dataclass(frozen=True)
class Tiers:
    """Significance tiers over systems given in rank order (index 0 is the leader).

    Attributes:
        tier: the 1-based tier of each system.
        leader_p: the Holm-adjusted p-value of each system against the leader of its tier (NaN
            for tier leaders).
    """

    tier: NDArray[np.int64]
    leader_p: NDArray[np.float64]


def significance_tiers(
    n_systems: int,
    pvalues: Callable[[list[tuple[int, int]]], NDArray[np.float64]],
    alpha: float = DEFAULT_ALPHA,
) -> Tiers:
    """Greedy tiers: a tier is its leader plus every lower system it is not significantly above.

    Systems are indexed in rank order (0 is the leader); ``pvalues(pairs)`` returns raw p-values
    for ``(leader, other)`` pairs (e.g. :func:`paired_bootstrap_pvalues` over shared resamples).
    The leader of tier 1 is compared with every system below it, Holm-corrected over that family;
    systems that cannot be told apart from it join its tier, up to the first one that can (tiers
    stay contiguous in rank order). The best system left leads the next tier, and so on.

    Args:
        n_systems: how many systems, in rank order.
        pvalues: raw p-values for a list of ``(leader, other)`` pairs.
        alpha: the significance level after Holm's correction.

    Returns:
        The :class:`Tiers`.

    Example:
        >>> raw = {(0, 1): 0.5, (0, 2): 0.001, (1, 2): 0.01}
        >>> tiers = significance_tiers(3, lambda pairs: np.array([raw[p] for p in pairs]))
        >>> tiers.tier.tolist(), tiers.leader_p.tolist()
        ([1, 1, 2], [nan, 0.5, nan])
    """
    tier = np.zeros(n_systems, dtype=np.int64)
    leader_p = np.full(n_systems, np.nan)
    start, current = 0, 0
    while start < n_systems:
        current += 1
        tier[start] = current
        rest = list(range(start + 1, n_systems))
        if not rest:
            break
        p = holm(pvalues([(start, k) for k in rest]))
        nxt = n_systems
        for k, pk in zip(rest, p, strict=True):
            if pk < alpha:
                nxt = k
                break
            tier[k] = current
            leader_p[k] = pk
        start = nxt
    return Tiers(tier=tier, leader_p=leader_p)
