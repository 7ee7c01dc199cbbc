"""Checkpoints of the official DCASE 2026 Task 6 baseline in and out, without unpickling code.

The official ``train.py`` saves ``torch.save({"model": state_dict, "optimizer": ...,
"lr_scheduler": ..., "epoch": int, "opt": easydict.EasyDict})`` (its ``basic_utils.save_checkpoint``)
and its ``evaluate.py`` reads ``checkpoint["model"]``. Reading one here:

- ``torch.load(..., weights_only=True)``: tensors, numbers, strings, lists, tuples and dicts only;
  the one extra name allowed is ``easydict.EasyDict``, mapped to ``collections.OrderedDict``
  (whose pickle protocol an EasyDict's matches: items, then attributes) and handed on as a plain
  dict. ``easydict`` is never imported; any other class or function in the file is refused
  with the name torch found, before anything of it runs.
- the configuration comes from ``opt`` when it is there (``config_from_options``: the official
  option names -> ``DetrConfig`` on the ``dcase2026`` preset); otherwise from the tensor shapes.

``export_official`` writes the same layout from a model of the ``qd-detr`` layout, which the
official ``evaluate.py`` loads.
"""

from __future__ import annotations

import os
import pickle
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from amr_bench.errors import InputError, Problem
from amr_bench_baselines.detr.config import DetrConfig
from amr_bench_baselines.detr.model import MomentDetr, build_model
from amr_bench_baselines.detr.presets import preset_config

EASYDICT = "easydict.EasyDict"

# official option -> DetrConfig key (the official config.yml names)
OPTION_KEYS: dict[str, str] = {
    "hidden_dim": "model.hidden",
    "nheads": "model.heads",
    "dim_feedforward": "model.ffn",
    "enc_layers": "model.encoder_layers",
    "dec_layers": "model.decoder_layers",
    "num_queries": "model.queries",
    "n_input_proj": "model.input_layers",
    "input_dropout": "model.input_dropout",
    "dropout": "model.dropout",
    "a_feat_dim": "model.audio_dim",
    "t_feat_dim": "model.text_dim",
    "max_q_l": "model.text_positions",
    "max_a_l": "data.max_audio_frames",
    "max_windows": "data.max_windows",
    "saliency_margin": "loss.saliency_margin",
    "set_cost_span": "loss.cost_span",
    "set_cost_giou": "loss.cost_giou",
    "set_cost_class": "loss.cost_class",
    "span_loss_coef": "loss.span_weight",
    "giou_loss_coef": "loss.giou_weight",
    "label_loss_coef": "loss.class_weight",
    "eos_coef": "loss.background_weight",
    "lw_saliency": "loss.saliency_weight",
    "aux_loss": "loss.aux_loss",
    "lr": "train.lr",
    "wd": "train.weight_decay",
    "n_epoch": "train.epochs",
    "bsz": "train.batch_size",
    "grad_clip": "train.grad_clip",
    "seed": "train.seed",
    "clip_length": "predict.round_to",
    "eval_bsz": "predict.batch_size",
}
# official options whose other values this implementation does not have
REQUIRED_OPTIONS: dict[str, tuple[Any, ...]] = {
    "span_loss_type": ("l1",),
    "position_embedding": ("sine", "v2"),
    "ctx_mode": ("audio_tef",),
    "model_name": ("qd_detr",),
}

# official options that the official evaluate.py takes from its config.yml (not from the checkpoint)
# and that change its predictions: the tensor shapes, the number of heads, the cuts and the grid
INFERENCE_OPTIONS: tuple[str, ...] = (
    "hidden_dim",
    "nheads",
    "dim_feedforward",
    "enc_layers",
    "dec_layers",
    "num_queries",
    "n_input_proj",
    "a_feat_dim",
    "t_feat_dim",
    "max_q_l",
    "max_a_l",
    "clip_length",
)
# settings the official code has no option for: DetrConfig key -> the values that do what it does
FIXED_IN_OFFICIAL: dict[str, tuple[Any, ...]] = {
    "data.normalize": (True,),
    "data.normalize_text": (False,),
    "data.max_text_tokens": (0,),
    "predict.method": ("qd-detr",),
    "predict.max_seconds": (0.0, 300.0),
}


