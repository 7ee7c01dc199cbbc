"""Named, documented starting configurations of AM-DETR and LCS-DETR.

A preset is a set of overrides of the dataclass defaults (``config.py``); a run folder records the
preset's name (``config.json: "preset"``) and every resulting value. Sources:

- ``dcase2026``: the official DCASE 2026 Task 6 baseline code, tensor for tensor: the official
  module tree (``model.layout="qd-detr"``, ``qd_detr.QdDetr``: 7,123,237 trainable parameters),
  every stored text row un-normalised, the official targets (``data.targets="qd-detr"``), AdamW
  1e-4 / 1e-4, clip 0.1, batch 32, 200 epochs, no early stopping, selection by R1@0.7 (the
  official ``train.py`` since its "Modify monitor metric" commit), fp32, and the official
  prediction path (``predict.method="qd-detr"``, inference batches of 100). The preset table of
  ``docs/baselines.md`` names what every other preset differs in.
- ``lighthouse``: this package's module tree trained as the lighthouse library's QD-DETR
  configuration ("Lighthouse: A User-Friendly Library for Reproducible Video Moment Retrieval and
  Highlight Detection", arXiv 2408.02901): 200 epochs, selection by ``MR-full-mAP`` (our ``mAP``),
  no early stopping, fp32, saliency labels and hinge frames from the first window, at most 5
  randomly chosen target windows, PReLU in the text-to-audio layers, separate refinement and
  output span MLPs, a final decoder LayerNorm, xavier / N(0, 1) initialisation, predictions
  rounded to 1 s and clamped to 300 s (lighthouse clamps to 150 s in its Clotho-Moment configs, 300 s for
  CASTELLA; both are above every recording of those sets, so the clamp to the duration decides).
- ``paper``: AM-DETR as the 2024 paper trains it ("Language-based Audio Moment Retrieval",
  arXiv 2409.15672): the same QD-DETR code with 100 epochs, batch 32, lr 1e-4.
- ``lcs-report``: LCS-DETR as its technical report describes it ("Local Continuity Saliency DETR
  for Language-based Audio Moment Retrieval", DCASE 2026 technical report): continuity block into
  the audio stream, focal loss and focal matching cost, cosine schedule, ±10 % jitter, batch 2000,
  200 epochs, bf16. Its 73.08 R1@0.7 is not a number on any public split: the public code's
  configs train, validate and test on a re-split of Clotho-Moment's validation set
  (``clotho_moment_valid_{train,val,test}``); the report calls it "Clotho-Moment + CASTELLA".
- ``lcs-code``: LCS-DETR as its public code does it (``lcs_code.py``): gated text-to-audio layers
  with the input dropout (0.5), drop-path 0.1 and LayerNorms, CaiT-style class-attention pooling
  of the gate's text, β starting at 20, the continuity block feeding only the gate, a negative pair
  that skips the gate and the gated layers, softmax focal loss averaged over batch × queries, two
  ungated text-to-audio layers after the gated ones, a saliency amplifier and one self-attention
  layer before the decoder, the probability matching cost, fp32 (its configs' ``use_amp: False``).
- ``v0``: this implementation's first behaviour (its loss normalisations, selection by R1@0.7,
  early stopping after 20 evaluations, bf16 on CUDA, every window a target, ReLU, one shared span
  head); the measurements made before the presets existed used it.
- ``sim-cpu``: a small configuration that learns on the simulated benchmark on one CPU core in
  minutes: hidden 64, 4 heads, FFN 256, no dropout (the simulator's few hundred training queries
  do not learn with input dropout 0.5), batch 8, lr 1e-3, cosine schedule, 20 epochs, QD-DETR's
  losses; otherwise the dataclass defaults (selection by R1@0.7, every window as a target).

Defaults: ``am-detr`` -> ``dcase2026`` (the official network and recipe that produced the published
DCASE baseline numbers, so a plain ``amr-bench train am-detr`` on the real features is comparable
with them); ``lcs-detr`` -> ``lcs-report`` (the published description of the method).
"""

from __future__ import annotations

from typing import Any

from amr_bench_baselines.detr.config import DetrConfig

# QD-DETR code details shared by every preset that follows the official code.
QD_DETR_CODE: dict[str, Any] = {
    "model.t2a_activation": "prelu",
    "model.span_heads": "separate",
    "model.decoder_norm": True,
    "model.init": "qd-detr",
    "data.saliency_labels": "first",
    "data.max_windows": 5,
    "data.pairs_without_replacement": True,
    "loss.reduction": "qd-detr",
    "train.select_metric": "mAP",
    "train.patience": 0,
    "train.bf16": False,
    "train.schedule": "constant",
}

# The official DCASE 2026 Task 6 baseline code (its src/: qd_detr.py, qd_detr_transformer.py,
# dataset.py, train.py, evaluate.py, postprocessing.py and config.yml), tensor for tensor.
DCASE2026: dict[str, Any] = {
    "model.layout": "qd-detr",
    "model.text_positions": 32,
    "data.max_audio_frames": 300,
    "data.max_text_tokens": 0,
    "data.normalize": True,
    "data.normalize_text": False,
    "data.targets": "qd-detr",
    "data.max_windows": 5,
    "loss.reduction": "qd-detr",
    "loss.class_loss": "ce",
    "loss.match_class_cost": "prob",
    "train.epochs": 200,
    "train.batch_size": 32,
    "train.lr": 1e-4,
    "train.weight_decay": 1e-4,
    "train.grad_clip": 0.1,
    "train.schedule": "constant",
    "train.select_metric": "R1@0.7",
    "train.patience": 0,
    "train.bf16": False,
    "predict.method": "qd-detr",
    "predict.round_to": 1.0,
    "predict.max_seconds": 300.0,
    "predict.batch_size": 100,
}

