"""A Clotho-Moment-style benchmark simulated on embeddings: a complete dataset folder, offline.

Algorithm 1 of the Clotho-Moment paper (Language-based Audio Moment Retrieval, arXiv:2409.15672;
docs/baselines.md), applied to per-second features instead of waveforms: take a background, then loop: draw a gap ``d ~ Exponential(gap_mean)``, draw a
foreground clip (an event of some class, with its caption) and its length, place it at
``t + d``, stop when it would end past the recording, overlay, ``t = end``.

What the features carry (the planted signal)
--------------------------------------------
Every event class ``c`` has a latent meaning ``s_c`` in a small space (``latent_dim``); classes in
the same family resemble each other. Audio frames live in a 768-d "backbone" space: a large common
offset ``m_a``, the background's meaning and the foreground's meaning written through an audio
basis ``Ba`` (768 x latent_dim), a class-agnostic "something is sounding" direction ``p``, and
temporally correlated noise. Query token rows are written through a different basis ``Bt`` that
shares only ``cos_phi`` of ``Ba``'s direction, on top of a large common offset ``m_t``. So the raw
768-d cosine between a frame and the pooled token relates the two only WEAKLY, while the two
projection heads (MS-CLAP ``Projection``: ``LayerNorm(e1 + W2 gelu(e1))`` with ``e1 = W1 x``), whose
``W1`` maps each basis onto a shared joint space, relate them STRONGLY. The heads are written to
``clap_projection.npz`` under MS-CLAP's parameter names so JointProj loads them like the real
checkpoint.

What keeps it non-trivial (no perfect zero-shot system): gains in dB (foreground +-5 dB,
background -20 +- 5 dB, mapped to a mixing weight), clip-level and frame-level variation of the
event meaning, captions that describe the clip only approximately, fluctuating activity inside an
event with attack/release ramps, unlabelled incidental events of look-alike classes, scene changes
in the background, and noise correlated over seconds. What a trained model can exploit and a
zero-shot cosine cannot: the presence direction ``p`` (invisible to the projection heads) marks
event boundaries, and every class has a characteristic duration.

Styles
------
``clotho-moment``: 60-s recordings cut at 1-s offsets from long background streams ("cities",
split 7:1:2 between train/val/test like Walking Tours), one moment per query, windows at 0.1 s,
moments 12-30 s, exponential gaps of mean 30 s exactly as in the paper. A 60-s recording whose
first draw does not fit gets no moment at all (about a quarter of draws): such a draw is rejected
and redrawn, as the released dataset has no recording without a query. So every recording has at
least one moment; the drawn gaps (all draws) have mean 30 s, the gaps of placed moments are
shorter (conditioned on fitting). Both are reported in ``dataset.json``.

``castella``: recordings of 60-300 s (integer seconds), 1-4 query classes per recording, each
placed moment belongs to one of them (so a query has several windows), moment lengths from a
class-specific log-normal with median about 4 s (short moments common), exponential gaps of mean
20 s, integer windows.

Determinism: recording ``r`` is drawn from ``default_rng([seed, r, ...])`` and written at once
(features are never all in memory); npz files carry no timestamps; JSON is written with fixed key
order. Same seed and arguments give byte-identical files (on the same numpy/BLAS build).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from scipy.signal import lfilter

from amr_bench.datasets.features import FEATURE_DIM, FeatureStore
from amr_bench.datasets.npzio import write_npz
from amr_bench.datasets.projection import AUDIO_PREFIX, TEXT_PREFIX, ProjectionHead
from amr_bench.errors import UsageError

GENERATOR_VERSION = "amr-bench-sim/1"
SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.7, 0.1, 0.2)
JOINT_DIM = 1024
MAX_REDRAWS = 200


@dataclass(frozen=True)
class Signal:
    """Strength of the planted cross-modal signal and of everything that hides it."""

    latent_dim: int = 32
    families: int = 8
    classes_per_family: int = 6
    family_weight: float = 0.75  # share of the family direction in a class meaning
    incidental_classes: int = 16  # unlabelled look-alike events in the background
    cos_phi: float = 0.05  # overlap of the audio and text bases (raw-cosine signal)
    audio_offset: float = 5.0  # norm of the common audio offset m_a
    text_offset: float = 8.0  # norm of the common text offset m_t
    background_amp: float = 1.0
    foreground_amp: float = 1.4
    presence_amp: float = 0.6
    text_amp: float = 2.0
    noise_std: float = 0.1  # per dimension of the 768-d backbone space
    noise_corr: float = 0.6  # AR(1) coefficient of the noise over seconds
    clip_spread: float = 0.55  # clip meaning = class meaning + this * noise
    frame_spread: float = 0.45  # per-second variation of the meaning inside a clip
    caption_spread: float = 0.45  # caption meaning = clip meaning + this * noise
    snr_mid_db: float = 14.0  # foreground-to-background dB at which the mix weight is 0.5
    snr_slope_db: float = 4.0
    incidental_rate_per_min: float = 0.8
    incidental_db: float = -5.0
    head_gain: float = 16.0
    head_noise: float = 1.0
    head_linear2: float = 0.5


@dataclass(frozen=True)
class Style:
    name: str
    duration: tuple[int, int]
    gap_mean: float
    resolution: float  # time grid of windows and durations, seconds
    queries_per_recording: tuple[float, ...]  # probabilities of 1, 2, ... query classes
    fg_db_field: bool  # write Clotho-Moment's extra "fg_dB" field


STYLES: dict[str, Style] = {
    "clotho-moment": Style("clotho-moment", (60, 60), 30.0, 0.1, (1.0,), True),
    "castella": Style("castella", (60, 300), 20.0, 1.0, (0.35, 0.3, 0.2, 0.15), False),
}

_FAMILIES = {
    "animals": ["a dog barks", "birds chirp", "a cat meows", "a rooster crows", "cows moo", "insects buzz"],
    "vehicles": [
        "a car engine idles",
        "a train passes",
        "a motorcycle revs",
        "a plane flies over",
        "a bus brakes",
        "a truck reverses beeping",
    ],
    "water": [
        "rain falls on a roof",
        "a stream flows",
        "waves crash on the shore",
        "water drips into a sink",
        "a toilet flushes",
        "someone splashes in water",
    ],
    "people": [
        "a crowd cheers",
        "a baby cries",
        "people chat in a cafe",
        "a man coughs",
        "children laugh and shout",
        "footsteps walk on gravel",
    ],
    "machines": [
        "a drill whirs",
        "a printer prints pages",
        "a vacuum cleaner hums",
        "a saw cuts wood",
        "a fan spins",
        "a factory machine clanks",
    ],
    "music": [
        "a guitar is strummed",
        "a piano plays a melody",
        "drums are beaten",
        "a violin plays",
        "church bells ring",
        "a flute plays softly",
    ],
    "weather": [
        "thunder rumbles",
        "wind blows through trees",
        "hail hits a window",
        "leaves rustle in the wind",
        "a storm howls",
        "light rain patters",
    ],
    "household": [
        "a door slams",
        "dishes clatter",
        "keys jingle",
        "a clock ticks",
        "a kettle whistles",
        "a drawer is opened and closed",
    ],
}
_CONTEXTS = [
    "",
    "in the distance",
    "while traffic passes",
    "close to the microphone",
    "in a large room",
    "outdoors",
    "with people talking nearby",
    "repeatedly",
    "for a while",
    "and then stops",
    "loudly",
    "quietly",
]


@dataclass
class SimulationSummary:
    out_dir: Path
    style: str
    seed: int
    recordings: dict[str, int]
    queries: dict[str, int]
    moments: dict[str, int]
    statistics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        return d


# --------------------------------------------------------------------------------------------
# The world: bases, class meanings and projection heads, all from the seed


def _orthonormal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@dataclass
class World:
    signal: Signal
    audio_basis: np.ndarray  # (768, k)
    text_basis: np.ndarray  # (768, k)
    audio_offset: np.ndarray  # (768,)
    text_offset: np.ndarray  # (768,)
    presence: np.ndarray  # (768,)
    class_names: list[str]
    class_family: np.ndarray  # (K,)
    class_meaning: np.ndarray  # (K, k)
    class_length: np.ndarray  # (K,) typical moment length (style-dependent use)
    incidental_meaning: np.ndarray  # (I, k)
    scene_meaning: np.ndarray  # (S, k)
    audio_head: ProjectionHead
    text_head: ProjectionHead

    @classmethod
    def build(cls, seed: int, signal: Signal) -> World:
        rng = np.random.default_rng([seed, 0x5EED])
        k, d = signal.latent_dim, FEATURE_DIM
        frame = _orthonormal(rng, d, 2 * k + 3)
        audio_basis = np.ascontiguousarray(frame[:, :k])
        perp = frame[:, k : 2 * k]
        text_basis = math.cos(math.acos(signal.cos_phi)) * audio_basis + math.sin(math.acos(signal.cos_phi)) * perp
        presence = frame[:, 2 * k]
        audio_offset = signal.audio_offset * frame[:, 2 * k + 1]
        text_offset = signal.text_offset * _unit(0.3 * frame[:, 2 * k + 1] + frame[:, 2 * k + 2])
        fam = _unit(rng.standard_normal((signal.families, k)))
        names, fam_index = [], []
        for f, (family, phrases) in enumerate(_FAMILIES.items()):
            if f >= signal.families:
                break
            for phrase in phrases[: signal.classes_per_family]:
                names.append(phrase)
                fam_index.append(f)
        fam_index_a = np.array(fam_index)
        own = _unit(rng.standard_normal((len(names), k)))
        w = signal.family_weight
        class_meaning = _unit(w * fam[fam_index_a] + math.sqrt(1 - w * w) * own)
        class_length = rng.uniform(0.0, 1.0, len(names))
        inc_fam = rng.integers(0, signal.families, signal.incidental_classes)
        incidental = _unit(
            w * fam[inc_fam] + math.sqrt(1 - w * w) * _unit(rng.standard_normal((signal.incidental_classes, k)))
        )
        scenes = _unit(rng.standard_normal((12, k)))
        joint = _orthonormal(rng, JOINT_DIM, k)

        def head(basis: np.ndarray) -> ProjectionHead:
            lin1 = signal.head_gain * joint @ basis.T + signal.head_noise * rng.standard_normal(
                (JOINT_DIM, d)
            ) / math.sqrt(d)
            lin2 = signal.head_linear2 * rng.standard_normal((JOINT_DIM, JOINT_DIM)) / math.sqrt(JOINT_DIM)
            ln_w = 1.0 + 0.1 * rng.standard_normal(JOINT_DIM)
            ln_b = 0.05 * rng.standard_normal(JOINT_DIM)
            return ProjectionHead(*(a.astype(np.float32) for a in (lin1, lin2, ln_w, ln_b)))

        audio_head = head(audio_basis)
        text_head = head(text_basis)
        return cls(
            signal,
            audio_basis,
            text_basis,
            audio_offset,
            text_offset,
            presence,
            names,
            fam_index_a,
            class_meaning,
            class_length,
            incidental,
            scenes,
            audio_head,
            text_head,
        )

    def projection_arrays(self) -> dict[str, np.ndarray]:
        return self.audio_head.arrays(AUDIO_PREFIX) | self.text_head.arrays(TEXT_PREFIX)


# --------------------------------------------------------------------------------------------
# One recording


@dataclass
class Moment:
    query: int  # index into the recording's queries
    start: float
    end: float


@dataclass
class Query:
    class_index: int
    text: str
    meaning: np.ndarray  # caption meaning (k,)
    clip_meaning: np.ndarray  # meaning of the sound source (k,)
    fg_db: float


@dataclass
class Recording:
    vid: str
    duration: float
    queries: list[Query]
    moments: list[Moment]
    features: np.ndarray  # (T, 768) float32
    gaps_drawn: list[float]
    gaps_placed: list[float]
    redraws: int


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], rho: float, axis: int = 0) -> np.ndarray:
    """Unit-variance AR(1) noise along ``axis``."""
    z = rng.standard_normal(shape)
    if rho <= 0:
        return z
    z0 = np.take(z, [0], axis=axis) / math.sqrt(1 - rho * rho)
    z = np.concatenate([z0, np.take(z, range(1, shape[axis]), axis=axis)], axis=axis)
    return lfilter([math.sqrt(1 - rho * rho)], [1.0, -rho], z, axis=axis)


def _background_latent(rng: np.random.Generator, world: World, frames: int) -> np.ndarray:
    """Scene meaning over time: scenes switching every ~Exp(60) s, smoothed, plus drift."""
    k = world.signal.latent_dim
    n_switch = max(1, int(frames / 40) + 2)
    switch_at = np.cumsum(rng.exponential(60.0, n_switch))
    scene_ids = rng.integers(0, len(world.scene_meaning), n_switch + 1)
    idx = np.searchsorted(switch_at, np.arange(frames), side="right")
    base = world.scene_meaning[scene_ids[idx]]
    base = lfilter([0.3], [1.0, -0.7], base, axis=0)
    base[: min(3, frames)] /= (1 - 0.7 ** np.arange(1, min(3, frames) + 1))[:, None]
    return base + 0.5 * _ar1(rng, (frames, k), 0.95)


def _caption(rng: np.random.Generator, phrase: str) -> str:
    context = _CONTEXTS[int(rng.integers(len(_CONTEXTS)))]
    text = f"{phrase} {context}".strip()
    return text[0].upper() + text[1:] + "."


def _snap(x: float, resolution: float) -> float:
    return round(round(x / resolution) * resolution, 6)


class _Generator:
    def __init__(self, world: World, style: Style, seed: int) -> None:
        self.world, self.style, self.seed = world, style, seed
        self.signal = world.signal

    # ---- Algorithm 1 -------------------------------------------------------------------
    def place(
        self, rng: np.random.Generator, duration: float, draw_clip: Callable[[], tuple[int, float]]
    ) -> tuple[list[Moment], list[float], list[float]]:
        """Algorithm 1: gaps ~ Exp(gap_mean); returns moments, all gaps drawn, gaps placed."""
        t, moments, drawn, placed = 0.0, [], [], []
        res = self.style.resolution
        while True:
            d = float(rng.exponential(self.style.gap_mean))
            drawn.append(d)
            query, length = draw_clip()
            start = _snap(t + d, res)
            end = _snap(start + length, res)
            if end > duration:
                break
            moments.append(Moment(query, start, end))
            placed.append(d)
            t = end
        return moments, drawn, placed

    def _new_query(self, rng: np.random.Generator, class_index: int) -> Query:
        s = self.signal
        c_mean = self.world.class_meaning[class_index]
        clip = _unit(c_mean + s.clip_spread * _unit(rng.standard_normal(s.latent_dim)))
        caption = _unit(clip + s.caption_spread * _unit(rng.standard_normal(s.latent_dim)))
        text = _caption(rng, self.world.class_names[class_index])
        return Query(class_index, text, caption, clip, float(rng.uniform(-5.0, 5.0)))

    def _clotho_length(self, rng: np.random.Generator, class_index: int) -> float:
        typical = 17.0 + 8.0 * self.world.class_length[class_index]
        clip = float(np.clip(typical + rng.normal(0.0, 4.0), 15.0, 30.0))
        return clip - min(float(rng.exponential(1.5)), 5.0)  # silent onset/offset trimmed

    def _castella_length(self, rng: np.random.Generator, class_index: int) -> float:
        median = math.exp(math.log(4.5) + (self.world.class_length[class_index] - 0.5) * 3.2)
        return max(1.0, float(round(median * math.exp(rng.normal(0.0, 0.6)))))

    def recording(self, index: int, vid: str, background: np.ndarray | None) -> Recording:
        rng = np.random.default_rng([self.seed, 1, index])
        style = self.style
        lo, hi = style.duration
        all_drawn: list[float] = []  # gaps of rejected draws count too (their mean is gap_mean)
        for redraw in range(MAX_REDRAWS):
            duration = float(lo if lo == hi else int(rng.integers(lo, hi + 1)))
            queries: list[Query] = []
            n_classes = len(self.world.class_names)
            if style.name == "clotho-moment":

                def draw_clip() -> tuple[int, float]:
                    c = int(rng.integers(n_classes))
                    queries.append(self._new_query(rng, c))
                    return len(queries) - 1, self._clotho_length(rng, c)
            else:
                probs = np.array(style.queries_per_recording)
                nq = int(rng.choice(len(probs), p=probs / probs.sum())) + 1
                classes = rng.choice(n_classes, nq, replace=False)
                queries = [self._new_query(rng, int(c)) for c in classes]

                def draw_clip() -> tuple[int, float]:
                    q = int(rng.integers(nq))
                    return q, min(self._castella_length(rng, queries[q].class_index), duration / 2)

            moments, drawn, placed = self.place(rng, duration, draw_clip)
            all_drawn.extend(drawn)
            if moments:
                break
        else:  # pragma: no cover - needs an absurd style
            raise RuntimeError("could not place any moment")
        used = sorted({m.query for m in moments})  # drop queries that got no moment
        remap = {old: new for new, old in enumerate(used)}
        queries = [queries[i] for i in used]
        moments = [Moment(remap[m.query], m.start, m.end) for m in moments]
        frames = int(math.ceil(duration))
        if background is None:
            background = _background_latent(rng, self.world, frames)
        bg_db = float(rng.uniform(-25.0, -15.0))
        features = self._features(rng, frames, background[:frames], queries, moments, bg_db)
        return Recording(vid, duration, queries, moments, features, all_drawn, placed, redraw)

    # ---- features ----------------------------------------------------------------------
    def _features(
        self,
        rng: np.random.Generator,
        frames: int,
        background: np.ndarray,
        queries: list[Query],
        moments: list[Moment],
        bg_db: float,
    ) -> np.ndarray:
        s, w = self.signal, self.world
        k = s.latent_dim
        # labelled events, then unlabelled incidental look-alikes
        starts = [m.start for m in moments]
        ends = [m.end for m in moments]
        meanings = [queries[m.query].clip_meaning for m in moments]
        gains = [queries[m.query].fg_db - bg_db for m in moments]
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
        activity = 1.0 / (1.0 + np.exp(-(1.2 + 1.2 * _ar1(rng, (n_ev, frames), 0.7, axis=1))))
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
        x += s.noise_std * _ar1(rng, (frames, FEATURE_DIM), s.noise_corr)
        return x.astype(np.float32)

    def text_features(self, query: Query, qid: str) -> np.ndarray:
        """Token rows of the caption (GPT-2-like: causal context), last row = pooled token."""
        s, w = self.signal, self.world
        rng = np.random.default_rng([self.seed, 2, zlib.crc32(qid.encode())])
        words = query.text.rstrip(".").split()
        word_latent = np.stack(
            [
                _unit(
                    np.random.default_rng([self.seed, 3, zlib.crc32(wd.lower().encode())]).standard_normal(s.latent_dim)
                )
                for wd in words + ["."]
            ]
        )
        n = len(word_latent)
        context = np.cumsum(word_latent, axis=0) / np.arange(1, n + 1)[:, None]
        progress = (np.arange(1, n + 1) / (n + 1))[:, None]
        rows = s.text_amp * (0.8 * context + progress * query.meaning)
        pooled = s.text_amp * (query.meaning + 0.25 * context[-1])
        latent = np.vstack([rows, pooled])
        h = latent @ w.text_basis.T + w.text_offset
        h += s.noise_std * rng.standard_normal(h.shape)
        return h.astype(np.float32)


# --------------------------------------------------------------------------------------------
# The dataset folder


def _split_sizes(recordings: int) -> list[int]:
    n_val = max(1, round(recordings * SPLIT_FRACTIONS[1]))
    n_test = max(1, round(recordings * SPLIT_FRACTIONS[2]))
    n_train = recordings - n_val - n_test
    if n_train < 1:
        raise UsageError(f"--recordings must be at least 3 (one per split), got {recordings}")
    return [n_train, n_val, n_test]


class _Streams:
    """Long background streams ("cities") cut into 60-s recordings at 1-s offsets."""

    CITIES = (7, 1, 2)  # per split, as Walking Tours' 7:1:2

    def __init__(self, world: World, seed: int, sizes: list[int], frames: int) -> None:
        self.world, self.seed, self.frames = world, seed, frames
        self.sizes = sizes
        self.cache: dict[int, np.ndarray] = {}

    def cut(self, split: int, index: int) -> tuple[str, np.ndarray]:
        n_cities = self.CITIES[split]
        city = sum(self.CITIES[:split]) + index % n_cities
        offset = index // n_cities
        if city not in self.cache:
            per_city = -(-self.sizes[split] // n_cities)
            rng = np.random.default_rng([self.seed, 4, city])
            self.cache[city] = _background_latent(rng, self.world, per_city + self.frames)
        stream = self.cache[city]
        return f"city{city}_{offset:.1f}_{offset + self.frames:.1f}", stream[offset : offset + self.frames]


def iter_recordings(
    out_dir: Path, recordings: int, seed: int, style: Style, signal: Signal
) -> Iterator[tuple[str, Recording, _Generator]]:
    world = World.build(seed, signal)
    gen = _Generator(world, style, seed)
    sizes = _split_sizes(recordings)
    streams = _Streams(world, seed, sizes, style.duration[0]) if style.name == "clotho-moment" else None
    index = 0
    for split_i, (split, size) in enumerate(zip(SPLITS, sizes)):
        for j in range(size):
            if streams is not None:
                vid, bg = streams.cut(split_i, j)
            else:
                vid, bg = f"sim{split}{j:06d}", None
            yield split, gen.recording(index, vid, bg), gen
            index += 1


def simulate(
    out_dir: str | Path,
    recordings: int = 500,
    seed: int = 0,
    style: str = "clotho-moment",
    signal: Signal | None = None,
    progress: Callable[[int], None] | None = None,
    overwrite: bool = False,
) -> SimulationSummary:
    """Write a complete simulated dataset to ``out_dir`` (see the module docstring).

    ``out_dir`` must be new or empty; with ``overwrite`` an earlier simulated dataset there (a
    folder with ``dataset.json``) is replaced. ``progress`` (if given) is called with the number
    of recordings written so far. BLAS runs single-threaded meanwhile: the matrices are small
    (threads only add overhead) and the results then do not depend on the machine's core count.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _simulate(out_dir, recordings, seed, style, signal, progress, overwrite)


