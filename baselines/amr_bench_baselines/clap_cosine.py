"""clap-cosine, the control of JointProj (docs/baselines.md): JointProj's localisation on the raw backbone space.

Per second, the cosine between the raw 768-d audio frame (no projection) and the mean of the
query's 768-d GPT-2 token features; then the same standardise / smooth / FWHM peaks as JointProj
(variant s1 unless told otherwise). It measures how much of JointProj comes from the projection.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from amr_bench_baselines.jointproj import VARIANTS, PeakSettings, peak_windows
from amr_bench_baselines.zeroshot import (
    SplitData,
    load_text_features,
    require_features,
    split_curves,
    submission_records,
    unit,
)


def clap_cosine(data: SplitData, settings: PeakSettings = VARIANTS["s1"]) -> list[dict[str, Any]]:
    require_features(data)
    text = np.stack([t.mean(axis=0) for t in load_text_features(data)])
    curves = split_curves(data, unit(text), lambda chunk: torch.from_numpy(unit(chunk.frames)))
    return submission_records(data.gt, peak_windows(curves, data.gt.durations, settings))
