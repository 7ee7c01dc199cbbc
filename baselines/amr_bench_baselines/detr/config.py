"""One typed configuration for AM-DETR and LCS-DETR: model, matching, losses, data and training.

The dataclass defaults are the reference hyperparameters of QD-DETR as AM-DETR uses it
("Language-based Audio Moment Retrieval", arXiv 2409.15672; docs/ in the repository): hidden 256,
8 heads, FFN 1024, 10 queries, dropout 0.1, input dropout 0.5, AdamW lr 1e-4, weight decay 1e-4,
batch 32, gradient clip 0.1, matching costs span 10 / gIoU 1 / class 4, loss weights span 10 /
gIoU 1 / class 4 / saliency 1, hinge margin 0.2, and QD-DETR's exact loss normalisations.

Architecture and protocol details where the official code and this implementation's first
version differ are named options whose dataclass default is the first version's behaviour, so
an old run folder's ``config.json`` loads into the same model. What a user gets by default is a
*preset* (``amr_bench_baselines.detr.presets``): ``dcase2026`` for AM-DETR (the official network,
``model.layout="qd-detr"``), ``lcs-report`` for LCS-DETR.

The config is a plain dataclass of scalars, so it round-trips through JSON (checkpoints store it
as ``config.json``; no pickled objects).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, Literal

ClassLoss = Literal["ce", "focal", "softmax-focal"]  # softmax-focal: LCS-DETR's public code (lcs_code.py)
MatchClassCost = Literal["prob", "focal"]
ContinuityTarget = Literal["features", "gate"]
Schedule = Literal["cosine", "step", "constant"]
Activation = Literal["relu", "prelu"]
SpanHeads = Literal["shared", "separate"]
Init = Literal["default", "qd-detr"]
TextPool = Literal["mean", "attention", "class-attention"]  # class-attention: only with gated_layers="lcs-code"
# "qd-detr": the QD-DETR text-to-audio layer, gate scaling its output; "lcs-code": LCS-DETR's public
# code (projection-free attention, gate on the weights, drop-path; amr_bench_baselines.detr.lcs_code)
GatedLayers = Literal["qd-detr", "lcs-code"]
# "amr-bench": this implementation's module tree (``model.MomentDetr``); "qd-detr": the official
# DCASE 2026 baseline's module tree, tensor for tensor (``qd_detr.QdDetr``, the dcase2026 preset).
Layout = Literal["amr-bench", "qd-detr"]
# "amr-bench": windows clipped to the recording, saliency frames floor(s)..ceil(e)-1, hinge pairs
# only where both kinds of frame exist; "qd-detr": the official StartEndDataset's targets.
TargetRule = Literal["amr-bench", "qd-detr"]
# "amr-bench": spans x frames, clamped to the duration with a minimum width; "qd-detr": the
# official evaluate.py path (spans x duration, 4 decimals, PostProcessorDETR clamp and rounding).
PredictMethod = Literal["amr-bench", "qd-detr"]
# "qd-detr": the published code's means (span L1 over N x 2 numbers, gIoU over N, class CE over
# B x Q after weighting, rank-contrastive / 12 label levels, hinge sum / (B * P) * 2, focal mean);
# "per-moment": this implementation's first normalisations (sums / number of moments, weighted CE
# mean, rank-contrastive not divided, hinge mean over pairs / B).
Reduction = Literal["qd-detr", "per-moment"]
SaliencyLabels = Literal["all", "first"]


@dataclass
class ModelConfig:
    """Architecture. ``name`` selects the entry of ``amr_bench_baselines.detr.model.MODELS``."""

    name: str = "am-detr"
    layout: Layout = "amr-bench"
    text_positions: int = 32  # (qd-detr layout) rows of the unused text position table (max_q_l)
    audio_dim: int = 768
    text_dim: int = 768
    hidden: int = 256
    heads: int = 8
    ffn: int = 1024
    queries: int = 10
    t2a_layers: int = 2
    encoder_layers: int = 2
    decoder_layers: int = 2
    dropout: float = 0.1
    input_dropout: float = 0.5
    input_layers: int = 2
    use_endpoint_feature: bool = True
    # LCS-DETR parts (off for AM-DETR).
    saliency_gate: bool = False
    continuity_block: bool = False
    continuity_kernel: int = 5
    # "features": the block's output replaces the audio stream (the report, eq. 3);
    # "gate": it only feeds the saliency gate (the public code).
    continuity_target: ContinuityTarget = "features"
    gate_init_alpha: float = 0.0
    gate_init_beta: float = 1.0
    # QD-DETR / lighthouse details (defaults: this implementation's first version).
    t2a_activation: Activation = "relu"  # lighthouse: PReLU in the text-to-audio layers' FFN
    span_heads: SpanHeads = "shared"  # "separate": a refinement MLP + an output MLP on undetached references
    decoder_norm: bool = False  # a final LayerNorm on the decoder outputs the heads read
    init: Init = "default"  # "qd-detr": xavier-uniform transformer weights, N(0,1) global token and anchors
    # LCS-DETR public-code details (off: the report's description).
    text_pool: TextPool = "mean"  # the gate's pooled text: masked mean or learned attention pooling
    ungated_t2a_layers: int = 0  # text-to-audio layers without the gate after the gated ones (code: 2)
    saliency_amplifier: bool = False  # frames scaled by (1 + gate) and one self-attention layer before the decoder
    gated_layers: GatedLayers = "qd-detr"  # "lcs-code": also class-attention text pooling and an ungated negative
    drop_path: float = 0.1  # stochastic depth of the "lcs-code" gated layers' residual branches


@dataclass
class LossConfig:
    """Matching costs and loss weights."""

    cost_span: float = 10.0
    cost_giou: float = 1.0
    cost_class: float = 4.0
    match_class_cost: MatchClassCost = "prob"
    span_weight: float = 10.0
    giou_weight: float = 1.0
    class_weight: float = 4.0
    saliency_weight: float = 1.0
    class_loss: ClassLoss = "ce"
    background_weight: float = 0.1
    focal_gamma: float = 2.0
    focal_alpha: float = 0.25
    saliency_margin: float = 0.2
    saliency_pairs: int = 2
    rank_contrastive_tau: float = 0.5
    rank_levels: int = 12  # QD-DETR divides its loop over label levels by 12
    aux_loss: bool = True
    reduction: Reduction = "qd-detr"


@dataclass
class DataConfig:
    """How features become tensors."""

    max_audio_frames: int = 300
    max_text_tokens: int = 32  # 0: every stored row (DCASE code)
    normalize: bool = True
    jitter: float = 0.0  # +-fraction of each ground-truth window's length (LCS-DETR report: 0.1)
    num_workers: int = 0
    saliency_labels: SaliencyLabels = "all"  # lighthouse: "first" (saliency and hinge frames from window 1)
    max_windows: int = 0  # at most this many randomly chosen target windows per query (lighthouse: 5; 0 = all)
    pairs_without_replacement: bool = False  # hinge frames drawn without replacement (QD-DETR)
    normalize_text: bool = True  # L2-normalise text rows too (when ``normalize``); DCASE code: False
    targets: TargetRule = "amr-bench"


@dataclass
class TrainConfig:
    """Optimisation, selection and run control."""

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 1e-4
    grad_clip: float = 0.1
    schedule: Schedule = "constant"
    warmup_epochs: int = 0
    step_size: int = 40  # epochs between lr drops for the "step" schedule
    step_gamma: float = 0.1
    select_metric: str = "R1@0.7"
    eval_every: int = 1
    patience: int = 20  # evaluations without improvement before stopping (0: never stop early)
    bf16: bool = True  # used only on CUDA
    compile: bool = False
    seed: int = 0
    deterministic: bool = True


@dataclass
class PredictConfig:
    """How outputs become windows (lighthouse rounds to 1 s and clamps to a maximum length)."""

    round_to: float = 0.0  # seconds; 0 = no rounding
    max_seconds: float = 0.0  # windows clamped to [0, max_seconds] as well as the duration; 0 = no clamp
    method: PredictMethod = "amr-bench"
    batch_size: int = 0  # queries per inference batch (0: the caller's); the official eval_bsz is 100


@dataclass
class DetrConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    preset: str = ""  # the preset this config started from ("" = none)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DetrConfig:
        """Rebuild from ``to_dict()`` output; unknown keys are an error (a typo must not pass)."""
        parts: dict[str, Any] = {"preset": str(raw.get("preset", ""))}
        for f in fields(cls):
            if f.name not in SECTIONS:
                continue
            sub_cls = SECTIONS[f.name]
            values = dict(raw.get(f.name, {}))
            known = {sf.name for sf in fields(sub_cls)}
            unknown = sorted(set(values) - known)
            if unknown:
                raise ValueError(f"unknown {f.name} config keys: {', '.join(unknown)}")
            parts[f.name] = sub_cls(**values)
        extra = sorted(set(raw) - {f.name for f in fields(cls)})
        if extra:
            raise ValueError(f"unknown config sections: {', '.join(extra)}")
        return cls(**parts)

    def override(self, dotted: dict[str, Any]) -> DetrConfig:
        """A copy with ``{"train.lr": 3e-4, "model.hidden": 32}``-style overrides applied."""
        raw = self.to_dict()
        for key, value in dotted.items():
            section, _, name = key.partition(".")
            if section not in SECTIONS or name not in raw[section]:
                raise ValueError(f"unknown config key {key!r}")
            raw[section][name] = value
        return DetrConfig.from_dict(raw)


SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "loss": LossConfig,
    "data": DataConfig,
    "train": TrainConfig,
    "predict": PredictConfig,
}


def for_model(name: str, preset: str | None = None) -> DetrConfig:
    """The configuration of ``am-detr`` or ``lcs-detr`` from ``preset`` (default: the model's default preset)."""
    from amr_bench_baselines.detr.presets import preset_config

    return preset_config(name, preset)
