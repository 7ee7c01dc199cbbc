"""Band-limited resampling as torchaudio's ``transforms.Resample`` does it (torchaudio is not
installable with the torch this project pins, and the official feature extractors resample with it).

The method (windowed-sinc interpolation, as published in torchaudio's documentation): with the
rates reduced by their gcd to ``orig`` and ``new``, a cutoff ``base = min(orig, new) * rolloff``
and ``width = ceil(zeros * orig / base)`` input samples on each side, output phase ``j`` (of
``new``) is the input convolved with the kernel ``k_j(i) = sinc(pi * t) * cos(pi * t / (2 *
zeros))^2 * base / orig`` at ``t = clamp((i / orig - j / new) * base, -zeros, zeros)`` for ``i``
in ``-width .. width + orig - 1``. The input is zero-padded by ``width`` before and ``width +
orig`` after, the ``new`` kernels are applied with stride ``orig`` (one ``conv1d``), the phases
interleaved, and the output cut to ``ceil(new * length / orig)`` samples. Defaults ``zeros`` 6,
``rolloff`` 0.99, Hann window: torchaudio's. As in ``transforms.Resample`` (what msclap and
lighthouse call), the kernel is computed in float64 (the output phases ``j / new`` in float32) and
applied in float32.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def sinc_kernel(orig: int, new: int, zeros: int = 6, rolloff: float = 0.99) -> tuple[np.ndarray, int]:
    """The ``(new, 1, 2 * width + orig)`` float64 kernels and ``width`` for reduced rates."""
    base = min(orig, new) * rolloff
    width = math.ceil(zeros * orig / base)
    i = np.arange(-width, width + orig, dtype=np.float64)[None, None] / orig
    j = (np.arange(0, -new, -1)[:, None, None] / new).astype(np.float32).astype(np.float64)  # as torchaudio
    t = np.clip((j + i) * base, -zeros, zeros)
    window = np.cos(t * math.pi / zeros / 2) ** 2
    t = t * math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        sinc = np.where(t == 0, 1.0, np.sin(t) / t)
    return sinc * (window * (base / orig)), width


def resample(wave: np.ndarray, rate: int, new_rate: int, zeros: int = 6, rolloff: float = 0.99) -> np.ndarray:
    """``wave`` (samples,) or (channels, samples) from ``rate`` to ``new_rate`` Hz, float32."""
    x = torch.as_tensor(np.asarray(wave, dtype=np.float32))
    if rate == new_rate:
        return x.numpy()
    g = math.gcd(int(rate), int(new_rate))
    orig, new = int(rate) // g, int(new_rate) // g
    kernel, width = sinc_kernel(orig, new, zeros, rolloff)
    flat = x.reshape(-1, x.shape[-1])
    padded = torch.nn.functional.pad(flat, (width, width + orig))
    k = torch.from_numpy(kernel).to(torch.float32)
    out = torch.nn.functional.conv1d(padded[:, None], k, stride=orig).transpose(1, 2).reshape(len(flat), -1)
    out = out[:, : math.ceil(new * flat.shape[-1] / orig)]
    return out.reshape(*x.shape[:-1], -1).numpy()
