"""One simulated recording: Algorithm 1 places the moments, then its features are synthesised.

Algorithm 1 of *Language-based Audio Moment Retrieval* (arXiv:2409.15672; docs/baselines.md):
from ``t = 0``, draw a gap ``d ~ Exponential(gap_mean)`` and a foreground clip; place it at
``t + d``; stop when it would end past the recording; otherwise ``t = end``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from amr_bench.datasets.simulate.settings import MAX_REDRAWS, Style
from amr_bench.datasets.simulate.synthesis import audio_features, background_latent, text_features
from amr_bench.datasets.simulate.vocabulary import caption
from amr_bench.datasets.simulate.world import World, unit

#: Draws one foreground clip: (index of its query in the recording, length in seconds).
ClipDraw = Callable[[], tuple[int, float]]


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


def snap(x: float, resolution: float) -> float:
    """``x`` on the grid of ``resolution`` seconds (rounded to 6 decimals for clean JSON)."""
    return round(round(x / resolution) * resolution, 6)


def place(
    rng: np.random.Generator, duration: float, gap_mean: float, resolution: float, draw_clip: ClipDraw
) -> tuple[list[Moment], list[float], list[float]]:
    """Algorithm 1: gaps ~ Exp(gap_mean); returns moments, all gaps drawn, gaps placed."""
    t = 0.0
    moments: list[Moment] = []
    drawn: list[float] = []
    placed: list[float] = []
    while True:
        d = float(rng.exponential(gap_mean))
        drawn.append(d)
        query, length = draw_clip()
        start = snap(t + d, resolution)
        end = snap(start + length, resolution)
        if end > duration:
            break
        moments.append(Moment(query, start, end))
        placed.append(d)
        t = end
    return moments, drawn, placed


class RecordingGenerator:
    """Recordings of one world and style; recording ``index`` depends only on (seed, index)."""

    def __init__(self, world: World, style: Style, seed: int) -> None:
        self.world, self.style, self.seed = world, style, seed
        self.signal = world.signal

    def recording(self, index: int, vid: str, background: np.ndarray | None) -> Recording:
        """Draw until at least one moment fits (a draw that places none is redrawn), then synthesise."""
        rng = np.random.default_rng([self.seed, 1, index])
        style = self.style
        lo, hi = style.duration
        all_drawn: list[float] = []  # gaps of rejected draws count too (their mean is gap_mean)
        for redraws in range(MAX_REDRAWS):  # noqa: B007 - the count of redraws is reported
            duration = float(lo if lo == hi else int(rng.integers(lo, hi + 1)))
            queries: list[Query] = []
            if style.name == "clotho-moment":
                draw_clip = self._clotho_draw(rng, queries)
            else:
                queries = self._castella_queries(rng)
                draw_clip = self._castella_draw(rng, queries, duration)
            moments, drawn, placed = place(rng, duration, style.gap_mean, style.resolution, draw_clip)
            all_drawn.extend(drawn)
            if moments:
                break
        else:  # pragma: no cover - needs an absurd style
            raise RuntimeError("could not place any moment")
        used = sorted({m.query for m in moments})  # drop queries that got no moment
        remap = {old: new for new, old in enumerate(used)}
        queries = [queries[i] for i in used]
        moments = [Moment(remap[m.query], m.start, m.end) for m in moments]
        frames = math.ceil(duration)
        if background is None:
            background = background_latent(rng, self.world, frames)
        bg_db = float(rng.uniform(-25.0, -15.0))
        events = [(m.start, m.end, queries[m.query].clip_meaning, queries[m.query].fg_db - bg_db) for m in moments]
        features = audio_features(rng, self.world, frames, background[:frames], events, bg_db)
        return Recording(vid, duration, queries, moments, features, all_drawn, placed, redraws)

    def text_features(self, query: Query, qid: str) -> np.ndarray:
        """Token rows of the query's caption, last row = pooled token."""
        return text_features(self.world, self.seed, query.text, query.meaning, qid)

    def _clotho_draw(self, rng: np.random.Generator, queries: list[Query]) -> ClipDraw:
        """Clotho-Moment: every placed clip is a new query of a random class."""
        n_classes = len(self.world.class_names)

        def draw_clip() -> tuple[int, float]:
            c = int(rng.integers(n_classes))
            queries.append(self._new_query(rng, c))
            return len(queries) - 1, self._clotho_length(rng, c)

        return draw_clip

    def _castella_queries(self, rng: np.random.Generator) -> list[Query]:
        """CASTELLA: 1-4 query classes per recording, drawn up front."""
        probs = np.array(self.style.queries_per_recording)
        nq = int(rng.choice(len(probs), p=probs / probs.sum())) + 1
        classes = rng.choice(len(self.world.class_names), nq, replace=False)
        return [self._new_query(rng, int(c)) for c in classes]

    def _castella_draw(self, rng: np.random.Generator, queries: list[Query], duration: float) -> ClipDraw:
        """CASTELLA: every placed clip belongs to one of the recording's queries."""

        def draw_clip() -> tuple[int, float]:
            q = int(rng.integers(len(queries)))
            return q, min(self._castella_length(rng, queries[q].class_index), duration / 2)

        return draw_clip

    def _new_query(self, rng: np.random.Generator, class_index: int) -> Query:
        s = self.signal
        c_mean = self.world.class_meaning[class_index]
        clip = unit(c_mean + s.clip_spread * unit(rng.standard_normal(s.latent_dim)))
        meaning = unit(clip + s.caption_spread * unit(rng.standard_normal(s.latent_dim)))
        text = caption(rng, self.world.class_names[class_index])
        return Query(class_index, text, meaning, clip, float(rng.uniform(-5.0, 5.0)))

    def _clotho_length(self, rng: np.random.Generator, class_index: int) -> float:
        typical = 17.0 + 8.0 * self.world.class_length[class_index]
        clip = float(np.clip(typical + rng.normal(0.0, 4.0), 15.0, 30.0))
        return clip - min(float(rng.exponential(1.5)), 5.0)  # silent onset/offset trimmed

    def _castella_length(self, rng: np.random.Generator, class_index: int) -> float:
        median = math.exp(math.log(4.5) + (self.world.class_length[class_index] - 0.5) * 3.2)
        return max(1.0, float(round(median * math.exp(rng.normal(0.0, 0.6)))))
