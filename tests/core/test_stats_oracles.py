"""Outside oracles for ``amr_bench.stats``: SciPy's bootstrap and permutation test.

The differential scorer test compares two implementations written by the same hand; these compare
the bootstrap intervals and the sign-flip test with SciPy's independent implementations:

- ``scipy.stats.bootstrap(method="percentile")`` draws its resample indices as
  ``rng.integers(0, n, (B, n))``, as ``stats.resample_counts`` does, so with the same seed both see
  the same resamples and the intervals must agree to rounding (rtol 1e-12). With different seeds
  they must agree in distribution: endpoints within 0.007 (about four Monte Carlo standard errors
  of the difference for B = 4000 on 300 queries).
- ``scipy.stats.permutation_test(permutation_type="samples")`` on paired samples swaps the two
  values of a query, which is a sign flip of its difference; with the statistic ``|sum(a - b)|`` and
  ``alternative="greater"`` it is the two-sided test of ``stats.signflip_pvalues``. On up to 12
  queries (at least two, SciPy's minimum) SciPy enumerates all 2^n patterns (exact p); ours is
  Monte Carlo with 20,000 draws, so they must agree within 0.015 (four standard errors). Scores are
  multiples of 1/8 so that every sum is exact and ties are ties for both. On 200 queries both are
  Monte Carlo with 10,000 draws: within 0.03 (about four standard errors of the difference).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from amr_bench import stats


def _rng_kwarg(seed: int) -> dict[str, np.random.Generator]:
    """SciPy >= 1.15 takes ``rng``; older versions ``random_state`` (same generator semantics)."""
    name = "rng" if "rng" in inspect.signature(scipy_stats.bootstrap).parameters else "random_state"
    return {name: np.random.default_rng(seed)}


def _scipy_percentile_ci(row: np.ndarray, n_resamples: int, seed: int, level: float) -> tuple[float, float]:
    res = scipy_stats.bootstrap(
        (row,),
        np.mean,
        n_resamples=n_resamples,
        confidence_level=level,
        method="percentile",
        vectorized=True,
        **_rng_kwarg(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


@pytest.mark.parametrize(("queries", "level", "seed"), [(57, 0.95, 7), (300, 0.9, 0), (13, 0.99, 123)])
def test_bootstrap_ci_equals_scipy_percentile_bootstrap_on_the_same_resamples(
    queries: int, level: float, seed: int
) -> None:
    rng = np.random.default_rng(queries)
    x = np.stack([rng.random(queries), (rng.random(queries) < 0.3).astype(np.float64), rng.random(queries) ** 3])
    ci = stats.bootstrap_ci(x, n_resamples=999, seed=seed, level=level)
    for k, row in enumerate(x):  # every system: amr-bench shares one resample matrix across rows
        low, high = _scipy_percentile_ci(row, 999, seed, level)
        np.testing.assert_allclose([ci.low[k], ci.high[k]], [low, high], rtol=1e-12, atol=1e-15)


def test_bootstrap_ci_agrees_with_scipy_in_distribution_under_other_seeds() -> None:
    rng = np.random.default_rng(11)
    x = (rng.random(300) < 0.3).astype(np.float64)
    ours = stats.bootstrap_ci(x, n_resamples=4000, seed=1)
    low, high = _scipy_percentile_ci(x, 4000, seed=2, level=0.95)
    assert abs(ours.low[0] - low) <= 0.007
    assert abs(ours.high[0] - high) <= 0.007


def _scipy_signflip_p(a: np.ndarray, b: np.ndarray, n_resamples: int, seed: int) -> float:
    def abs_sum_of_differences(u: np.ndarray, v: np.ndarray, axis: int) -> np.ndarray:
        return np.abs(np.sum(u - v, axis=axis))

    res = scipy_stats.permutation_test(
        (a, b),
        abs_sum_of_differences,
        permutation_type="samples",
        alternative="greater",
        n_resamples=n_resamples,
        vectorized=True,
        **_rng_kwarg(seed),
    )
    return float(res.pvalue)


eighths = st.integers(0, 8).map(lambda k: k / 8)


@settings(max_examples=20)
@given(st.lists(st.tuples(eighths, eighths), min_size=2, max_size=12), st.integers(0, 2**31))
def test_signflip_agrees_with_scipy_exact_permutation_test(pairs: list[tuple[float, float]], seed: int) -> None:
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    exact = _scipy_signflip_p(a, b, n_resamples=2**13, seed=0)  # 2^n <= 4096 patterns: SciPy enumerates
    ours = stats.signflip_pvalues(np.stack([a, b]), [(0, 1)], n_permutations=20000, seed=seed)[0]
    assert abs(ours - exact) <= 0.015, (ours, exact)


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.12])
def test_signflip_agrees_with_scipy_monte_carlo_permutation_test_on_many_queries(shift: float) -> None:
    rng = np.random.default_rng(5)
    q = 200
    base = (rng.random(q) < 0.4).astype(np.float64)
    other = np.where(rng.random(q) < shift, 1.0, base)  # a few more hits, paired with base
    other = np.where(rng.random(q) < 0.15, 1.0 - other, other)  # and some noise both ways
    ours = stats.signflip_pvalues(np.stack([other, base]), [(0, 1)], n_permutations=10000, seed=3)[0]
    theirs = _scipy_signflip_p(other, base, n_resamples=10000, seed=4)
    assert abs(ours - theirs) <= 0.03, (ours, theirs)  # two Monte Carlo estimates: ~4 standard errors
