"""From per-second relevance curves to ranked windows (numpy + scipy only, no torch).

Time convention (as the feature store): curve sample ``i`` scores the second ``[i, i + 1)``, so
its centre is ``i + 0.5`` s. A run of samples ``a .. b`` is the window ``[a, b + 1]`` seconds.

* :func:`fwhm_windows` (JointProj, clap-cosine): peaks of the curve (``scipy.signal.find_peaks``),
  each peak's width at ``rel_height`` of its prominence (``scipy.signal.peak_widths``; 0.5 is the
  full width at half maximum), ranked by peak height. The curve is padded with its minimum on
  both sides so a maximum at the first or last second is a peak too.
* :func:`run_windows` (sliding-window CLAP): binarise at a threshold, median-filter the binary
  sequence, every run of ones is a window scored by the mean similarity inside it;
  :func:`run_windows_block` does the same for many curves of one length at once.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter, uniform_filter1d
from scipy.signal import find_peaks, peak_widths

MAX_WINDOWS = 10


def standardise(curves: np.ndarray) -> np.ndarray:
    """Z-score each row over time (a constant row becomes zeros)."""
    curves = np.asarray(curves, dtype=np.float64)
    mean = curves.mean(axis=-1, keepdims=True)
    std = curves.std(axis=-1, keepdims=True)
    return (curves - mean) / np.where(std > 0, std, 1.0)


def smooth(curves: np.ndarray, k: int) -> np.ndarray:
    """Moving average of width ``k`` along the last axis (edges repeat the end values)."""
    if k <= 1:
        return np.asarray(curves, dtype=np.float64)
    return uniform_filter1d(np.asarray(curves, dtype=np.float64), size=k, axis=-1, mode="nearest")


def fwhm_windows(
    curve: np.ndarray,
    duration: float,
    rel_height: float = 0.5,
    prominence: float = 0.0,
    max_windows: int = MAX_WINDOWS,
    snap: bool = True,
) -> list[list[float]]:
    """Windows ``[start, end, score]`` of the peaks of one curve, highest peak first.

    ``rel_height`` is scipy's: the width is measured ``rel_height * prominence`` below the
    peak. ``snap`` rounds boundaries to whole seconds (the 1 Hz grid). Always returns at least
    one window (the whole curve's maximum) for a non-empty curve.
    """
    y = np.asarray(curve, dtype=np.float64)
    n = len(y)
    if n == 0:
        return []
    floor = y.min()
    padded = np.concatenate(([floor], y, [floor]))
    peaks, _ = find_peaks(padded, prominence=prominence if prominence > 0 else None)
    if len(peaks) == 0:  # constant curve: its plateau is the whole recording
        return [[0.0, _end(n, duration), float(y[0])]]
    _, _, left, right = peak_widths(padded, peaks, rel_height=rel_height)
    order = np.argsort(-padded[peaks], kind="stable")
    # Padded index j is sample j - 1 whose centre is at j - 0.5 s.
    starts = np.clip(left[order] - 0.5, 0.0, None)
    ends = np.minimum(right[order] - 0.5, _end(n, duration))
    if snap:
        starts = np.floor(starts + 0.5)
        ends = np.minimum(np.floor(ends + 0.5), _end(n, duration))
    ends = np.maximum(ends, np.minimum(starts + 1.0, _end(n, duration)))
    starts = np.minimum(starts, ends - 1.0).clip(0.0)
    # Equal ripples on one plateau give the same window: keep its first (highest) copy.
    out: list[list[float]] = []
    seen: set[tuple[float, float]] = set()
    for s, e, h in zip(starts.tolist(), ends.tolist(), padded[peaks[order]].tolist(), strict=True):
        if (s, e) not in seen:
            seen.add((s, e))
            out.append([s, e, h])
            if len(out) == max_windows:
                break
    return out


def run_windows(
    curve: np.ndarray, duration: float, threshold: float, median: int = 1, max_windows: int = MAX_WINDOWS
) -> list[list[float]]:
    """Runs of ``curve >= threshold`` after a median filter of length ``median`` (odd).

    Each run ``a .. b`` is ``[a, b + 1]`` s with score = mean of the curve over the run; best
    first. If no sample passes, the single best second is returned (a submission needs a window).
    """
    if len(curve) == 0:
        return []
    return run_windows_block(np.asarray(curve)[None], np.array([duration]), threshold, median, max_windows)[0]


def run_windows_block(
    curves: np.ndarray, durations: np.ndarray, threshold: float, median: int = 1, max_windows: int = MAX_WINDOWS
) -> list[list[list[float]]]:
    """:func:`run_windows` for every row of ``curves`` (Q, n) at once (no loop over rows)."""
    y = np.asarray(curves, dtype=np.float64)
    n_rows, n = y.shape
    on = y >= threshold
    if median > 1:
        on = median_filter(on.astype(np.uint8), size=(1, median), mode="constant", cval=0).astype(bool)
    edges = np.diff(np.pad(on.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    row, starts = np.nonzero(edges == 1)  # row-major: runs in order within each row
    _, ends = np.nonzero(edges == -1)  # exclusive, paired with starts
    csum = np.zeros((n_rows, n + 1))
    np.cumsum(y, axis=1, out=csum[:, 1:])
    scores = (csum[row, ends] - csum[row, starts]) / (ends - starts)
    d = np.asarray(durations, dtype=np.float64)
    end_cap = np.where(d > 0, np.minimum(n, d), n)
    order = np.lexsort((-scores, row))  # stable: equal scores keep time order
    row, starts, ends, scores = row[order], starts[order], ends[order], scores[order]
    first = np.searchsorted(row, np.arange(n_rows))
    keep = np.arange(len(row)) - first[row] < max_windows
    table = np.stack([starts, np.minimum(ends, end_cap[row]), scores], axis=1)[keep]
    bounds = np.searchsorted(row[keep], np.arange(n_rows + 1))
    out = [table[bounds[i] : bounds[i + 1]].tolist() for i in range(n_rows)]
    for i in np.flatnonzero(np.diff(bounds) == 0):  # nothing passed: the single best second
        j = int(np.argmax(y[i]))
        out[i] = [[float(j), _end(j + 1, float(d[i])), float(y[i, j])]]
    return out


def _end(n_frames: int, duration: float) -> float:
    """The end of frame ``n_frames - 1`` in seconds, not past the recording's duration."""
    return float(min(n_frames, duration)) if duration > 0 else float(n_frames)
