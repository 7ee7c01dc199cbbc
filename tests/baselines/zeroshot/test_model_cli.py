"""The zero-shot routes that need the MS-CLAP model, offline on random weights.

A random-weight MS-CLAP 2023 (real msclap classes, a tiny local GPT-2) is saved as a ``.pth``
weights file; ``features extract`` turns tiny numpy-made WAVs and their queries into a dataset in
the official layout. Then ``--reencode-text`` (JointProj) and ``--audio-dir`` (sliding-clap and
its tuning) must agree with the feature routes where the two are the same computation.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if importlib.util.find_spec("msclap") is None:
    pytest.skip("msclap is not installed (scripts/test.sh installs it with --no-deps)", allow_module_level=True)
sf = pytest.importorskip("soundfile")

from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench_baselines.zeroshot import clap_model, clap_weights
from tests.helpers.tiny_gpt2 import write_tiny_gpt2

runner = CliRunner()
DURATIONS = {"rec_a": 2.0, "rec_b": 0.8}  # 2 + 1 one-second frames: HTSAT is slow on CPU


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("zsm")
    gpt2 = write_tiny_gpt2(tmp / "tiny-gpt2")
    weights = tmp / "CLAP_random.pth"
    model = clap_model.random_clap(gpt2, seed=1)
    torch.save({"model": model.model.state_dict()}, weights)
    wavs = tmp / "wavs"
    wavs.mkdir()
    rng = np.random.default_rng(0)
    for i, (vid, seconds) in enumerate(DURATIONS.items()):
        rate = (16000, 22050)[i]  # resampled to 44.1 kHz on reading
        t = np.arange(int(seconds * rate)) / rate
        wave = 0.3 * np.sin(2 * np.pi * (300 + 200 * i) * t) + rng.normal(0, 0.05, len(t))
        sf.write(wavs / f"{vid}.wav", wave.astype(np.float32), rate)
    data = tmp / "data"
    data.mkdir()
    lines = [
        {
            "qid": q,
            "query": text,
            "duration": DURATIONS[vid],
            "vid": vid,
            "relevant_windows": [[0.0, 0.8 if vid == "rec_b" else 1.0]],
        }
        for q, (vid, text) in enumerate([("rec_a", "a low hum!"), ("rec_a", "a beep"), ("rec_b", "a high tone")])
    ]
    (data / "test.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    _run(
        [
            "features",
            "extract",
            str(wavs),
            "--out",
            str(data),
            "--queries",
            str(data / "test.jsonl"),
            "--clap-weights",
            str(weights),
            "--text-model",
            str(gpt2),
            "--framing",
            "repeat7",  # the framing sliding-clap's raw-audio windows use
        ]
    )
    return {"gpt2": gpt2, "weights": weights, "wavs": wavs, "data": data, "model": model}


def _windows(path: Path) -> list[list[list[float]]]:
    return [json.loads(line)["pred_relevant_windows"] for line in path.read_text().splitlines()]


def _run(args: list[str]) -> str:
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output
    return r.output


def test_reencode_text_equals_the_text_feature_route(setup: dict[str, Any], tmp_path: Path) -> None:
    """Features from the same model: re-encoding the raw query (``!`` stripped) gives the
    projected ``<|endoftext|>`` row, hence the same windows."""
    s = setup
    base = ["baseline", "jointproj", "--data", str(s["data"])]
    _run([*base, "--projection", str(s["weights"]), "--out", str(tmp_path / "a.jsonl")])
    out = _run(
        [
            *base,
            "--reencode-text",
            "--clap-weights",
            str(s["weights"]),
            "--text-model",
            str(s["gpt2"]),
            "--out",
            str(tmp_path / "b.jsonl"),
        ]
    )
    assert "MS-CLAP weights: " in out
    a, b = _windows(tmp_path / "a.jsonl"), _windows(tmp_path / "b.jsonl")
    assert [[w[:2] for w in q] for q in a] == [[w[:2] for w in q] for q in b]
    np.testing.assert_allclose([w[2] for q in a for w in q], [w[2] for q in b for w in q], rtol=1e-3, atol=1e-4)
    _run(["score", str(tmp_path / "b.jsonl"), "--gt", str(s["data"] / "test.jsonl")])


def test_one_second_windows_from_raw_audio_are_the_extracted_frames(setup: dict[str, Any]) -> None:
    """``--audio-dir`` embeds each window through the audio encoder; a 1-s window is exactly
    what ``features extract`` stored for that second."""
    from amr_bench_baselines.zeroshot.curves import load_audio_bank, load_split_data
    from amr_bench_baselines.zeroshot.sliding_clap import audio_window_banks, find_audio_files

    data = load_split_data(setup["data"], "test")
    banks = audio_window_banks(setup["model"], find_audio_files(data, setup["wavs"]), [1])
    stored = load_audio_bank(data)
    assert banks[1].vids == stored.vids == ["rec_a", "rec_b"]
    np.testing.assert_array_equal(banks[1].offsets, stored.offsets)
    np.testing.assert_allclose(banks[1].frames, stored.frames, rtol=1e-4, atol=1e-4)


@pytest.mark.slow  # tunes and runs a model on raw audio
def test_cli_tune_and_run_from_raw_audio(setup: dict[str, Any], tmp_path: Path) -> None:
    s = setup
    settings = tmp_path / "s.json"
    model = ["--audio-dir", str(s["wavs"]), "--clap-weights", str(s["weights"]), "--text-model", str(s["gpt2"])]
    out = _run(
        [
            "baseline",
            "tune",
            "sliding-clap",
            "--data",
            str(s["data"]),
            "--split",
            "test",
            "--windows",
            "3",
            "--out",
            str(settings),
            *model,
        ]
    )
    assert "MS-CLAP weights: " in out
    doc = json.loads(settings.read_text())
    assert doc["source"] == "audio" and doc["window"] == 3
    assert doc["tuned_on"]["candidates"] >= 2
    out = _run(
        [
            "baseline",
            "sliding-clap",
            "--data",
            str(s["data"]),
            "--settings",
            str(settings),
            "--window",
            "1",
            "--out",
            str(tmp_path / "a.jsonl"),
            *model,
        ]
    )
    assert "window embeddings from audio" in out
    _run(["score", str(tmp_path / "a.jsonl"), "--gt", str(s["data"] / "test.jsonl")])


@pytest.mark.parametrize(
    "folder, code, needle",
    [
        ("nowhere", 2, "audio folder"),
        ("empty", 1, "rec_a.wav: error: no audio file for vid 'rec_a'"),
        ("broken", 1, "rec_b.wav: error: unreadable audio"),
    ],
)
def test_audio_dir_errors(setup: dict[str, Any], tmp_path: Path, folder: str, code: int, needle: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken").mkdir()
    sf.write(tmp_path / "broken" / "rec_a.wav", np.zeros(100, np.float32), 8000)
    (tmp_path / "broken" / "rec_b.wav").write_bytes(b"RIFF not really")
    r = runner.invoke(
        app,
        [
            "baseline",
            "sliding-clap",
            "--data",
            str(setup["data"]),
            "--threshold",
            "0",
            "--audio-dir",
            str(tmp_path / folder),
            "--clap-weights",
            str(setup["weights"]),
            "--text-model",
            str(setup["gpt2"]),
            "--out",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert r.exit_code == code, r.output
    assert needle in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o.jsonl").exists()


def test_reencode_text_without_weights_offline_says_how_to_get_them(
    setup: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(clap_weights.WEIGHTS_ENV, raising=False)
    r = runner.invoke(
        app,
        [
            "baseline",
            "jointproj",
            "--data",
            str(setup["data"]),
            "--reencode-text",
            "--text-model",
            str(setup["gpt2"]),
            "--out",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert r.exit_code == 2, r.output
    assert "CLAP_weights_2023.pth" in r.output and "Traceback" not in r.output
