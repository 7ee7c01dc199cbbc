"""Splits and backgrounds: how many recordings each split gets, and the long background streams."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from amr_bench.datasets.simulate.recording import Recording, RecordingGenerator
from amr_bench.datasets.simulate.settings import SPLIT_FRACTIONS, SPLITS, Signal, Style
from amr_bench.datasets.simulate.synthesis import background_latent
from amr_bench.datasets.simulate.world import World
from amr_bench.errors import UsageError


def split_sizes(recordings: int) -> list[int]:
    """Recordings per split (train, val, test) in the proportions of ``SPLIT_FRACTIONS``."""
    n_val = max(1, round(recordings * SPLIT_FRACTIONS[1]))
    n_test = max(1, round(recordings * SPLIT_FRACTIONS[2]))
    n_train = recordings - n_val - n_test
    if n_train < 1:
        raise UsageError(f"--recordings must be at least 3 (one per split), got {recordings}")
    return [n_train, n_val, n_test]


class BackgroundStreams:
    """Long background streams ("cities") cut into 60-s recordings at 1-s offsets."""

    CITIES = (7, 1, 2)  # per split, as Walking Tours' 7:1:2

    def __init__(self, world: World, seed: int, sizes: list[int], frames: int) -> None:
        self.world, self.seed, self.frames = world, seed, frames
        self.sizes = sizes
        self.cache: dict[int, np.ndarray] = {}

    def cut(self, split: int, index: int) -> tuple[str, np.ndarray]:
        """The vid and background latent of recording ``index`` of split number ``split``."""
        n_cities = self.CITIES[split]
        city = sum(self.CITIES[:split]) + index % n_cities
        offset = index // n_cities
        if city not in self.cache:
            per_city = -(-self.sizes[split] // n_cities)
            rng = np.random.default_rng([self.seed, 4, city])
            self.cache[city] = background_latent(rng, self.world, per_city + self.frames)
        stream = self.cache[city]
        return f"city{city}_{offset:.1f}_{offset + self.frames:.1f}", stream[offset : offset + self.frames]


def iter_recordings(
    recordings: int, seed: int, style: Style, signal: Signal
) -> Iterator[tuple[str, Recording, RecordingGenerator]]:
    """Every recording in order (train, val, test), one at a time, with its split and generator."""
    world = World.build(seed, signal)
    gen = RecordingGenerator(world, style, seed)
    sizes = split_sizes(recordings)
    streams = BackgroundStreams(world, seed, sizes, style.duration[0]) if style.name == "clotho-moment" else None
    index = 0
    for split_i, (split, size) in enumerate(zip(SPLITS, sizes, strict=True)):
        for j in range(size):
            if streams is not None:
                vid, bg = streams.cut(split_i, j)
            else:
                vid, bg = f"sim{split}{j:06d}", None
            yield split, gen.recording(index, vid, bg), gen
            index += 1
