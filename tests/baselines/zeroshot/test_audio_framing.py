"""Audio framings and resampling: the exact samples HTSAT receives, and what frame counts imply."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("torch")
sf = pytest.importorskip("soundfile")

from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.datasets.features import FeatureStore, frame_rule, framing_census
from amr_bench_baselines.zeroshot import extract
from amr_bench_baselines.zeroshot.audio_framing import frame_count, framed_clips
from amr_bench_baselines.zeroshot.resample import resample

RATE = 44100


def _sinc_resample_by_definition(
    x: np.ndarray, orig: int, new: int, zeros: int = 6, rolloff: float = 0.99
) -> np.ndarray:
    """The published definition evaluated directly per output sample, in float64:
    y[j] = sum_i x[i] * base/orig * sinc(base * (i/orig - j/new)) * hann, |base * (i/orig - j/new)| <= zeros."""
    g = math.gcd(orig, new)
    orig, new = orig // g, new // g
    base = min(orig, new) * rolloff
    n_out = math.ceil(new * len(x) / orig)
    i = np.arange(len(x))
    out = np.empty(n_out)
    for j in range(n_out):
        t = np.clip((i / orig - j / new) * base, -zeros, zeros)
        window = np.cos(t * np.pi / zeros / 2) ** 2
        out[j] = np.sum(x * np.sinc(t) * window * base / orig)
    return out


@settings(max_examples=40, deadline=None)
@given(
    orig=st.integers(1, 60),
    new=st.integers(1, 60),
    n=st.integers(1, 120),
    seed=st.integers(0, 2**16),
)
def test_resampling_is_the_windowed_sinc_definition(orig: int, new: int, n: int, seed: int) -> None:
    x = np.random.default_rng(seed).uniform(-1, 1, n).astype(np.float32)
    y = resample(x, orig, new)
    expected = x if orig == new else _sinc_resample_by_definition(x.astype(np.float64), orig, new)
    assert y.dtype == np.float32 and y.shape == expected.shape
    np.testing.assert_allclose(y, expected, atol=2e-5)


def test_resampling_keeps_a_band_limited_tone() -> None:
    t = np.arange(16000 * 2) / 16000
    y = resample(np.sin(2 * np.pi * 440 * t).astype(np.float32), 16000, RATE)
    assert len(y) == 2 * RATE
    truth = np.sin(2 * np.pi * 440 * np.arange(len(y)) / RATE)
    np.testing.assert_allclose(y[RATE // 2 : -RATE // 2], truth[RATE // 2 : -RATE // 2], atol=2e-3)
    stereo = resample(np.stack([t, -t]).astype(np.float32), 16000, RATE)  # channels resampled alike
    np.testing.assert_array_equal(stereo[0], -stereo[1])


@pytest.mark.parametrize(
    ("samples", "counts"),
    [(3 * RATE, (3, 4, 3)), (3 * RATE + 100, (3, 4, 4)), (RATE - 1, (0, 1, 1)), (1, (0, 1, 1))],
)
def test_frame_counts(samples: int, counts: tuple[int, int, int]) -> None:
    assert tuple(frame_count(samples, f) for f in ("lighthouse", "wrapper", "repeat7")) == counts
    for f, n in zip(("lighthouse", "wrapper", "repeat7"), counts, strict=True):
        assert len(framed_clips(np.zeros(samples, np.float32), f)) == n


def test_each_framing_cuts_the_expected_samples() -> None:
    wave = np.arange(1, 26, dtype=np.float32)  # 2.5 "seconds" at rate 10
    lighthouse = framed_clips(wave, "lighthouse", rate=10)
    np.testing.assert_array_equal(lighthouse, [wave[0:10], wave[10:20]])
    wrapper = framed_clips(wave, "wrapper", rate=10)
    np.testing.assert_array_equal(wrapper, [np.r_[np.zeros(5), wave[0:5]], wave[5:15], wave[15:25]])
    repeat7 = framed_clips(wave, "repeat7", rate=10)
    np.testing.assert_array_equal(repeat7, [np.tile(wave[0:10], 7), np.tile(wave[10:20], 7), np.tile(wave[20:25], 14)])


class RecordingAdapter:
    """Stands in for MS-CLAP: records the clips fed to HTSAT, returns one 768-d row per clip."""

    def __init__(self) -> None:
        self.clips: list[np.ndarray] = []

    def encode_clips(self, clips: np.ndarray) -> np.ndarray:
        self.clips.extend(np.asarray(clips))
        return np.tile(np.asarray(clips).mean(axis=1, keepdims=True), (1, 768)).astype(np.float32)


@pytest.mark.parametrize("framing", ["lighthouse", "wrapper", "repeat7"])
def test_extraction_feeds_htsat_exactly_the_framed_samples(tmp_path: Path, framing: str) -> None:
    rng = np.random.default_rng(0)
    stereo = rng.uniform(-0.5, 0.5, (int(2.5 * RATE), 2)).astype(np.float32)
    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "rec.wav", stereo, RATE, subtype="FLOAT")  # 44.1 kHz: no resampling
    adapter = RecordingAdapter()
    s = extract.extract_audio_features(
        adapter, extract.audio_files(audio), tmp_path / "out", 2, progress=False, framing=framing
    )
    assert s.written == ["rec"] and not s.problems
    mono = stereo[:, 0] if framing == "wrapper" else stereo.mean(axis=1)  # the wrapper script reads channel 0
    np.testing.assert_array_equal(np.stack(adapter.clips), framed_clips(mono, framing))
    assert len(adapter.clips) == {"lighthouse": 2, "wrapper": 3, "repeat7": 3}[framing]
    assert FeatureStore(tmp_path / "out").audio("rec").shape == (len(adapter.clips), 768)


def test_a_recording_without_a_whole_second_is_a_problem_for_lighthouse(tmp_path: Path) -> None:
    sf.write(tmp_path / "short.wav", np.zeros(RATE // 2, np.float32), RATE)
    s = extract.extract_audio_features(RecordingAdapter(), [tmp_path / "short.wav"], tmp_path / "o", progress=False)
    assert s.written == [] and len(s.problems) == 1
    assert "short.wav" in s.problems[0].path and "no whole second" in s.problems[0].message
    assert not (tmp_path / "o" / "clap" / "short.npz").exists()


def test_frame_rule_and_census() -> None:
    assert [frame_rule(n, 12.5) for n in (12, 13, 11, 14)] == ["T", "T+1", "other", "other"]
    census = framing_census({"a": 12, "b": 30}, {"a": 12.5, "b": 30.0})
    assert census.counts == {"T": 2, "T+1": 0, "other": 0}
    assert census.verdict().startswith("2 of 2 recordings have floor(duration) frames: lighthouse")
    wrapper = framing_census({"a": 13, "b": 31}, {"a": 12.5, "b": 30.0})
    assert "Lighthouse-Wrapper" in wrapper.verdict() and "7-s repeat" not in wrapper.verdict()
    mixed = framing_census({"a": 13, "b": 40}, {"a": 12.5, "b": 30.0})
    assert mixed.counts == {"T": 0, "T+1": 1, "other": 1} and "b (40 frames, 30 s)" in mixed.verdict()


@pytest.mark.parametrize(("extra", "needle"), [(0, "floor(duration) frames: lighthouse"), (1, "Lighthouse-Wrapper")])
def test_cli_features_reports_the_implied_framing(tmp_path: Path, extra: int, needle: str) -> None:
    store = FeatureStore(tmp_path)
    lines = []
    for q, (vid, duration) in enumerate([("a", 12.5), ("b", 30.0)]):
        store.write_audio(vid, np.zeros((math.floor(duration) + extra, 768), np.float32))
        store.write_text(q, np.zeros((3, 768), np.float32))
        lines.append({"qid": q, "query": "x", "duration": duration, "vid": vid, "relevant_windows": [[1, 2]]})
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = CliRunner().invoke(app, ["datasets", "features", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "framing: 2 of 2 recordings have" in r.output and needle in r.output


def test_cli_unknown_framing_is_a_usage_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app, ["features", "extract", str(tmp_path), "--out", str(tmp_path / "o"), "--framing", "centre"]
    )
    assert r.exit_code == 2, r.output
    assert "unknown --framing 'centre'" in r.output and "Traceback" not in r.output
