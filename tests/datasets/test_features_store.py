"""Feature store: the official layout, memory-mapped reads, deterministic writes, clear errors
(also through the CLI), and the frame/second convention."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.datasets import FeatureStore, frames_to_seconds, load_split, seconds_to_frames
from amr_bench.datasets.npzio import npz_bytes, read_npz_member
from amr_bench.errors import InputError

runner = CliRunner()


def _dataset(root, n_frames=5):
    store = FeatureStore(root)
    rng = np.random.default_rng(0)
    store.write_audio("rec1", rng.standard_normal((n_frames, 768)))
    store.write_text("q1", rng.standard_normal((4, 768)))
    store.write_text(7, rng.standard_normal((3, 768)))
    lines = [
        {"qid": "q1", "query": "a", "duration": n_frames, "vid": "rec1", "relevant_windows": [[0, 1]]},
        {"qid": 7, "query": "b", "duration": n_frames, "vid": "rec1", "relevant_windows": [[1, 2]]},
    ]
    (root / "test.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return store


def test_round_trip_in_the_official_layout(tmp_path):
    store = _dataset(tmp_path)
    assert (tmp_path / "clap" / "rec1.npz").is_file()
    assert (tmp_path / "clap_text" / "qidq1.npz").is_file()
    assert (tmp_path / "clap_text" / "qid7.npz").is_file()
    with np.load(tmp_path / "clap" / "rec1.npz") as z:  # plain numpy reads it
        assert list(z.keys()) == ["features"]
        np.testing.assert_array_equal(z["features"], store.audio("rec1"))
    a = store.audio("rec1")
    assert isinstance(a, np.memmap) and a.dtype == np.float32 and a.shape == (5, 768)
    assert store.text(7).shape == (3, 768)
    assert store.has_audio("rec1") and not store.has_audio("nope") and store.has_text("q1")
    assert [r["qid"] for r in load_split(tmp_path, "test")] == ["q1", 7]


def test_writes_are_byte_identical():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert npz_bytes({"a": x, "b": x[:1]}) == npz_bytes({"a": x, "b": x[:1]})


def test_compressed_npz_from_numpy_is_read(tmp_path):
    (tmp_path / "clap").mkdir()
    x = np.ones((2, 768), dtype=np.float64)
    np.savez_compressed(tmp_path / "clap" / "v.npz", features=x)
    got = FeatureStore(tmp_path).audio("v")
    assert got.dtype == np.float32 and not isinstance(got, np.memmap)
    np.testing.assert_array_equal(got, x)


def test_missing_file_names_the_vid_and_the_root(tmp_path):
    with pytest.raises(InputError) as exc:
        FeatureStore(tmp_path).audio("abc")
    message = str(exc.value.problems[0])
    assert "vid 'abc'" in message and str(tmp_path) in message and "clap/abc.npz" in message


def test_wrong_key_and_shape_are_reported(tmp_path):
    (tmp_path / "clap_text").mkdir()
    np.savez(tmp_path / "clap_text" / "qid1.npz", hidden=np.zeros((2, 768)))
    with pytest.raises(InputError, match="unreadable") as exc:
        FeatureStore(tmp_path).text(1)
    assert "arrays present: hidden" in str(exc.value.problems[0])
    np.savez(tmp_path / "clap_text" / "qid2.npz", last_hidden_state=np.zeros((2, 512)))
    with pytest.raises(InputError) as exc:
        FeatureStore(tmp_path).text(2)
    assert "expected (n>0, 768)" in str(exc.value.problems[0])
    (tmp_path / "clap_text" / "qid3.npz").write_text("not a zip")
    with pytest.raises(InputError):
        FeatureStore(tmp_path).text(3)
    with pytest.raises(KeyError):
        read_npz_member(tmp_path / "clap_text" / "qid1.npz", "x")


def test_cli_features_check_reports_missing_and_broken_files(tmp_path):
    _dataset(tmp_path)
    ok = runner.invoke(app, ["datasets", "features", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    (tmp_path / "clap_text" / "qid7.npz").unlink()
    missing = runner.invoke(app, ["datasets", "features", str(tmp_path)])
    assert missing.exit_code == 1
    assert "qid7.npz: error: missing text features for qid 7" in missing.output
    (tmp_path / "clap" / "rec1.npz").write_bytes(b"broken")
    _ = FeatureStore(tmp_path).write_text(7, np.zeros((1, 768)))
    broken = runner.invoke(app, ["datasets", "features", str(tmp_path)])
    assert broken.exit_code == 1 and "rec1.npz" in broken.output
    nosplit = runner.invoke(app, ["datasets", "features", str(tmp_path), "--split", "val"])
    assert nosplit.exit_code == 1 and "splits present: test" in nosplit.output


@given(st.floats(0, 299, allow_nan=False), st.floats(0.01, 60, allow_nan=False))
def test_frames_cover_the_window(start, length):
    end = start + length
    first, stop = seconds_to_frames(start, end)
    s, e = frames_to_seconds(first, stop - 1)
    assert s <= start and e >= end and e - s < length + 2
    assert first == math.floor(start) and stop - 1 < end
