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
    """``W[b, q]``: how often query ``q`` is drawn in bootstrap resample ``b`` (rows sum to Q).

    Refuses (``ResampleLimitError``) a matrix over :data:`MAX_RESAMPLE_CELLS` cells rather than
    running out of memory."""
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
    """``(B, systems)`` sums of every system's scores under every resample."""
    x = _as_matrix(scores)
    if counts.shape[1] != x.shape[1]:
        raise ValueError(f"resample counts cover {counts.shape[1]} queries, scores {x.shape[1]}")
    return counts @ x.T


@dataclass(frozen=True)
class Intervals:
    """Point estimates (means) and percentile bootstrap intervals, one per system."""

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
    """Percentile bootstrap intervals of the mean of every row of ``scores``."""
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

    ``sums`` is ``(B, systems)`` (see :func:`resampled_sums`), ``observed`` the per-system sums
    over the original queries. For a pair ``(i, j)`` with observed difference ``d``, the p-value is
    the share of resamples whose difference, centred on ``d``, is at least ``|d|`` away from zero
    (the null distribution is the bootstrap distribution shifted to mean zero).
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
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
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

    ``tier[k]`` is the 1-based tier of system ``k``; ``leader_p[k]`` the Holm-adjusted p-value of
    system ``k`` against the leader of its tier (NaN for tier leaders).
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
