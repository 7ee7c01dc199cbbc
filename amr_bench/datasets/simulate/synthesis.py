"""Feature synthesis: the 768-d audio frames of a recording and the token rows of a caption.

What keeps retrieval imperfect: gains in dB mapped to a mixing weight, clip-level and frame-level
variation of an event's meaning, attack/release ramps and fluctuating activity inside an event,
unlabelled incidental look-alike events, scene changes in the background, and noise correlated over
seconds. What only a trained model can use: the class-agnostic presence direction (invisible to the
projection heads) marks event boundaries.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np
from scipy.signal import lfilter

from amr_bench.datasets.features import FEATURE_DIM
from amr_bench.datasets.simulate.world import World, unit


def ar1(rng: np.random.Generator, shape: tuple[int, ...], rho: float, axis: int = 0) -> np.ndarray:
    """Unit-variance AR(1) noise along ``axis``."""
    z = rng.standard_normal(shape)
    if rho <= 0:
        return z
    z0 = np.take(z, [0], axis=axis) / math.sqrt(1 - rho * rho)
    z = np.concatenate([z0, np.take(z, range(1, shape[axis]), axis=axis)], axis=axis)
    return np.asarray(lfilter([math.sqrt(1 - rho * rho)], [1.0, -rho], z, axis=axis))


def background_latent(rng: np.random.Generator, world: World, frames: int) -> np.ndarray:
    """Scene meaning over time: scenes switching every ~Exp(60) s, smoothed, plus drift."""
    k = world.signal.latent_dim
    n_switch = max(1, int(frames / 40) + 2)
    switch_at = np.cumsum(rng.exponential(60.0, n_switch))
    scene_ids = rng.integers(0, len(world.scene_meaning), n_switch + 1)
    idx = np.searchsorted(switch_at, np.arange(frames), side="right")
    base = world.scene_meaning[scene_ids[idx]]
    base = lfilter([0.3], [1.0, -0.7], base, axis=0)
    base[: min(3, frames)] /= (1 - 0.7 ** np.arange(1, min(3, frames) + 1))[:, None]
    return np.asarray(base + 0.5 * ar1(rng, (frames, k), 0.95))


def audio_features(
    rng: np.random.Generator,
    world: World,
    frames: int,
    background: np.ndarray,
    events: Sequence[tuple[float, float, np.ndarray, float]],
    bg_db: float,
) -> np.ndarray:
    """(frames, 768) float32: background, the labelled ``events`` (start, end, meaning, gain over
    the background in dB) and incidental look-alikes, through the audio basis, plus noise."""
    s, w = world.signal, world
    k = s.latent_dim
    starts = [e[0] for e in events]
    ends = [e[1] for e in events]
    meanings = [e[2] for e in events]
    gains = [e[3] for e in events]
    n_inc = int(rng.poisson(s.incidental_rate_per_min * frames / 60.0))
    for _ in range(n_inc):
        length = float(rng.uniform(2.0, 10.0))
        st = float(rng.uniform(0.0, max(frames - length, 1.0)))
        starts.append(st)
        ends.append(st + length)
        meanings.append(w.incidental_meaning[int(rng.integers(len(w.incidental_meaning)))])
        gains.append(float(rng.uniform(-5.0, 5.0)) - bg_db + s.incidental_db)
    n_ev = len(starts)
    t = np.arange(frames, dtype=np.float64)
    st_a, en_a = np.array(starts)[:, None], np.array(ends)[:, None]
    cover = np.clip(np.minimum(t + 1, en_a) - np.maximum(t, st_a), 0.0, 1.0)  # (E, T)
    attack = rng.uniform(0.0, 3.0, (n_ev, 1))
    release = rng.uniform(0.0, 3.0, (n_ev, 1))
    centre = t + 0.5
    ramp = np.minimum(
        np.clip((centre - st_a) / np.maximum(attack, 1e-3), 0, 1),
        np.clip((en_a - centre) / np.maximum(release, 1e-3), 0, 1),
    )
    ramp = np.maximum(ramp, 0.25)
    activity = 1.0 / (1.0 + np.exp(-(1.2 + 1.2 * ar1(rng, (n_ev, frames), 0.7, axis=1))))
    mix = 1.0 / (1.0 + np.exp(-(np.array(gains)[:, None] - s.snr_mid_db) / s.snr_slope_db))
    weight = cover * ramp * activity * mix  # (E, T)
    frame_var = s.frame_spread * rng.standard_normal((n_ev, frames, k)) / math.sqrt(k)
    event_latent = np.array(meanings)[:, None, :] + frame_var  # (E, T, k)
    fg = np.einsum("et,etk->tk", weight, event_latent)
    fg_weight = np.clip(weight.sum(axis=0), 0.0, 1.0)
    latent = s.background_amp * (1.0 - 0.5 * fg_weight)[:, None] * background + s.foreground_amp * fg
    x = latent @ w.audio_basis.T
    x += w.audio_offset
    x += (s.presence_amp * fg_weight)[:, None] * w.presence
    x += s.noise_std * ar1(rng, (frames, FEATURE_DIM), s.noise_corr)
    return x.astype(np.float32)


def text_features(world: World, seed: int, text: str, meaning: np.ndarray, qid: str) -> np.ndarray:
    """Token rows of the caption ``text`` (GPT-2-like: causal context), last row = pooled token."""
    s, w = world.signal, world
    rng = np.random.default_rng([seed, 2, zlib.crc32(qid.encode())])
    words = text.rstrip(".").split()
    word_latent = np.stack(
        [
            unit(np.random.default_rng([seed, 3, zlib.crc32(wd.lower().encode())]).standard_normal(s.latent_dim))
            for wd in [*words, "."]
        ]
    )
    n = len(word_latent)
    context = np.cumsum(word_latent, axis=0) / np.arange(1, n + 1)[:, None]
    progress = (np.arange(1, n + 1) / (n + 1))[:, None]
    rows = s.text_amp * (0.8 * context + progress * meaning)
    pooled = s.text_amp * (meaning + 0.25 * context[-1])
    latent = np.vstack([rows, pooled])
    h = latent @ w.text_basis.T + w.text_offset
    h += s.noise_std * rng.standard_normal(h.shape)
    return h.astype(np.float32)
