"""Bootstrap intervals, paired tests, Holm correction and significance tiers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from amr_bench import stats


def _hits(rng: np.random.Generator, p: float, q: int) -> np.ndarray:
    return (rng.random(q) < p).astype(np.float64)


def test_resample_counts_rows_sum_to_queries_and_are_seeded() -> None:
    w = stats.resample_counts(37, 50, seed=3)
    assert w.shape == (50, 37)
    assert np.all(w.sum(axis=1) == 37)
    assert np.array_equal(w, stats.resample_counts(37, 50, seed=3))
    assert not np.array_equal(w, stats.resample_counts(37, 50, seed=4))


def test_resampled_sums_equal_explicit_loop() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((4, 23))
    w = stats.resample_counts(23, 9, seed=1)
    sums = stats.resampled_sums(x, w)
    for b in range(9):
        idx = np.repeat(np.arange(23), w[b].astype(int))
        np.testing.assert_allclose(sums[b], x[:, idx].sum(axis=1), rtol=1e-12)


def test_ci_contains_mean_and_narrows_with_more_queries() -> None:
    rng = np.random.default_rng(1)
    small = stats.bootstrap_ci(_hits(rng, 0.4, 100), n_resamples=500)
    large = stats.bootstrap_ci(_hits(rng, 0.4, 2000), n_resamples=500)
    for ci in (small, large):
        assert ci.low[0] <= ci.mean[0] <= ci.high[0]
    assert (large.high - large.low)[0] < (small.high - small.low)[0]


def test_ci_of_a_constant_system_is_a_point() -> None:
    ci = stats.bootstrap_ci(np.full((1, 50), 0.25))
    assert ci.low[0] == ci.high[0] == pytest.approx(0.25)


def test_ci_coverage_is_roughly_nominal() -> None:
    """Over many simulated data sets, the 95% interval covers the true rate ~95% of the time."""
    rng = np.random.default_rng(2)
    x = (rng.random((200, 300)) < 0.3).astype(np.float64)
    ci = stats.bootstrap_ci(x, n_resamples=400, seed=5)
    coverage = np.mean((ci.low <= 0.3) & (ci.high >= 0.3))
    assert 0.88 <= coverage <= 0.99


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.integers(0, 2**31))
def test_identical_systems_are_never_significant(values: list[float], seed: int) -> None:
    x = np.array([values, values])
    w = stats.resample_counts(len(values), 200, seed)
    sums = stats.resampled_sums(x, w)
    p_boot = stats.paired_bootstrap_pvalues(sums, x.sum(axis=1), [(0, 1)])
    p_flip = stats.signflip_pvalues(x, [(0, 1)], n_permutations=200, seed=seed)
    assert p_boot[0] == 1.0
    assert p_flip[0] == 1.0


def test_clearly_better_system_is_significant_and_worse_by_noise_is_not() -> None:
    rng = np.random.default_rng(3)
    q = 400
    base = _hits(rng, 0.3, q)
    better = np.maximum(base, _hits(rng, 0.3, q))  # ~0.51, paired with base
    noisy = base.copy()
    flip = rng.choice(q, 6, replace=False)  # swaps a handful of outcomes both ways
    noisy[flip] = 1 - noisy[flip]
    x = np.stack([better, base, noisy])
    w = stats.resample_counts(q, 1000, 0)
    p = stats.paired_bootstrap_pvalues(stats.resampled_sums(x, w), x.sum(axis=1), [(0, 1), (1, 2)])
    assert p[0] < 0.01
    assert p[1] > 0.05
    pf = stats.signflip_pvalues(x, [(0, 1), (1, 2)], n_permutations=2000)
    assert pf[0] < 0.01
    assert pf[1] > 0.05


def test_signflip_matches_exact_enumeration_on_tiny_input() -> None:
    a = np.array([1.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    b = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    d = a - b
    patterns = np.array(list(itertools.product((-1.0, 1.0), repeat=len(d))))  # all 2^6 sign flips
    exact = np.mean(np.abs(patterns @ d) >= abs(d.sum()))
    p = stats.signflip_pvalues(np.stack([a, b]), [(0, 1)], n_permutations=40000, seed=0)[0]
    assert abs(p - exact) < 0.01, (p, exact)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_holm_is_monotone_bounded_and_at_least_raw(p: list[float]) -> None:
    adj = stats.holm(p)
    raw = np.array(p)
    assert np.all(adj >= raw - 1e-15)
    assert np.all(adj <= 1.0)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-15)


def test_holm_known_values() -> None:
    np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03, 0.5]), [0.04, 0.09, 0.09, 0.5])


def test_tiers_group_inseparable_systems_with_the_leader() -> None:
    rng = np.random.default_rng(4)
    q = 500
    top = _hits(rng, 0.6, q)
    twin = top.copy()
    twin[:3] = 1 - twin[:3]  # within noise of the leader
    low = top * (rng.random(q) < 0.5)  # clearly worse, paired
    lower = low * (rng.random(q) < 0.4)
    x = np.stack([top, twin, low, lower])
    w = stats.resample_counts(q, 1000, 0)
    sums, observed = stats.resampled_sums(x, w), x.sum(axis=1)
    tiers = stats.significance_tiers(4, lambda pairs: stats.paired_bootstrap_pvalues(sums, observed, pairs))
    assert tiers.tier.tolist() == [1, 1, 2, 3]
    assert np.isnan(tiers.leader_p[0]) and tiers.leader_p[1] >= 0.05


def test_rejects_nan_scores() -> None:
    with pytest.raises(ValueError, match="NaN"):
        stats.bootstrap_ci(np.array([[0.1, np.nan]]))
