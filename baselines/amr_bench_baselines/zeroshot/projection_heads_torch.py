"""MS-CLAP's two projection heads (audio and text, ``768 -> 1024``), built without msclap.

JointProj, clap-cosine's text side and sliding-clap only need these two small modules, so they
are rebuilt here with msclap's layout and parameter names (``linear1``, ``linear2``,
``layer_norm``; ``e = W1 x``, ``out = LN(e + dropout(W2 gelu(e)))``) and filled from any MS-CLAP
weights file (:func:`amr_bench_baselines.zeroshot.clap_weights.read_state_dict`): ``pip install
'amr-bench[baselines]'`` alone runs them; msclap is needed only for the full model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import nn

from amr_bench.datasets.projection_heads_numpy import AUDIO_PREFIX, PARAMS, TEXT_PREFIX
from amr_bench.errors import InputError, Problem
from amr_bench_baselines.zeroshot.clap_weights import read_state_dict

# The state-dict names of MS-CLAP's two heads: defined once, in the core (the simulator writes them too).
AUDIO_PROJ = AUDIO_PREFIX
TEXT_PROJ = TEXT_PREFIX
PROJ_PARAMS = PARAMS


class Projection(nn.Module):
    """msclap's ``Projection(d_in, d_out)``: the same layers, names and forward pass."""

    def __init__(self, d_in: int, d_out: int, p: float = 0.5) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_in, d_out, bias=False)
        self.linear2 = nn.Linear(d_out, d_out, bias=False)
        self.layer_norm = nn.LayerNorm(d_out)
        self.drop = nn.Dropout(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        embed1 = self.linear1(x)
        embed2 = self.drop(self.linear2(nn.functional.gelu(embed1)))
        return self.layer_norm(embed1 + embed2)


@dataclass
class ProjectionHeads:
    """The audio and text projection heads, in eval mode.

    ``matmul_dtype`` ``torch.bfloat16`` runs the two matmuls in bfloat16 (oneDNN/AMX on CPUs
    that have it: several times faster, not bit-identical: about 3 significant digits in the
    matmul outputs); everything else stays float32. The default float32 is exact.
    """

    audio: nn.Module
    text: nn.Module
    matmul_dtype: torch.dtype = torch.float32

    @torch.inference_mode()
    def project(self, head: str, x: np.ndarray | torch.Tensor, chunk: int = 8192) -> torch.Tensor:
        """Project rows of ``x`` (N, 768) with the ``"audio"`` or ``"text"`` head, L2-normalised.

        In chunks of ``chunk`` rows (the intermediates stay small); the residual add is fused
        into the second matmul (:func:`projection_forward`).
        """
        module = self.audio if head == "audio" else self.text
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        out = [
            nn.functional.normalize(projection_forward(module, x[i : i + chunk], self.matmul_dtype), dim=-1)
            for i in range(0, len(x), chunk)
        ]
        return torch.cat(out) if out else torch.zeros((0, cast(nn.Linear, module.linear1).out_features))


def projection_forward(module: nn.Module, x: torch.Tensor, matmul_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The projection's forward pass in evaluation mode, ``LN(e + W2 gelu(e))`` with ``e = W1
    x``, as one matmul, one GELU, one ``addmm`` and one layer norm (the same result up to float
    rounding in float32). Falls back to the module itself for anything but the expected layers."""
    l1, l2, ln = (getattr(module, n, None) for n in ("linear1", "linear2", "layer_norm"))
    if (
        module.training
        or not isinstance(l1, nn.Linear)
        or not isinstance(l2, nn.Linear)
        or not isinstance(ln, nn.LayerNorm)
        or l1.bias is not None
        or l2.bias is not None
    ):
        return module(x)
    if matmul_dtype == torch.float32:
        e1 = x @ l1.weight.T
        z = torch.addmm(e1, nn.functional.gelu(e1), l2.weight.T)
    else:
        e1 = (x.to(matmul_dtype) @ l1.weight.to(matmul_dtype).T).float()
        h = nn.functional.gelu(e1).to(matmul_dtype)
        z = (h @ l2.weight.to(matmul_dtype).T).float().add_(e1)
    return nn.functional.layer_norm(z, ln.normalized_shape, ln.weight, ln.bias, ln.eps)


def projection_heads(state: dict[str, torch.Tensor], source: str = "<state dict>") -> ProjectionHeads:
    """Both projection heads from a flat state dict with MS-CLAP's parameter names."""
    heads = []
    for prefix in (AUDIO_PROJ, TEXT_PROJ):
        missing = [prefix + p for p in PROJ_PARAMS if prefix + p not in state]
        if missing:
            raise InputError(
                [Problem(source, None, f"no projection weights {', '.join(missing)}")],
                f"not an MS-CLAP weights file: {source}",
            )
        w1 = state[prefix + "linear1.weight"]
        head = Projection(w1.shape[1], w1.shape[0])
        head.load_state_dict({p: state[prefix + p].float() for p in PROJ_PARAMS})
        heads.append(head.eval())
    return ProjectionHeads(audio=heads[0], text=heads[1])


def load_projection_heads(path: str | Path) -> ProjectionHeads:
    """Projection heads from a ``.pth`` checkpoint or an ``.npz`` (e.g. ``clap_projection.npz``)."""
    return projection_heads(read_state_dict(path), str(path))
