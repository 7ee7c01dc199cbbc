"""How a recording is cut into the per-second clips HTSAT embeds: three named framings.

``lighthouse`` (the default): lighthouse's ``CLAPAudio`` extractor. Channels averaged, resampled
to 44.1 kHz (:mod:`amr_bench_baselines.zeroshot.resample`), truncated to ``T = floor(seconds)`` whole
seconds, clip ``i`` = samples of ``[i, i + 1)`` s fed *unpadded* (44,100 samples) to
``audio_encoder.base`` (HTSAT stretches the short spectrogram to its input). ``T`` frames; a
recording shorter than one second has none.

``wrapper``: the Lighthouse-Wrapper script. First channel, resampled the same way, zero-padded
by half a window (22,050 samples) on both sides, 1-s windows with a 1-s hop: clip ``i`` covers
``[i - 0.5, i + 0.5)`` s, centred on second ``i``. ``T + 1`` frames.

``repeat7``: this package's earlier framing. Channels averaged, clip ``i`` = ``[i, i + 1)`` s
(the last one partial) cyclically repeated to HTSAT's 7 s, as msclap's file wrapper pads short
files. ``ceil(seconds)`` frames.

Which of the first two made the published DCASE 2026 features is not documented: the frame
count of a real file against its duration tells (``amr-bench datasets features ROOT``).
"""

from __future__ import annotations

import math

import numpy as np

SAMPLE_RATE = 44100
CLIP_SECONDS = 7
FRAMINGS = ("lighthouse", "wrapper", "repeat7")
DEFAULT_FRAMING = "lighthouse"
CHANNELS = {"lighthouse": "mean", "wrapper": "first", "repeat7": "mean"}


def check_framing(framing: str) -> str:
    if framing not in FRAMINGS:
        raise ValueError(f"unknown framing {framing!r}; choose one of {', '.join(FRAMINGS)}")
    return framing


def frame_count(n_samples: int, framing: str, rate: int = SAMPLE_RATE) -> int:
    """How many clips (feature frames) ``framing`` makes of ``n_samples`` samples at ``rate``."""
    check_framing(framing)
    if framing == "lighthouse":
        return n_samples // rate
    if framing == "wrapper":
        return (n_samples + 2 * (rate // 2) - rate) // rate + 1
    return max(1, math.ceil(n_samples / rate))


def framed_clips(wave: np.ndarray, framing: str, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The clips HTSAT receives for a mono float32 ``wave`` at ``rate``: ``(frames, samples)``
    (``samples`` = ``rate``, or ``7 * rate`` for ``repeat7``); see the module docstring."""
    wave = np.asarray(wave, dtype=np.float32)
    n = frame_count(len(wave), framing, rate)
    if framing == "lighthouse":
        return wave[: n * rate].reshape(n, rate)
    if framing == "wrapper":
        half = rate // 2
        padded = np.concatenate([np.zeros(half, np.float32), wave, np.zeros(half, np.float32)])
        return np.lib.stride_tricks.sliding_window_view(padded, rate)[::rate][:n].copy()
    return window_clips(wave, window=1, rate=rate, n_frames=n)


def window_clips(
    wave: np.ndarray,
    window: int = 1,
    rate: int = SAMPLE_RATE,
    n_frames: int | None = None,
    clip_seconds: int = CLIP_SECONDS,
) -> np.ndarray:
    """One clip per second ``i``: the ``window``-second window centred on it (seconds
    ``i - (window-1)//2 .. i + window//2``, clipped to the recording), cyclically repeated to
    ``clip_seconds``. Shape (n_frames, clip_seconds * rate); ``n_frames`` = ceil(seconds)."""
    n = n_frames if n_frames is not None else max(1, math.ceil(len(wave) / rate))
    target = clip_seconds * rate
    out = np.empty((n, target), dtype=np.float32)
    for i in range(n):
        lo = max(0, (i - (window - 1) // 2) * rate)
        hi = min(len(wave), (i + window // 2 + 1) * rate)
        clip = wave[lo:hi] if hi > lo else np.zeros(1, dtype=np.float32)
        out[i] = np.resize(clip, target)
    return out


def mono(samples: np.ndarray, framing: str) -> np.ndarray:
    """``(samples, channels)`` to one channel as ``framing``'s extractor does (mean or first)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        return samples
    return samples[:, 0] if CHANNELS[check_framing(framing)] == "first" else samples.mean(axis=1)
