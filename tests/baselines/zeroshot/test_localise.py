"""Peak/FWHM and run localisation on hand-made curves (amr_bench_baselines.zeroshot.localise: numpy + scipy only)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from amr_bench_baselines.zeroshot.localise import fwhm_windows, run_windows, smooth, standardise


def block(n: int, start: int, stop: int, height: float = 1.0) -> np.ndarray:
    y = np.zeros(n)
    y[start:stop] = height
    return y


def test_single_block_peak_gives_its_seconds() -> None:
    # samples 10..19 on: the moment [10, 20] s; half height falls half-way between samples.
    assert fwhm_windows(block(60, 10, 20), 60.0) == [[10.0, 20.0, 1.0]]


def test_triangle_peak_half_width() -> None:
    y = np.concatenate([np.zeros(10), np.linspace(0, 1, 6), np.linspace(1, 0, 6)[1:], np.zeros(10)])
    ((s, e, h),) = fwhm_windows(y, float(len(y)))
    # apex at sample 15 (centre 15.5 s), half height 2.5 samples either side.
    assert (s, e, h) == (13.0, 18.0, 1.0)


def test_two_peaks_ranked_by_height_not_position() -> None:
    y = block(60, 5, 10, 0.5) + block(60, 30, 40, 1.0)
    assert fwhm_windows(y, 60.0) == [[30.0, 40.0, 1.0], [5.0, 10.0, 0.5]]


def test_rel_height_narrows_a_sloped_peak() -> None:
    y = np.concatenate([np.zeros(5), np.linspace(0, 1, 11), np.linspace(1, 0, 11)[1:], np.zeros(5)])
    wide = fwhm_windows(y, float(len(y)), rel_height=0.5, snap=False)[0]
    tight = fwhm_windows(y, float(len(y)), rel_height=0.25, snap=False)[0]
    assert tight[1] - tight[0] < wide[1] - wide[0]
    assert tight[0] > wide[0] and tight[1] < wide[1]


def test_plateau_is_one_window() -> None:
    y = block(30, 8, 15, 2.0) + 0.5
    assert fwhm_windows(y, 30.0) == [[8.0, 15.0, 2.5]]


@pytest.mark.parametrize("start, stop", [(0, 6), (50, 60)])
def test_peak_at_the_edge_is_found(start: int, stop: int) -> None:
    ((s, e, _),) = fwhm_windows(block(60, start, stop), 60.0)
    assert (s, e) == (start, stop)


def test_constant_curve_is_the_whole_recording() -> None:
    assert fwhm_windows(np.ones(12), 11.5) == [[0.0, 11.5, 1.0]]


def test_prominence_drops_ripples_and_max_windows_caps() -> None:
    y = np.tile([0.0, 1.0], 20) * 0.01 + block(40, 20, 30)
    assert len(fwhm_windows(y, 40.0, prominence=0.1)) == 1
    assert len(fwhm_windows(y, 40.0, prominence=0.0)) == 10


def test_standardise_and_smooth() -> None:
    z = standardise(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    np.testing.assert_allclose(z[0], [-1.224744871, 0.0, 1.224744871])
    assert (z[1] == 0).all()
    np.testing.assert_allclose(smooth(np.array([[0.0, 3.0, 0.0]]), 3), [[1.0, 1.0, 1.0]])


def test_runs_thresholded_median_filtered_scored_by_mean() -> None:
    y = np.array([0.1, 0.9, 0.8, 0.1, 0.7, 0.1, 0.1, 0.6, 0.6, 0.6, 0.1])
    np.testing.assert_allclose(run_windows(y, 11.0, threshold=0.5), [[1, 3, 0.85], [4, 5, 0.7], [7, 10, 0.6]])
    # a median filter of 3 fills the one-second gap at 3 and removes the isolated second at 4
    assert [w[:2] for w in run_windows(y, 11.0, 0.5, median=3)] == [[1.0, 4.0], [7.0, 10.0]]


def test_runs_fall_back_to_the_best_second() -> None:
    assert run_windows(np.array([0.1, 0.3, 0.2]), 3.0, threshold=0.9) == [[1.0, 2.0, 0.3]]


@given(
    arrays(np.float64, st.integers(1, 80), elements=st.floats(-3, 3)),
    st.sampled_from([0.3, 0.45, 0.5, 0.8]),
    st.floats(0.5, 1.0),
)
def test_fwhm_windows_are_valid_submissions(y: np.ndarray, rel: float, frac: float) -> None:
    duration = max(len(y) * frac, 0.5)
    wins = fwhm_windows(y, duration, rel_height=rel)
    assert 1 <= len(wins) <= 10
    for s, e, _ in wins:
        assert 0 <= s < e <= max(duration, 1.0) + 1e-9
    scores = [w[2] for w in wins]
    assert scores == sorted(scores, reverse=True)


@given(arrays(np.float64, st.integers(1, 80), elements=st.floats(-1, 1)), st.floats(-1, 1), st.sampled_from([1, 3, 5]))
def test_run_windows_are_valid_submissions(y: np.ndarray, tau: float, k: int) -> None:
    wins = run_windows(y, float(len(y)), tau, k)
    assert 1 <= len(wins) <= 10
    for s, e, score in wins:
        assert 0 <= s < e <= len(y)
        assert y[int(s) : int(e)].min() - 1e-12 <= score <= y[int(s) : int(e)].max() + 1e-12
    assert [w[2] for w in wins] == sorted((w[2] for w in wins), reverse=True)


@given(
    arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 30)), elements=st.floats(-1, 1)),
    st.floats(-1, 1),
    st.sampled_from([1, 3, 5]),
    st.integers(1, 10),
)
def test_run_windows_block_rows_are_independent(block: np.ndarray, tau: float, k: int, cap: int) -> None:
    from amr_bench_baselines.zeroshot.localise import run_windows_block

    durations = np.linspace(0.5, block.shape[1], block.shape[0])
    rows = run_windows_block(block, durations, tau, k, max_windows=cap)
    assert rows == [run_windows(r, d, tau, k, max_windows=cap) for r, d in zip(block, durations, strict=True)]
    assert all(1 <= len(w) <= cap for w in rows)
