"""From per-second relevance curves to ranked windows (numpy + scipy only, no torch).

Time convention (as the feature store): curve sample ``i`` scores the second ``[i, i + 1)``, so
its centre is ``i + 0.5`` s. A run of samples ``a .. b`` is the window ``[a, b + 1]`` seconds.

* :func:`fwhm_windows` (JointProj, clap-cosine): peaks of the curve (``scipy.signal.find_peaks``),
  each peak's width at ``rel_height`` of its prominence (``scipy.signal.peak_widths``; 0.5 is the
  full width at half maximum), ranked by peak height. The curve is padded with its minimum on
  both sides so a maximum at the first or last second is a peak too.
* :func:`run_windows` (sliding-window CLAP): binarise at a threshold, median-filter the binary
  sequence, every run of ones is a window scored by the mean similarity inside it.
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


def fwhm_windows(curve: np.ndarray, duration: float, rel_height: float = 0.5,
                 prominence: float = 0.0, max_windows: int = MAX_WINDOWS,
                 snap: bool = True) -> list[list[float]]:
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
    for s, e, h in zip(starts.tolist(), ends.tolist(), padded[peaks[order]].tolist()):
        if (s, e) not in seen:
            seen.add((s, e))
            out.append([s, e, h])
            if len(out) == max_windows:
                break
    return out


def run_windows(curve: np.ndarray, duration: float, threshold: float, median: int = 1,
                max_windows: int = MAX_WINDOWS) -> list[list[float]]:
    """Runs of ``curve >= threshold`` after a median filter of length ``median`` (odd).

    Each run ``a .. b`` is ``[a, b + 1]`` s with score = mean of the curve over the run; best
    first. If no sample passes, the single best second is returned (a submission needs a window).
    """
    y = np.asarray(curve, dtype=np.float64)
    if len(y) == 0:
        return []
    on = y >= threshold
    if median > 1:
        on = median_filter(on.astype(np.uint8), size=median, mode="constant", cval=0).astype(bool)
    edges = np.diff(np.concatenate(([0], on.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # exclusive
    if len(starts) == 0:
        i = int(np.argmax(y))
        return [[float(i), _end(i + 1, duration), float(y[i])]]
    csum = np.concatenate(([0.0], np.cumsum(y)))
    scores = (csum[ends] - csum[starts]) / (ends - starts)
    order = np.argsort(-scores, kind="stable")[:max_windows]
    end_cap = _end(len(y), duration)
    return [[float(starts[i]), float(min(ends[i], end_cap)), float(scores[i])] for i in order]


def _end(n_frames: int, duration: float) -> float:
    """The end of frame ``n_frames - 1`` in seconds, not past the recording's duration."""
    return float(min(n_frames, duration)) if duration > 0 else float(n_frames)