def _simulate(
    out_dir: str | Path,
    recordings: int = 500,
    seed: int = 0,
    style: str = "clotho-moment",
    signal: Signal | None = None,
    progress: Callable[[int], None] | None = None,
    overwrite: bool = False,
) -> SimulationSummary:
    if style not in STYLES:
        raise UsageError(f"unknown style {style!r}; choose one of: {', '.join(STYLES)}")
    if recordings < 3:
        raise UsageError(f"--recordings must be at least 3 (one per split), got {recordings}")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        if not (overwrite and (out / "dataset.json").is_file()):
            raise UsageError(
                f"{out} is not empty; choose a new folder"
                + (
                    " or pass --overwrite to replace the simulated dataset there"
                    if (out / "dataset.json").is_file()
                    else ""
                )
            )
        for sub in ("clap", "clap_text"):
            shutil.rmtree(out / sub, ignore_errors=True)
    signal = signal or Signal()
    st = STYLES[style]
    out.mkdir(parents=True, exist_ok=True)
    store = FeatureStore(out)
    handles = {s: open(out / f"{s}.jsonl.tmp", "wb") for s in SPLITS}
    counts = {k: dict.fromkeys(SPLITS, 0) for k in ("recordings", "queries", "moments")}
    lengths: list[float] = []
    gaps_drawn: list[float] = []
    gaps_placed: list[float] = []
    per_query: list[int] = []
    redraws = 0
    qid_counter = 0
    world: World | None = None
    try:
        for n, (split, rec, gen) in enumerate(iter_recordings(out, recordings, seed, st, signal), 1):
            world = gen.world
            store.write_audio(rec.vid, rec.features)
            for qi, query in enumerate(rec.queries):
                qid = str(qid_counter) if st.name == "clotho-moment" else f"{rec.vid}_{qi}"
                qid_counter += 1
                windows = [[m.start, m.end] for m in rec.moments if m.query == qi]
                line: dict[str, Any] = {
                    "qid": qid,
                    "query": query.text,
                    "duration": _num(rec.duration),
                    "vid": rec.vid,
                    "relevant_windows": [[_num(a), _num(b)] for a, b in windows],
                }
                if st.fg_db_field:
                    line["fg_dB"] = round(query.fg_db, 6)
                handles[split].write(orjson.dumps(line) + b"\n")
                store.write_text(qid, gen.text_features(query, qid))
                counts["queries"][split] += 1
                per_query.append(len(windows))
            counts["recordings"][split] += 1
            counts["moments"][split] += len(rec.moments)
            lengths.extend(m.end - m.start for m in rec.moments)
            gaps_drawn.extend(rec.gaps_drawn)
            gaps_placed.extend(rec.gaps_placed)
            redraws += rec.redraws
            if progress is not None:
                progress(n)
    finally:
        for h in handles.values():
            h.close()
    for s in SPLITS:
        os.replace(out / f"{s}.jsonl.tmp", out / f"{s}.jsonl")
    assert world is not None
    write_npz(out / "clap_projection.npz", world.projection_arrays())
    stats = _statistics(lengths, gaps_drawn, gaps_placed, per_query, redraws, counts)
    summary = SimulationSummary(out, style, seed, counts["recordings"], counts["queries"], counts["moments"], stats)
    meta = {
        "generator": GENERATOR_VERSION,
        "style": style,
        "seed": seed,
        "recordings_requested": recordings,
        "counts": counts,
        "statistics": stats,
        "style_parameters": asdict(st),
        "signal": asdict(signal),
        "classes": world.class_names,
        "layout": {
            "ground_truth": "<split>.jsonl (qid, query, duration, vid, relevant_windows)",
            "audio": "clap/<vid>.npz key 'features' float32 (T, 768); frame i covers [i, i+1) s",
            "text": "clap_text/qid<qid>.npz key 'last_hidden_state' float32 (L, 768); last row = pooled token",
            "projection": "clap_projection.npz: audio_encoder.projection.* and caption_encoder.projection.*",
        },
    }
    tmp = out / "dataset.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", "utf-8")
    os.replace(tmp, out / "dataset.json")
    return summary


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def _statistics(
    lengths: list[float],
    drawn: list[float],
    placed: list[float],
    per_query: list[int],
    redraws: int,
    counts: dict[str, dict[str, int]],
) -> dict[str, Any]:
    la = np.array(lengths)
    pq = np.array(per_query)
    n_rec = sum(counts["recordings"].values())

    def r(x: float) -> float:
        return round(float(x), 4)

    return {
        "gap_mean_drawn_s": r(np.mean(drawn)),
        "gap_mean_placed_s": r(np.mean(placed)),
        "moment_length_s": {
            "mean": r(la.mean()),
            "min": r(la.min()),
            "max": r(la.max()),
            "p05": r(np.percentile(la, 5)),
            "p25": r(np.percentile(la, 25)),
            "p50": r(np.percentile(la, 50)),
            "p75": r(np.percentile(la, 75)),
            "p95": r(np.percentile(la, 95)),
            "share_shorter_than_5s": r((la < 5).mean()),
        },
        "windows_per_query": {"mean": r(pq.mean()), "max": int(pq.max())},
        "queries_per_recording": r(len(pq) / n_rec),
        "redrawn_recordings": redraws,
    }