LIGHTHOUSE: dict[str, Any] = {
    **QD_DETR_CODE,
    "train.epochs": 200,
    "predict.round_to": 1.0,
    "predict.max_seconds": 300.0,  # lighthouse: 150 s (Clotho-Moment configs) or 300 s (CASTELLA)
}

PAPER: dict[str, Any] = {**QD_DETR_CODE, "train.epochs": 100}

LCS_SHARED: dict[str, Any] = {
    "model.name": "lcs-detr",
    "model.saliency_gate": True,
    "model.continuity_block": True,
    "loss.class_loss": "focal",
    "loss.reduction": "qd-detr",
    "train.schedule": "cosine",
    "data.jitter": 0.1,
    "train.epochs": 200,
    "train.batch_size": 2000,
}

LCS_REPORT: dict[str, Any] = {
    **LCS_SHARED,
    "model.continuity_target": "features",
    "loss.match_class_cost": "focal",
    "train.bf16": True,
}

LCS_CODE: dict[str, Any] = {
    **LCS_SHARED,
    "model.continuity_target": "gate",
    "model.gated_layers": "lcs-code",  # lcs_code.py: gated layers, class-attention pooling, ungated negative
    "model.text_pool": "class-attention",
    "model.gate_init_beta": 20.0,
    "model.ungated_t2a_layers": 2,
    "model.saliency_amplifier": True,
    "loss.match_class_cost": "prob",
    "loss.class_loss": "softmax-focal",
    "train.bf16": False,  # the code's configs: use_amp False (the report says bf16)
}

SIM_CPU: dict[str, Any] = {
    "model.hidden": 64,
    "model.ffn": 256,
    "model.heads": 4,
    "model.dropout": 0.0,
    "model.input_dropout": 0.0,
    "train.lr": 1e-3,
    "train.batch_size": 8,
    "train.schedule": "cosine",
    "train.epochs": 20,
    "train.patience": 0,
    "loss.reduction": "qd-detr",
}

V0: dict[str, Any] = {"loss.reduction": "per-moment"}  # the dataclass defaults otherwise
V0_LCS: dict[str, Any] = {
    **V0,
    "model.saliency_gate": True,
    "model.continuity_block": True,
    "loss.class_loss": "focal",
    "loss.match_class_cost": "focal",
    "train.schedule": "cosine",
    "data.jitter": 0.1,
}

PRESETS: dict[str, dict[str, Any]] = {
    "dcase2026": DCASE2026,
    "lighthouse": LIGHTHOUSE,
    "paper": PAPER,
    "lcs-report": LCS_REPORT,
    "lcs-code": LCS_CODE,
    "sim-cpu": SIM_CPU,
    "v0": V0,
}
DEFAULT_PRESET = {"am-detr": "dcase2026", "lcs-detr": "lcs-report"}
LCS_ONLY = ("lcs-report", "lcs-code")
AM_DETR_ONLY = ("dcase2026",)  # the official network has no place for LCS-DETR's gate

PRESET_HELP = {
    "dcase2026": "the official DCASE 2026 Task 6 baseline network and recipe, tensor for tensor (default)",
    "lighthouse": "the lighthouse library's QD-DETR recipe (200 epochs, mAP selection, text truncated and normalised)",
    "paper": "AM-DETR as in arXiv 2409.15672 (QD-DETR code, 100 epochs)",
    "lcs-report": "LCS-DETR as its technical report describes it",
    "lcs-code": "LCS-DETR as its public code does it",
    "sim-cpu": "small configuration that learns on the simulator on one CPU core in minutes",
    "v0": "this implementation's first behaviour (before the presets)",
}


def preset_overrides(model: str, preset: str | None = None) -> tuple[str, dict[str, Any]]:
    """(preset name, overrides) for ``model``; ``ValueError`` names the known ones."""
    if model not in DEFAULT_PRESET:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(DEFAULT_PRESET)}")
    name = preset or DEFAULT_PRESET[model]
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    if model == "am-detr" and name in LCS_ONLY:
        raise ValueError(f"preset {name!r} is for lcs-detr; am-detr presets: dcase2026, lighthouse, paper, sim-cpu, v0")
    if model == "lcs-detr" and name in AM_DETR_ONLY:
        raise ValueError(f"preset {name!r} is the official AM-DETR network; lcs-detr presets: lcs-report, lcs-code")
    overrides = dict(PRESETS[name])
    if model == "lcs-detr" and name == "v0":
        overrides = dict(V0_LCS)
    elif model == "lcs-detr" and name not in LCS_ONLY:
        # an AM-DETR preset applied to LCS-DETR: the report's LCS parts on top
        overrides = {**overrides, **{k: v for k, v in LCS_REPORT.items() if k.startswith("model.")}}
        overrides.update({"loss.class_loss": "focal", "loss.match_class_cost": "focal", "data.jitter": 0.1})
    overrides["model.name"] = model
    return name, overrides


def preset_config(model: str, preset: str | None = None) -> DetrConfig:
    """The full configuration of ``model`` under ``preset`` (default: the model's default preset)."""
    name, overrides = preset_overrides(model, preset)
    cfg = DetrConfig().override(overrides)
    cfg.preset = name
    return cfg
