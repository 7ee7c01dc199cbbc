"""MS-CLAP's two projection heads in numpy (for calibration and inspection; no torch; docs/msclap.md).

MS-CLAP 2023 ``Projection(768 -> 1024)``, evaluation mode::

    e1 = linear1(x)              # no bias
    e2 = linear2(gelu(e1))       # no bias (dropout is off in eval mode)
    out = layer_norm(e1 + e2)    # elementwise affine, eps 1e-5

The weights are read from a file holding MS-CLAP's own parameter names
(``audio_encoder.projection.linear1.weight`` ... and the same under
``caption_encoder.projection.``), e.g. the ``clap_projection.npz`` of a simulated dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import erf

from amr_bench.datasets.npzio import read_npz_member

AUDIO_PREFIX = "audio_encoder.projection."
TEXT_PREFIX = "caption_encoder.projection."
PARAMS = ("linear1.weight", "linear2.weight", "layer_norm.weight", "layer_norm.bias")
LAYER_NORM_EPS = 1e-5


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU, as ``torch.nn.GELU()``."""
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


@dataclass(frozen=True)
class ProjectionHead:
    linear1: np.ndarray  # (out, in)
    linear2: np.ndarray  # (out, out)
    ln_weight: np.ndarray  # (out,)
    ln_bias: np.ndarray  # (out,)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Project ``x`` (..., in) to (..., out) in float64."""
        e1 = np.asarray(x, dtype=np.float64) @ self.linear1.T.astype(np.float64)
        h = e1 + gelu(e1) @ self.linear2.T.astype(np.float64)
        mu = h.mean(axis=-1, keepdims=True)
        var = h.var(axis=-1, keepdims=True)
        return (h - mu) / np.sqrt(var + LAYER_NORM_EPS) * self.ln_weight + self.ln_bias

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        values = (self.linear1, self.linear2, self.ln_weight, self.ln_bias)
        return {prefix + name: v.astype(np.float32) for name, v in zip(PARAMS, values, strict=True)}


def load_projection(path: str | Path) -> tuple[ProjectionHead, ProjectionHead]:
    """``(audio_head, text_head)`` from a file with MS-CLAP parameter names."""
    heads = []
    for prefix in (AUDIO_PREFIX, TEXT_PREFIX):
        parts = [read_npz_member(path, prefix + name, mmap=False) for name in PARAMS]
        heads.append(ProjectionHead(*parts))
    return heads[0], heads[1]


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of each row of ``a`` (T, d) with the vector ``b`` (d,)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (a @ b) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b) + 1e-12)
