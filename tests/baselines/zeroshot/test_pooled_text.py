"""The pooled text vector is the end-of-text row, found by the mask or the token count, or refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.datasets.features import FeatureStore
from amr_bench.datasets.npzio import write_npz
from amr_bench.errors import InputError
from amr_bench_baselines.zeroshot.clap_cosine import clap_cosine
from amr_bench_baselines.zeroshot.curves import load_split_data
from amr_bench_baselines.zeroshot.jointproj import jointproj
from amr_bench_baselines.zeroshot.pooled_text import TEXT_LEN, end_of_text_row, pooled_text_vectors
from amr_bench_baselines.zeroshot.projection_heads_torch import load_projection_heads
from tests.helpers.zeroshot_data import make_dataset


def test_end_of_text_row_rules() -> None:
    assert end_of_text_row(5) == 4  # trimmed: the last row
    assert end_of_text_row(TEXT_LEN, mask=np.r_[np.ones(9), np.zeros(TEXT_LEN - 9)]) == 8
    assert end_of_text_row(80, token_count=80) == 79  # a long query is never padded
    assert end_of_text_row(TEXT_LEN, token_count=12) == 11
    with pytest.raises(ValueError, match="end-of-text row cannot be found"):
        end_of_text_row(TEXT_LEN)
    with pytest.raises(ValueError, match="mask has 5 entries for 77"):
        end_of_text_row(TEXT_LEN, mask=np.ones(5))
    with pytest.raises(ValueError, match="marks no token"):
        end_of_text_row(TEXT_LEN, mask=np.zeros(TEXT_LEN))
    with pytest.raises(ValueError, match="100 tokens but the file 77"):
        end_of_text_row(TEXT_LEN, token_count=100)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("pooled") / "data", n_rec=3)


def _padded_copy(src: Path, dst: Path, qid: int, mask: bool) -> tuple[Path, int]:
    """A copy of the dataset whose query ``qid`` has lighthouse-style 77-row padded states."""
    shutil.copytree(src, dst)
    store = FeatureStore(dst)
    hidden = store.text(qid)
    pad = np.random.default_rng(qid).normal(0, 1, (TEXT_LEN - len(hidden), 768)).astype(np.float32)
    arrays = {"last_hidden_state": np.vstack([hidden, pad])}
    if mask:
        arrays["attention_mask"] = np.r_[np.ones(len(hidden)), np.zeros(len(pad))].astype(np.int64)
    write_npz(store.text_path(qid), arrays)
    return dst, len(hidden)


def test_padded_files_pool_the_end_of_text_row(tiny: Path, tmp_path: Path) -> None:
    heads = load_projection_heads(tiny / "clap_projection.npz")
    want = jointproj(load_split_data(tiny, "test"), heads)
    qid = load_split_data(tiny, "test").gt.qids[1]
    masked, _ = _padded_copy(tiny, tmp_path / "masked", qid, mask=True)
    assert jointproj(load_split_data(masked, "test"), heads) == want
    unmasked, n_tokens = _padded_copy(tiny, tmp_path / "unmasked", qid, mask=False)
    data = load_split_data(unmasked, "test")
    with pytest.raises(InputError) as info:
        jointproj(data, heads)
    assert len(info.value.problems) == 1 and f"qid{qid}.npz" in info.value.problems[0].path
    assert jointproj(data, heads, count_tokens=lambda query: n_tokens) == want


def test_cli_refuses_a_padded_file_without_mask_and_names_it(tiny: Path, tmp_path: Path) -> None:
    qid = load_split_data(tiny, "test").gt.qids[0]
    root, _ = _padded_copy(tiny, tmp_path / "d", qid, mask=False)
    for baseline in ("jointproj", "clap-cosine"):
        r = CliRunner().invoke(app, ["baseline", baseline, "--data", str(root), "--out", str(tmp_path / "o.jsonl")])
        assert r.exit_code == 1, r.output
        assert f"qid{qid}.npz" in r.output and "end-of-text row" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o.jsonl").exists()


def test_clap_cosine_uses_the_pooled_row_not_the_token_mean(tiny: Path, tmp_path: Path) -> None:
    """Changing every token row but the end-of-text one changes nothing."""
    other = tmp_path / "other"
    shutil.copytree(tiny, other)
    store = FeatureStore(other)
    data = load_split_data(other, "test")
    rng = np.random.default_rng(5)
    for qid in data.gt.qids:
        hidden = store.text(qid).copy()
        hidden[:-1] = rng.normal(0, 3, hidden[:-1].shape)
        store.write_text(qid, hidden)
    assert clap_cosine(data) == clap_cosine(load_split_data(tiny, "test"))
    np.testing.assert_array_equal(pooled_text_vectors(data), pooled_text_vectors(load_split_data(tiny, "test")))
