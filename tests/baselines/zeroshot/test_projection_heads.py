"""The projection heads without msclap: same layers and outputs as msclap's, from any weights file."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from amr_bench.datasets.npzio import write_npz
from amr_bench_baselines.zeroshot.clap_weights import read_state_dict
from amr_bench_baselines.zeroshot.projection_heads_torch import (
    AUDIO_PROJ,
    PROJ_PARAMS,
    TEXT_PROJ,
    Projection,
    load_projection_heads,
)


def _state(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = {"linear1.weight": (1024, 768), "linear2.weight": (1024, 1024), "layer_norm.weight": (1024,)}
    state = {}
    for prefix in (AUDIO_PROJ, TEXT_PROJ):
        for name in PROJ_PARAMS:
            shape = shapes.get(name, (1024,))
            state[prefix + name] = rng.normal(1.0 if name == "layer_norm.weight" else 0.0, 0.04, shape)
    return {k: v.astype(np.float32) for k, v in state.items()}


def test_a_checkpoint_with_more_than_tensors_loads_like_the_npz(tmp_path: Path) -> None:
    """MS-CLAP's checkpoint may hold non-tensor objects: weights_only fails, the trusted-file read works."""
    state = _state()
    write_npz(tmp_path / "p.npz", state)
    pth = tmp_path / "CLAP_like.pth"
    extra = {"args": argparse.Namespace(version="2023"), "epoch": 3}
    torch.save({"model": {"module." + k: torch.from_numpy(v) for k, v in state.items()}, **extra}, pth)
    plain = tmp_path / "plain.pth"
    torch.save({k: torch.from_numpy(v) for k, v in state.items()}, plain)
    assert set(read_state_dict(pth)) == set(state) == set(read_state_dict(plain))
    x = np.random.default_rng(1).normal(size=(4, 768)).astype(np.float32)
    want = load_projection_heads(tmp_path / "p.npz")
    for path in (pth, plain):
        heads = load_projection_heads(path)
        for side in ("audio", "text"):
            torch.testing.assert_close(heads.project(side, x), want.project(side, x))


@pytest.mark.skipif(importlib.util.find_spec("msclap") is None, reason="msclap is not installed")
def test_the_projection_module_is_msclaps() -> None:
    from amr_bench_baselines.zeroshot.msclap_import import msclap_modules

    state = {k.removeprefix(AUDIO_PROJ): torch.from_numpy(v) for k, v in _state(2).items() if k.startswith(AUDIO_PROJ)}
    ours, theirs = Projection(768, 1024), msclap_modules().Projection(768, 1024)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    ours.load_state_dict(state)
    theirs.load_state_dict(state)
    x = torch.from_numpy(np.random.default_rng(3).normal(size=(6, 768)).astype(np.float32))
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), theirs.eval()(x), rtol=0, atol=0)
