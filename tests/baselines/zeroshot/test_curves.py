"""The fast paths under the zero-shot baselines against plain references: feature reading,
chunked curves, the fused projection."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from amr_bench.datasets.features import FeatureStore
from amr_bench.datasets.npzio import write_npz
from amr_bench.errors import InputError
from amr_bench_baselines.zeroshot.curves import (
    AudioBank,
    load_split_data,
    make_bank,
    read_feature_file,
    split_curves,
)
from amr_bench_baselines.zeroshot.projection_heads_torch import load_projection_heads, projection_forward


def _npz_variants(path: Path, a: np.ndarray) -> dict[str, Path]:
    """The same features written every way an ``.npz`` can hold them."""
    out = {}
    out["write_npz"] = write_npz(path / "a.npz", {"features": a})
    np.savez(path / "b.npz", features=a)  # numpy's zip64 extra fields
    out["savez"] = path / "b.npz"
    np.savez_compressed(path / "c.npz", features=a)
    out["compressed"] = path / "c.npz"
    np.savez(path / "d.npz", other=np.zeros(2), features=a)  # not the first member
    out["second-member"] = path / "d.npz"
    np.savez(path / "e.npz", features=np.asfortranarray(a))
    out["fortran"] = path / "e.npz"
    np.savez(path / "f.npz", features=a.astype(np.float64))
    out["float64"] = path / "f.npz"
    return out


def test_fast_reads_equal_the_feature_store(tmp_path: Path) -> None:
    a = np.random.default_rng(0).normal(size=(7, 768)).astype(np.float32)
    for name, path in _npz_variants(tmp_path, a).items():
        store = FeatureStore(tmp_path / name)
        (tmp_path / name / "clap").mkdir(parents=True)
        path.rename(store.audio_path("v"))
        got = read_feature_file(store, "audio", "v")
        assert got.dtype == np.float32 and got.shape == (7, 768), name
        np.testing.assert_array_equal(got, store.audio("v"), err_msg=name)
        np.testing.assert_array_equal(got, a, err_msg=name)


@pytest.mark.parametrize("bad", [b"", b"PK\x03\x04 truncated", b"not a zip at all"])
def test_fast_read_of_a_broken_file_is_the_stores_error(tmp_path: Path, bad: bytes) -> None:
    store = FeatureStore(tmp_path)
    store.write_text(3, np.ones((2, 768), np.float32))
    store.text_path(3).write_bytes(bad)
    with pytest.raises(InputError) as e:
        read_feature_file(store, "text", 3)
    assert e.value.problems[0].path == str(store.text_path(3))
    store.write_text(4, np.ones((2, 768), np.float32))
    np.testing.assert_array_equal(read_feature_file(store, "text", 4), np.ones((2, 768)))
    with pytest.raises(InputError, match=r"qid5\.npz"):
        read_feature_file(store, "text", 5)


def _dataset(root: Path, lengths: list[int], query_recs: list[int], durations: list[float]) -> None:
    store = FeatureStore(root)
    rng = np.random.default_rng(len(lengths))
    for r, n in enumerate(lengths):
        store.write_audio(f"r{r}", rng.normal(size=(n, 768)).astype(np.float32))
    lines = []
    for q, (r, d) in enumerate(zip(query_recs, durations, strict=True)):
        store.write_text(q, rng.normal(size=(2, 768)).astype(np.float32))
        lines.append({"qid": q, "query": "x", "duration": d, "vid": f"r{r}", "relevant_windows": [[0, 1]]})
    (root / "test.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.integers(1, 12), min_size=1, max_size=6).flatmap(
        lambda lengths: st.tuples(
            st.just(lengths),
            st.lists(st.tuples(st.integers(0, len(lengths) - 1), st.floats(0.3, 15)), min_size=1, max_size=10),
            st.integers(1, 20),
        )
    )
)
def test_chunked_curves_equal_per_query_dot_products(tmp_path_factory: pytest.TempPathFactory, case: tuple) -> None:
    lengths, queries, chunk = case
    root = tmp_path_factory.mktemp("curves")
    _dataset(root, lengths, [r for r, _ in queries], [d for _, d in queries])
    data = load_split_data(root, "test")
    q = np.random.default_rng(1).normal(size=(len(queries), 5)).astype(np.float32)
    proj = np.random.default_rng(2).normal(size=(768, 5)).astype(np.float32)
    embed = lambda c: torch.from_numpy(c.frames @ proj)
    streamed = split_curves(data, q, embed, None)
    from amr_bench_baselines.zeroshot.curves import load_audio_bank

    bank = load_audio_bank(data)
    chunked = split_curves(data, q, embed, bank.chunks(chunk))
    store = FeatureStore(root)
    for i, (r, d) in enumerate(queries):
        frames = store.audio(f"r{r}")[: max(1, math.ceil(d))]
        want = frames @ proj @ q[i]
        np.testing.assert_allclose(streamed.curve(i), want, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(chunked.curve(i), streamed.curve(i), rtol=1e-5, atol=1e-5)


def test_bank_chunks_hold_whole_recordings_in_order() -> None:
    arrays = [np.full((n, 768), i, np.float32) for i, n in enumerate([3, 9, 1, 4, 4])]
    bank = make_bank([f"v{i}" for i in range(5)], arrays)
    chunks = list(bank.chunks(5))
    assert [c.vids for c in chunks] == [["v0"], ["v1"], ["v2", "v3"], ["v4"]]
    for c in chunks:
        assert isinstance(c, AudioBank) and c.offsets[0] == 0 and c.offsets[-1] == len(c.frames)
    np.testing.assert_array_equal(np.concatenate([c.frames for c in chunks]), bank.frames)


def test_fused_projection_equals_msclaps_forward(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    state = {}
    for side in ("audio_encoder", "caption_encoder"):
        p = f"{side}.projection."
        state.update(
            {
                p + "linear1.weight": rng.normal(0, 0.04, (1024, 768)),
                p + "linear2.weight": rng.normal(0, 0.03, (1024, 1024)),
                p + "layer_norm.weight": rng.normal(1, 0.1, 1024),
                p + "layer_norm.bias": rng.normal(0, 0.1, 1024),
            }
        )
    write_npz(tmp_path / "p.npz", {k: v.astype(np.float32) for k, v in state.items()})
    heads = load_projection_heads(tmp_path / "p.npz")
    x = torch.from_numpy(rng.normal(size=(37, 768)).astype(np.float32))
    for module in (heads.audio, heads.text):
        with torch.no_grad():
            torch.testing.assert_close(projection_forward(module, x), module(x), rtol=1e-5, atol=1e-5)
    want = torch.nn.functional.normalize(heads.audio(x), dim=-1).detach()
    torch.testing.assert_close(heads.project("audio", x.numpy(), chunk=8), want, rtol=1e-5, atol=1e-5)
    heads.audio.train()  # dropout active: the fused path must not pretend to be the module
    try:
        torch.manual_seed(0)
        a = projection_forward(heads.audio, x)
        torch.manual_seed(0)
        torch.testing.assert_close(a, heads.audio(x))
    finally:
        heads.audio.eval()


def test_bfloat16_matmuls_are_close_to_float32(tmp_path: Path) -> None:
    from dataclasses import replace

    rng = np.random.default_rng(3)
    state = {
        f"{side}.projection.{k}": v
        for side in ("audio_encoder", "caption_encoder")
        for k, v in {
            "linear1.weight": rng.normal(0, 0.04, (1024, 768)).astype(np.float32),
            "linear2.weight": rng.normal(0, 0.03, (1024, 1024)).astype(np.float32),
            "layer_norm.weight": np.ones(1024, np.float32),
            "layer_norm.bias": np.zeros(1024, np.float32),
        }.items()
    }
    write_npz(tmp_path / "p.npz", state)
    heads = load_projection_heads(tmp_path / "p.npz")
    x = rng.normal(size=(64, 768)).astype(np.float32)
    exact = heads.project("audio", x)
    fast = replace(heads, matmul_dtype=torch.bfloat16).project("audio", x)
    assert fast.dtype == torch.float32
    cos = (exact * fast).sum(-1)
    assert float(cos.min()) > 0.999 and not torch.equal(exact, fast)
