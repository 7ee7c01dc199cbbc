"""MS-CLAP 2023 weights files: where they are, and a flat ``{name: tensor}`` from one (no msclap).

A weights file is MS-CLAP's own checkpoint ``CLAP_weights_2023.pth`` (``{"model": state_dict,
...}``), any ``.pth``/``.pt`` state dict with MS-CLAP's parameter names, or an ``.npz`` of arrays
with those names (e.g. a simulated dataset's ``clap_projection.npz``).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from amr_bench.errors import InputError, Problem, UsageError

WEIGHTS_ENV = "AMR_BENCH_CLAP_WEIGHTS"
HUB_REPO = "microsoft/msclap"  # where msclap's own wrapper downloads the weights from
HUB_FILE = "CLAP_weights_2023.pth"
GET_WEIGHTS_HINT = (
    "get them with:  pip install huggingface_hub && "
    f"huggingface-cli download {HUB_REPO} {HUB_FILE} --local-dir .  "
    f"then pass --clap-weights ./{HUB_FILE} (or set {WEIGHTS_ENV})"
)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A flat ``{name: tensor}`` from a ``.pth``/``.pt`` checkpoint or an ``.npz`` of arrays.

    ``.pth`` files are read with ``torch.load(weights_only=True)``; a checkpoint that holds more
    than tensors and plain containers is read as a full pickle (the weights file is trusted: the
    user named it). A ``"model"`` entry is the state dict; a ``module.`` prefix (DDP) is removed.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            [Problem(str(path), None, "weights file not found; " + GET_WEIGHTS_HINT)], f"weights file not found: {path}"
        )
    try:
        flat = _read_npz(path) if path.suffix == ".npz" else _read_checkpoint(path)
    except Exception as exc:
        raise InputError(
            [Problem(str(path), None, f"unreadable weights file: {exc}")], f"unreadable weights file: {path}"
        ) from None
    return {k.removeprefix("module."): v for k, v in flat.items() if isinstance(v, torch.Tensor)}


def _read_npz(path: Path) -> dict[str, torch.Tensor]:
    with np.load(path, allow_pickle=False) as z:
        return {k: torch.from_numpy(np.array(z[k])) for k in z.files}


def _read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    flat = obj.get("model", obj) if isinstance(obj, dict) else obj
    if not isinstance(flat, dict):
        raise ValueError(f"expected a state dict, found {type(flat).__name__}")
    return flat


@dataclass
class LoadReport:
    """What ``load_state_dict(strict=False)`` said, plus where the weights came from."""

    source: str
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"MS-CLAP weights: {self.source}"]
        for what, keys in (("missing", self.missing), ("unexpected", self.unexpected)):
            if keys:
                shown = ", ".join(keys[:5]) + (f" ... ({len(keys)} in all)" if len(keys) > 5 else "")
                out.append(f"  {len(keys)} {what} key(s): {shown}")
        return out


def resolve_weights(weights: str | Path | None, download: bool = True) -> Path:
    """The local weights file: the argument, else ``$AMR_BENCH_CLAP_WEIGHTS``, else the hub download."""
    chosen = weights or os.environ.get(WEIGHTS_ENV)
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise UsageError(f"MS-CLAP weights not found at {path}; {GET_WEIGHTS_HINT}")
        return path
    if not download:
        raise UsageError(f"no MS-CLAP weights given; {GET_WEIGHTS_HINT}")
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(HUB_REPO, HUB_FILE))
    except Exception as exc:
        raise UsageError(
            f"could not download the MS-CLAP 2023 weights ({type(exc).__name__}); {GET_WEIGHTS_HINT}"
        ) from None
