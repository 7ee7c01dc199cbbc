"""The simulated world, all drawn from the seed: bases, class meanings and the projection heads.

Audio frames live in the 768-d backbone space through the audio basis ``Ba``; query tokens through
a text basis ``Bt`` that shares only ``cos_phi`` of ``Ba``'s direction. The two projection heads
(MS-CLAP's ``Projection``: ``LayerNorm(e1 + W2 gelu(e1))``, ``e1 = W1 x``) map both bases onto one
joint space (docs/msclap.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from amr_bench.datasets.features import FEATURE_DIM
from amr_bench.datasets.projection_heads_numpy import AUDIO_PREFIX, TEXT_PREFIX, ProjectionHead
from amr_bench.datasets.simulate.settings import JOINT_DIM, Signal
from amr_bench.datasets.simulate.vocabulary import FAMILIES

SCENES = 12  # background scene meanings


def orthonormal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """``cols`` random orthonormal columns of length ``rows`` (sign-fixed QR)."""
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@dataclass
class World:
    signal: Signal
    audio_basis: np.ndarray  # (768, k)
    text_basis: np.ndarray  # (768, k)
    audio_offset: np.ndarray  # (768,)
    text_offset: np.ndarray  # (768,)
    presence: np.ndarray  # (768,)
    class_names: list[str]
    class_family: np.ndarray  # (K,)
    class_meaning: np.ndarray  # (K, k)
    class_length: np.ndarray  # (K,) typical moment length (style-dependent use)
    incidental_meaning: np.ndarray  # (I, k)
    scene_meaning: np.ndarray  # (S, k)
    audio_head: ProjectionHead
    text_head: ProjectionHead

    @classmethod
    def build(cls, seed: int, signal: Signal) -> World:
        """The world of ``seed``; every draw comes from one generator, in a fixed order."""
        rng = np.random.default_rng([seed, 0x5EED])
        k, d = signal.latent_dim, FEATURE_DIM
        frame = orthonormal(rng, d, 2 * k + 3)
        audio_basis = np.ascontiguousarray(frame[:, :k])
        perp = frame[:, k : 2 * k]
        text_basis = math.cos(math.acos(signal.cos_phi)) * audio_basis + math.sin(math.acos(signal.cos_phi)) * perp
        presence = frame[:, 2 * k]
        audio_offset = signal.audio_offset * frame[:, 2 * k + 1]
        text_offset = signal.text_offset * unit(0.3 * frame[:, 2 * k + 1] + frame[:, 2 * k + 2])
        fam = unit(rng.standard_normal((signal.families, k)))
        names, fam_index = class_names(signal)
        own = unit(rng.standard_normal((len(names), k)))
        w = signal.family_weight
        class_meaning = unit(w * fam[fam_index] + math.sqrt(1 - w * w) * own)
        class_length = rng.uniform(0.0, 1.0, len(names))
        inc_fam = rng.integers(0, signal.families, signal.incidental_classes)
        incidental = unit(
            w * fam[inc_fam] + math.sqrt(1 - w * w) * unit(rng.standard_normal((signal.incidental_classes, k)))
        )
        scenes = unit(rng.standard_normal((SCENES, k)))
        joint = orthonormal(rng, JOINT_DIM, k)
        audio_head = projection_head(rng, signal, joint, audio_basis)
        text_head = projection_head(rng, signal, joint, text_basis)
        return cls(
            signal,
            audio_basis,
            text_basis,
            audio_offset,
            text_offset,
            presence,
            names,
            fam_index,
            class_meaning,
            class_length,
            incidental,
            scenes,
            audio_head,
            text_head,
        )

    def projection_arrays(self) -> dict[str, np.ndarray]:
        """Both heads under MS-CLAP's parameter names, as ``clap_projection.npz`` stores them."""
        return self.audio_head.arrays(AUDIO_PREFIX) | self.text_head.arrays(TEXT_PREFIX)


def class_names(signal: Signal) -> tuple[list[str], np.ndarray]:
    """The event classes (the first ``classes_per_family`` of the first ``families``) and their family."""
    names: list[str] = []
    family_index: list[int] = []
    for f, phrases in enumerate(list(FAMILIES.values())[: signal.families]):
        for phrase in phrases[: signal.classes_per_family]:
            names.append(phrase)
            family_index.append(f)
    return names, np.array(family_index)


def projection_head(rng: np.random.Generator, signal: Signal, joint: np.ndarray, basis: np.ndarray) -> ProjectionHead:
    """A head whose ``W1`` maps ``basis`` onto the joint space (plus noise), float32."""
    d = basis.shape[0]
    noise = rng.standard_normal((JOINT_DIM, d))
    lin1 = signal.head_gain * joint @ basis.T + signal.head_noise * noise / math.sqrt(d)
    lin2 = signal.head_linear2 * rng.standard_normal((JOINT_DIM, JOINT_DIM)) / math.sqrt(JOINT_DIM)
    ln_w = 1.0 + 0.1 * rng.standard_normal(JOINT_DIM)
    ln_b = 0.05 * rng.standard_normal(JOINT_DIM)
    return ProjectionHead(*(a.astype(np.float32) for a in (lin1, lin2, ln_w, ln_b)))