@dataclass
class OfficialCheckpoint:
    state: dict[str, torch.Tensor]
    options: dict[str, Any] | None  # ``opt`` as a plain dict, if the file has one
    epoch: int | None


def plain(value: Any) -> Any:
    """OrderedDicts (the mapped EasyDicts) -> dicts, recursively."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    return value


def refusal(path: Path, message: str) -> InputError:
    return InputError([Problem(str(path), None, message)], f"{path}: not loaded: {message}")


def unpickler_detail(message: str) -> str:
    """The useful part of torch's weights-only refusal: the global it met, or its first sentence."""
    found = re.search(r"GLOBAL ([\w.]+)", message)
    if found:
        return f"it names {found.group(1)}"
    found = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n\n|$)", message, re.S)
    return " ".join((found.group(1) if found else message).split())[:200]


def read_official(path: str | Path) -> OfficialCheckpoint:
    """The state dict, options and epoch of an official ``.pth`` (or of a bare saved state dict)."""
    path = Path(path)
    try:
        with torch.serialization.safe_globals([(OrderedDict, EASYDICT)]):
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "GLOBAL" not in str(exc):
            raise refusal(path, f"not a readable torch checkpoint: {unpickler_detail(str(exc))}") from None
        raise refusal(
            path,
            "refused: it holds objects other than tensors, numbers, strings, lists and dicts "
            f"(and the options' easydict.EasyDict), which could run code when loaded: {unpickler_detail(str(exc))}",
        ) from None
    except Exception as exc:  # weights_only runs no code: anything else torch raises means "not a checkpoint"
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise refusal(path, f"not a readable torch checkpoint: {detail}") from None
    if isinstance(raw, dict) and raw and all(isinstance(v, torch.Tensor) for v in raw.values()):
        return OfficialCheckpoint(dict(raw), None, None)
    if not isinstance(raw, dict) or not isinstance(raw.get("model"), dict):
        raise refusal(path, 'expected the official layout {"model": state_dict, "opt": ..., ...} or a state dict')
    state = raw["model"]
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise refusal(path, f'"model" holds non-tensor entries: {", ".join(map(str, bad[:5]))}')
    options = plain(raw.get("opt")) if isinstance(raw.get("opt"), dict) else None
    epoch = raw.get("epoch") if isinstance(raw.get("epoch"), int) else None
    return OfficialCheckpoint(dict(state), options, epoch)


