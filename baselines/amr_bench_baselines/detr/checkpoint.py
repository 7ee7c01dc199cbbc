"""Checkpoints without pickle: ``model.safetensors`` + ``config.json`` + ``meta.json``.

A checkpoint is a folder::

    model.safetensors       the weights that were scored (no EMA: the trained weights)
    config.json             DetrConfig.to_dict()
    meta.json               amr-bench version, seed, data hashes, epoch, metric history, ...
    optimizer.safetensors   (only in ``last/``) AdamW moments, for ``--resume``
    optimizer.json          (only in ``last/``) step counters, scheduler position, param order

Everything is tensors or JSON, so loading never executes code (the safety ``weights_only=True``
gives ``torch.load``, by construction). Folders are written to a temporary sibling and renamed,
so a crash never leaves a half-written checkpoint under the final name.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from amr_bench_baselines.detr.config import DetrConfig
from amr_bench_baselines.detr.model import MomentDetr, build_model

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
META_FILE = "meta.json"
OPT_FILE = "optimizer.safetensors"
OPT_META_FILE = "optimizer.json"


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def save_checkpoint(
    folder: str | Path,
    model: torch.nn.Module,
    cfg: DetrConfig,
    meta: dict[str, Any],
    optimizer: torch.optim.Optimizer | None = None,
    scheduler_state: dict[str, Any] | None = None,
) -> Path:
    """Write (or atomically replace) the checkpoint folder ``folder``."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)  # our own leftover from an interrupted save, never a user's folder
    tmp.mkdir(parents=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(tmp / MODEL_FILE), metadata={"format": "pt"})
    _write_json(tmp / CONFIG_FILE, cfg.to_dict())
    _write_json(tmp / META_FILE, meta)
    if optimizer is not None:
        tensors, counters = optimizer_state(model, optimizer)
        save_file(tensors, str(tmp / OPT_FILE))
        _write_json(tmp / OPT_META_FILE, {"counters": counters, "scheduler": scheduler_state or {}})
    old = folder.with_name(folder.name + ".old")
    if folder.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(folder, old)
    os.replace(tmp, folder)
    if old.exists():
        shutil.rmtree(old)
    return folder


def optimizer_state(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """AdamW state as named tensors (``exp_avg/<param>``) plus step counters."""
    names = {id(p): n for n, p in model.named_parameters()}
    tensors: dict[str, torch.Tensor] = {}
    counters: dict[str, float] = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            st = optimizer.state.get(p, {})
            name = names[id(p)]
            for key, value in st.items():
                if key == "step":
                    counters[name] = float(value)
                else:
                    tensors[f"{key}/{name}"] = value.detach().contiguous().cpu()
    return tensors, counters


def load_optimizer_state(
    folder: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """Restore what ``optimizer_state`` saved; returns the saved scheduler state."""
    folder = Path(folder)
    tensors = load_file(str(folder / OPT_FILE))
    extra = json.loads((folder / OPT_META_FILE).read_text())
    params = dict(model.named_parameters())
    for key, value in tensors.items():
        slot, _, name = key.partition("/")
        p = params[name]
        optimizer.state[p][slot] = value.to(p.device)
    for name, step in extra["counters"].items():
        optimizer.state[params[name]]["step"] = torch.tensor(step)
    return dict(extra.get("scheduler", {}))


def load_checkpoint(
    folder: str | Path, device: str | torch.device = "cpu"
) -> tuple[MomentDetr, DetrConfig, dict[str, Any]]:
    """Build the model from ``config.json`` and load ``model.safetensors`` (strict)."""
    folder = Path(folder)
    cfg = DetrConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text()))
    meta = json.loads((folder / META_FILE).read_text()) if (folder / META_FILE).exists() else {}
    model = build_model(cfg.model)
    model.load_state_dict(load_file(str(folder / MODEL_FILE), device=str(device)))
    model.to(device).eval()
    return model, cfg, meta


def load_weights_into(model: torch.nn.Module, folder: str | Path) -> tuple[list[str], list[str]]:
    """``--init``: copy matching weights from a checkpoint folder, or from an official ``.pth``
    file (weights only, read safely), non-strict; returns (missing, unexpected)."""
    if Path(folder).is_file():
        from amr_bench_baselines.detr.official_checkpoint import official_state_for_init

        state = official_state_for_init(Path(folder))
    else:
        state = load_file(str(Path(folder) / MODEL_FILE))
    mine = model.state_dict()
    wrong = [k for k, v in state.items() if k in mine and mine[k].shape != v.shape]
    if wrong:
        from amr_bench.errors import InputError, Problem

        message = f"tensors of another shape than this model's: {', '.join(wrong[:5])}"
        raise InputError([Problem(str(folder), None, message)], f"--init {folder}: does not fit this model")
    result = model.load_state_dict(state, strict=False)
    return list(result.missing_keys), list(result.unexpected_keys)


def is_checkpoint(folder: str | Path) -> bool:
    return (Path(folder) / MODEL_FILE).is_file() and (Path(folder) / CONFIG_FILE).is_file()
