"""A Clotho-Moment-style benchmark simulated on embeddings: a complete dataset folder, offline.

Algorithm 1 of the Clotho-Moment paper (*Language-based Audio Moment Retrieval*,
arXiv:2409.15672; docs/baselines.md), applied to per-second features instead of waveforms: take a
background, then loop: draw a gap ``d ~ Exponential(gap_mean)``, draw a foreground clip (an event of
some class, with its caption) and its length, place it at ``t + d``, stop when it would end past the
recording, overlay, ``t = end``.

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

The parts
---------
``settings`` (Signal, Style, STYLES, constants), ``vocabulary`` (event classes, captions), ``world``
(bases, class meanings, projection heads), ``recording`` (Algorithm 1, one recording),
``synthesis`` (audio frames and token rows), ``streams`` (splits, background streams) and
``writer`` (the dataset folder and its statistics). Import from this package; the parts are
an implementation detail.
"""

from __future__ import annotations

from amr_bench.datasets.simulate.recording import Moment, Query, Recording, RecordingGenerator
from amr_bench.datasets.simulate.settings import (
    GENERATOR_VERSION,
    JOINT_DIM,
    MAX_REDRAWS,
    SPLIT_FRACTIONS,
    SPLITS,
    STYLES,
    Signal,
    Style,
)
from amr_bench.datasets.simulate.streams import iter_recordings
from amr_bench.datasets.simulate.world import World
from amr_bench.datasets.simulate.writer import SimulationSummary, simulate

__all__ = [
    "GENERATOR_VERSION",
    "JOINT_DIM",
    "MAX_REDRAWS",
    "SPLITS",
    "SPLIT_FRACTIONS",
    "STYLES",
    "Moment",
    "Query",
    "Recording",
    "RecordingGenerator",
    "Signal",
    "SimulationSummary",
    "Style",
    "World",
    "iter_recordings",
    "simulate",
]
