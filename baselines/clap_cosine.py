"""clap-cosine, the control of seed 004: JointProj's localisation on the raw backbone space.

Per second, the cosine between the raw 768-d audio frame (no projection) and the mean of the
query's 768-d GPT-2 token features; then the same standardise / smooth / FWHM peaks as JointProj
(variant s1 unless told otherwise). It measures how much of JointProj comes from the projection.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines.jointproj import VARIANTS, PeakSettings, peak_windows
from baselines.zeroshot import (
    SplitData, cosine_curves, curve_lengths, load_audio_bank, load_text_features, require_features,
    submission_records, unit,
)


def clap_cosine(data: SplitData, settings: PeakSettings = VARIANTS["s1"]) -> list[dict[str, Any]]:
    require_features(data)
    bank = load_audio_bank(data)
    text = np.stack([t.mean(axis=0) for t in load_text_features(data)])
    rows = bank.row()
    curves = cosine_curves(unit(bank.frames), bank.offsets, unit(text),
                           np.array([rows[v] for v in data.gt.vids]), curve_lengths(data, bank))
    return submission_records(data.gt, peak_windows(curves, data.gt.durations, settings))
