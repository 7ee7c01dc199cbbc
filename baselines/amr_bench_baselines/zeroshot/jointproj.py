"""JointProj: per-second relevance in MS-CLAP's joint space, FWHM peak windows.

Audio: each provided 768-d frame through ``audio_encoder.projection`` (1024-d), L2-normalised.
Query: by default the provided text features' end-of-text row (the ``<|endoftext|>`` hidden
state that MS-CLAP pools, :mod:`amr_bench_baselines.zeroshot.pooled_text`) through
``caption_encoder.projection``, which is what re-encoding the raw query with MS-CLAP's caption
encoder gives when the features came from the same model; with a full model (``text_vectors``
from ``ClapAdapter.text_embeddings``) the raw query is re-encoded. Only the two projection heads
are needed (:mod:`amr_bench_baselines.zeroshot.projection_heads_torch`): msclap is not imported.
Relevance ``s_t`` = cosine, standardised over time, smoothed (moving average ``smooth_k``), peaks
with scipy, each peak's width at ``rel_height`` of its prominence as the window, ranked by peak
height, at most 10 windows.

Parameters the report leaves open and chosen here: ``rel_height`` 0.5 (full width at half
maximum) unless a variant says otherwise, minimum peak prominence 0.1 (in standard deviations of
the smoothed curve), boundaries rounded to whole seconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import numpy as np
import torch

from amr_bench_baselines.zeroshot.curves import (
    SplitData,
    localise_curves,
    require_features,
    split_curves,
    submission_records,
)
from amr_bench_baselines.zeroshot.localise import fwhm_windows, smooth, standardise
from amr_bench_baselines.zeroshot.pooled_text import TokenCounter, pooled_text_vectors


@dataclass(frozen=True)
class PeakSettings:
    smooth_k: int = 5
    rel_height: float = 0.5
    prominence: float = 0.1
    max_windows: int = 10

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


VARIANTS: dict[str, PeakSettings] = {
    "s1": PeakSettings(smooth_k=5),
    "s2": PeakSettings(smooth_k=7),
    "s3": PeakSettings(smooth_k=5, rel_height=0.45),
}


def peak_windows(curves: Any, durations: np.ndarray, settings: PeakSettings) -> list[list[list[float]]]:
    """Standardise + smooth (vectorised per curve length), then FWHM windows per query."""
    prepare = lambda block: smooth(standardise(block), settings.smooth_k)
    localise = partial(_fwhm, settings=settings)
    return localise_curves(curves, durations, prepare, localise)


def _fwhm(curve: np.ndarray, duration: float, settings: PeakSettings) -> list[list[float]]:
    return fwhm_windows(
        curve,
        duration,
        rel_height=settings.rel_height,
        prominence=settings.prominence,
        max_windows=settings.max_windows,
    )


def jointproj(
    data: SplitData,
    heads: Any,
    settings: PeakSettings = VARIANTS["s1"],
    text_vectors: torch.Tensor | None = None,
    count_tokens: TokenCounter | None = None,
) -> list[dict[str, Any]]:
    """JointProj submission records for every query of ``data`` (ground-truth order).

    ``heads`` is a ``projection_heads.ProjectionHeads``; ``text_vectors`` (Q, 1024), normalised,
    replaces the projected text features when given; ``count_tokens`` finds the end-of-text
    row of padded text files without a mask (:func:`pooled_text_vectors`).
    """
    require_features(data, text=text_vectors is None)
    if text_vectors is None:
        text_vectors = heads.project("text", pooled_text_vectors(data, count_tokens))
    curves = split_curves(data, text_vectors, lambda chunk: heads.project("audio", chunk.frames))
    return submission_records(data.gt, peak_windows(curves, data.gt.durations, settings))
