"""The waveform-level simulator on tiny WAVs generated here: trimming, resampling, gains,
Algorithm 1 placement, determinism and the CLI's errors."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from amr_bench.cli import app

sf = pytest.importorskip("soundfile", reason="soundfile (the baselines extra) is not installed")

from amr_bench.datasets.simulate_audio import simulate_audio, trim_silence

runner = CliRunner()
SR = 8000


@pytest.fixture
def material(tmp_path):
    rng = np.random.default_rng(0)
    fg = tmp_path / "fg"
    fg.mkdir()
    lines = []
    for i in range(3):  # 0.5 s silence + 2 s tone + 0.5 s silence, at 16 kHz (resampled to 8 kHz)
        t = np.arange(int(2.0 * 16000)) / 16000
        tone = 0.5 * np.sin(2 * np.pi * (300 + 100 * i) * t)
        clip = np.concatenate([np.zeros(8000), tone, np.zeros(8000)])
        sf.write(fg / f"c{i}.wav", clip, 16000)
        lines.append({"audio": f"fg/c{i}.wav", "captions": [f"tone {i}", f"a beep {i}"]})
    (tmp_path / "clips.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    bg = tmp_path / "bg"
    bg.mkdir()
    sf.write(bg / "street.wav", 0.1 * rng.standard_normal((30 * SR, 2)), SR)  # stereo, 30 s
    return tmp_path


def test_trim_removes_silent_onset_and_offset():
    x = np.concatenate([np.zeros(400), np.ones(800), 1e-4 * np.ones(400)])
    y = trim_silence(x, 8000)  # 50-ms frames of 400 samples
    assert len(y) == 800 and np.all(y == 1)


def test_mixing_follows_algorithm_1(material):
    out = material / "out"
    s = simulate_audio(
        material / "clips.jsonl",
        material / "bg",
        out,
        recordings=6,
        seed=1,
        sample_rate=SR,
        duration=10.0,
        gap_mean=2.0,
    )
    records = [json.loads(line) for line in (out / "test.jsonl").read_text().splitlines()]
    assert s["queries"] == len(records) and s["segments_available"] == 21  # 30 s, 10 s, 1-s hops
    vids = {r["vid"] for r in records}
    assert len(list((out / "audio").glob("*.wav"))) == len(vids) == 6
    for r in records:
        ((start, end),) = r["relevant_windows"]
        assert abs((end - start) - 2.0) < 0.06  # trimmed to the 2-s tone (50-ms frames)
        assert 0 <= start < end <= 10 and -5 <= r["fg_dB"] <= 5
        assert r["query"] in {f"tone {i}" for i in range(3)} | {f"a beep {i}" for i in range(3)}
    by_vid: dict[str, list] = {}
    for r in records:
        by_vid.setdefault(r["vid"], []).append(r["relevant_windows"][0])
    for vid, windows in by_vid.items():
        audio, sr = sf.read(out / "audio" / f"{vid}.wav")
        assert sr == SR and audio.ndim == 1 and len(audio) == 10 * SR
        windows.sort()
        assert all(a[1] <= b[0] for a, b in pairwise(windows))
        start, end = windows[0]
        inside = audio[int(start * SR) + 100 : int(end * SR) - 100]
        outside = np.concatenate([audio[: max(int(start * SR) - 100, 0)], audio[int(windows[-1][1] * SR) + 100 :]])
        if len(outside):  # foreground at about 0 dB over background at about -20 dB
            ratio_db = 10 * np.log10((inside**2).mean() / (outside**2).mean())
            assert 8 < ratio_db < 32


def test_same_seed_same_files(material):
    for name in ("a", "b"):
        simulate_audio(
            material / "clips.jsonl",
            material / "bg",
            material / name,
            recordings=3,
            seed=4,
            sample_rate=SR,
            duration=10.0,
            gap_mean=2.0,
        )
    fa = {p.name: p.read_bytes() for p in sorted((material / "a").rglob("*")) if p.is_file()}
    fb = {p.name: p.read_bytes() for p in sorted((material / "b").rglob("*")) if p.is_file()}
    assert fa == fb


def _simulate_audio(foreground: Path, background: Path, out: Path, *options: str) -> Result:
    args = ["simulate-audio", "--foreground", str(foreground), "--background", str(background)]
    return runner.invoke(app, [*args, "--out", str(out), *options])


def test_cli_and_its_errors(material):
    short = ["--sample-rate", str(SR), "--duration", "10", "--gap-mean", "2", "--recordings", "2", "--quiet"]
    ok = _simulate_audio(material / "clips.jsonl", material / "bg", material / "o", *short)
    assert ok.exit_code == 0, ok.output
    assert (material / "o" / "test.jsonl").is_file()
    too_long = _simulate_audio(
        material / "clips.jsonl", material / "bg", material / "p", "--sample-rate", str(SR), "--duration", "60"
    )
    assert too_long.exit_code == 2 and "at least 60 s long" in too_long.output
    (material / "bad.jsonl").write_text('{"audio": "fg/nope.wav", "caption": "x"}\n{"caption": 3}\n')
    bad = _simulate_audio(material / "bad.jsonl", material / "bg", material / "q")
    assert bad.exit_code == 1
    assert f"{material / 'bad.jsonl'}:1: error: audio file not found" in bad.output
    assert f"{material / 'bad.jsonl'}:2: error: expected" in bad.output
    nobg = _simulate_audio(material / "clips.jsonl", material / "fg" / "none", material / "r")
    assert nobg.exit_code == 2 and "no audio files" in nobg.output


def _riff_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    ids, i = [], 12
    while i + 8 <= len(data):
        size = int.from_bytes(data[i + 4 : i + 8], "little")
        ids.append(data[i : i + 4])
        i += 8 + size + (size & 1)
    return ids


def test_written_wavs_carry_no_time_of_writing(material):
    """libsndfile adds a PEAK chunk with a timestamp to float WAVs: two runs a second apart then
    differ in bytes (seen as a flaky same-seed test). The simulator's files hold only fmt/fact/data."""
    simulate_audio(
        material / "clips.jsonl", material / "bg", material / "o", recordings=2, seed=4, sample_rate=SR, duration=10.0
    )
    wavs = sorted((material / "o" / "audio").glob("*.wav"))
    assert wavs
    for wav in wavs:
        chunks = _riff_chunks(wav.read_bytes())
        assert b"PEAK" not in chunks and b"data" in chunks, chunks
        audio, sr = sf.read(wav, dtype="float32")
        assert sr == SR and audio.dtype == np.float32 and len(audio) == 10 * SR
