"""What can be tuned: the planted signal's strengths, the two dataset styles, fixed constants."""

from __future__ import annotations

from dataclasses import dataclass

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
