"""Shared helpers of the official QD-DETR oracle tests (tests/data/official_qddetr, see its README).

The oracle holds numbers made by the official DCASE 2026 Task 6 baseline code; the weights are
not stored but rebuilt here by the oracle's WEIGHT RULE and checked against its checksums.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

ORACLE = Path(__file__).parents[1] / "data" / "official_qddetr"
DATASET = ORACLE / "dataset"
MODEL = ORACLE / "model"


def read_json(name: str) -> Any:
    return json.loads((MODEL / name).read_text())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def rule_tensor(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The WEIGHT RULE: float64 standard normals seeded by the name's SHA-256, scaled, cast to float32."""
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    z = np.random.default_rng(seed).standard_normal(shape)
    if len(shape) > 1:
        return (z / np.sqrt(shape[-1])).astype(np.float32)
    return (1 + 0.1 * z if name.endswith(".weight") else 0.1 * z).astype(np.float32)


@functools.cache
def rule_state_dict() -> dict[str, Any]:
    """Every entry of the official state_dict, made by the weight rule (torch tensors; shared, so
    callers copy them, as ``load_state_dict`` does, and never change them in place)."""
    import torch

    entries = read_json("weights.json")["state_dict"]
    return {name: torch.from_numpy(rule_tensor(name, tuple(e["shape"]))) for name, e in entries.items()}


def checksum(values: np.ndarray) -> dict[str, Any]:
    flat = np.asarray(values, np.float32).astype(np.float64).ravel()
    return {"sum": float(flat.sum()), "abs_sum": float(np.abs(flat).sum()), "first": flat[:4].tolist()}


# Gradients that are zero in exact arithmetic (key biases of softmax attention, the first decoder
# layer's query biases on its all-zero input) come out of float32 as noise of mean size 1e-17 to
# 1e-10 per element, whose sign and size no two implementations share; every real gradient of
# the oracle has a mean size above 1e-6. Below this floor both sides must simply be noise.
NOISE_FLOOR = 1e-8


def assert_checksum(name: str, got: np.ndarray, want: dict[str, Any], rtol: float, noise_floor: float = 0.0) -> None:
    """sum and abs_sum within rtol of the abs-sum scale; the first values within rtol, or within
    ``noise_floor`` absolutely (single near-zero elements carry float32 noise a sum averages out:
    the oracle's gradients reach 4.8, so 1e-8 is 2e-9 of the largest). A tensor whose oracle mean
    |value| is under ``noise_floor`` must have ours under it too."""
    mine = checksum(got)
    size = max(int(np.prod(want["shape"])), 1)
    if want["abs_sum"] / size < noise_floor:
        assert mine["abs_sum"] / size < noise_floor, (name, mine["abs_sum"], want["abs_sum"])
        return
    scale = max(want["abs_sum"], 1e-30)
    assert list(np.shape(got)) == want["shape"], name
    assert abs(mine["sum"] - want["sum"]) <= rtol * scale, (name, mine["sum"], want["sum"])
    assert abs(mine["abs_sum"] - want["abs_sum"]) <= rtol * scale, (name, mine["abs_sum"], want["abs_sum"])
    first_scale = max(max(abs(v) for v in want["first"]), 1e-30)
    atol = max(rtol * first_scale, noise_floor)
    np.testing.assert_allclose(mine["first"], want["first"], rtol=rtol, atol=atol, err_msg=name)
