"""clap-cosine, JointProj's control: the same localisation on the raw backbone space.

Per second, the cosine between the raw 768-d audio frame (no projection) and the query's pooled
768-d GPT-2 vector (its end-of-text row, the one MS-CLAP's caption encoder pools:
:mod:`amr_bench_baselines.zeroshot.pooled_text`); then the same standardise / smooth / FWHM peaks as
JointProj (variant s1 unless told otherwise). It measures how much of JointProj comes from the
projection. No weights are needed at all.
"""

from __future__ import annotations

from typing import Any

import torch

from amr_bench_baselines.zeroshot.curves import (
    SplitData,
    require_features,
    split_curves,
    submission_records,
    unit,
)
from amr_bench_baselines.zeroshot.jointproj import VARIANTS, PeakSettings, peak_windows
from amr_bench_baselines.zeroshot.pooled_text import TokenCounter, pooled_text_vectors


def clap_cosine(
    data: SplitData, settings: PeakSettings = VARIANTS["s1"], count_tokens: TokenCounter | None = None
) -> list[dict[str, Any]]:
    require_features(data)
    text = pooled_text_vectors(data, count_tokens)
    curves = split_curves(data, unit(text), lambda chunk: torch.from_numpy(unit(chunk.frames)))
    return submission_records(data.gt, peak_windows(curves, data.gt.durations, settings))