def shape_options(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """What the tensor shapes say about the network (every option but the number of heads)."""

    def count(prefix: str) -> int:
        return len({k[len(prefix) :].split(".")[0] for k in state if k.startswith(prefix)})

    out: dict[str, Any] = {}
    if "global_rep_token" in state:
        out["model.hidden"] = int(state["global_rep_token"].shape[0])
    if "query_embed.weight" in state:
        out["model.queries"] = int(state["query_embed.weight"].shape[0])
    if "txt_position_embed.position_embeddings.weight" in state:
        out["model.text_positions"] = int(state["txt_position_embed.position_embeddings.weight"].shape[0])
    if "transformer.encoder.layers.0.linear1.weight" in state:
        out["model.ffn"] = int(state["transformer.encoder.layers.0.linear1.weight"].shape[0])
    if "input_aud_proj.0.LayerNorm.weight" in state:
        out["model.audio_dim"] = int(state["input_aud_proj.0.LayerNorm.weight"].shape[0]) - 2
    if "input_txt_proj.0.LayerNorm.weight" in state:
        out["model.text_dim"] = int(state["input_txt_proj.0.LayerNorm.weight"].shape[0])
    for key, prefix in (
        ("model.encoder_layers", "transformer.encoder.layers."),
        ("model.decoder_layers", "transformer.decoder.layers."),
        ("model.input_layers", "input_txt_proj."),
    ):
        if count(prefix):
            out[key] = count(prefix)
    return out


def config_from_options(
    options: dict[str, Any] | None, state: dict[str, torch.Tensor], path: Path | None = None
) -> DetrConfig:
    """The ``dcase2026`` preset with the official options (or, without them, the shapes) applied."""
    where = path or Path("<checkpoint>")
    overrides = shape_options(state)
    if options:
        for name, allowed in REQUIRED_OPTIONS.items():
            if name in options and options[name] not in allowed:
                raise refusal(
                    where,
                    f"option {name}={options[name]!r} is not supported (supported: {', '.join(map(str, allowed))})",
                )
        overrides.update({key: options[name] for name, key in OPTION_KEYS.items() if name in options})
    try:
        cfg = preset_config("am-detr", "dcase2026").override(overrides)
    except (ValueError, TypeError) as exc:
        raise refusal(where, f"its options do not make a configuration: {exc}") from None
    cfg.preset = "dcase2026"
    return cfg


def load_official_model(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[MomentDetr, DetrConfig, dict[str, Any]]:
    """Model (eval mode), configuration and metadata of an official checkpoint file."""
    path = Path(path)
    ckpt = read_official(path)
    cfg = config_from_options(ckpt.options, ckpt.state, path)
    model = build_model(cfg.model)
    try:
        model.load_state_dict(ckpt.state)
    except RuntimeError as exc:
        raise refusal(
            path, f"its tensors do not fit the official network: {' '.join(str(exc).split())[:400]}"
        ) from None
    model.to(device).eval()
    return model, cfg, {"epoch": ckpt.epoch, "official_checkpoint": str(path)}


def official_options(cfg: DetrConfig) -> dict[str, Any]:
    """The official option names and values of ``cfg`` (the inverse of ``config_from_options``)."""
    flat = {
        f"{section}.{k}": v
        for section, values in cfg.to_dict().items()
        if isinstance(values, dict)
        for k, v in values.items()
    }
    out: dict[str, Any] = {name: flat[key] for name, key in OPTION_KEYS.items()}
    out.update({"span_loss_type": "l1", "position_embedding": "sine", "ctx_mode": "audio_tef", "model_name": "qd_detr"})
    return out


def config_yml_changes(cfg: DetrConfig) -> dict[str, tuple[Any, Any]]:
    """Official options whose value in ``cfg`` is not the official config.yml's: name -> (``cfg``'s,
    config.yml's). The official evaluate.py builds its network from config.yml, so it predicts as
    this model only with these edited there (``nheads`` even loads silently with the wrong value)."""
    mine, stock = official_options(cfg), official_options(preset_config("am-detr", "dcase2026"))
    return {name: (mine[name], stock[name]) for name in INFERENCE_OPTIONS if mine[name] != stock[name]}


def settings_official_cannot_express(cfg: DetrConfig) -> list[str]:
    """``KEY=VALUE`` for each setting of ``cfg`` that the official code has no option for and does
    otherwise: the official evaluate.py predicts differently from this model whatever config.yml says."""
    flat = {
        f"{section}.{k}": v
        for section, values in cfg.to_dict().items()
        if isinstance(values, dict)
        for k, v in values.items()
    }
    return [f"{key}={flat[key]!r}" for key, allowed in FIXED_IN_OFFICIAL.items() if flat[key] not in allowed]


def export_official(model: torch.nn.Module, cfg: DetrConfig, out: str | Path, epoch: int = -1) -> Path:
    """Write ``out`` as the official ``train.py`` does (``"opt"`` a plain dict); atomically."""
    if cfg.model.layout != "qd-detr":
        raise ValueError(
            "only the qd-detr layout (preset dcase2026) has the official tensor names; "
            f"this model is {cfg.model.layout!r}"
        )
    out = Path(out)
    state = OrderedDict((k, v.detach().cpu().contiguous()) for k, v in model.state_dict().items())
    payload = {"model": state, "optimizer": None, "lr_scheduler": None, "epoch": epoch, "opt": official_options(cfg)}
    tmp = out.with_name(out.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, out)
    return out


def official_state_for_init(path: Path) -> dict[str, torch.Tensor]:
    """``train --init`` from an official checkpoint: its weights only."""
    return read_official(path).state
