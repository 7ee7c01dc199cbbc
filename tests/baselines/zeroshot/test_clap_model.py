"""The MS-CLAP adapter on random weights, offline: real msclap classes, a tiny local GPT-2."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if importlib.util.find_spec("msclap") is None:  # importing it needs the adapter's stand-in
    pytest.skip("msclap is not installed (scripts/test.sh installs it with --no-deps)", allow_module_level=True)
sf = pytest.importorskip("soundfile")

from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.datasets.features import FeatureStore
from amr_bench.datasets.npzio import write_npz
from amr_bench.datasets.projection_heads_numpy import load_projection
from amr_bench.errors import InputError, UsageError
from amr_bench_baselines.zeroshot import clap_model, clap_weights, extract, projection_heads_torch
from amr_bench_baselines.zeroshot.audio_framing import window_clips
from tests.helpers.tiny_gpt2 import write_tiny_gpt2


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gpt2(tmp_path_factory.mktemp("hf") / "tiny-gpt2")


@pytest.fixture(scope="module")
def model(tiny_gpt2: Path) -> clap_model.ClapAdapter:
    return clap_model.random_clap(tiny_gpt2, seed=0)


def test_import_leaves_no_torchaudio_stand_in(model: clap_model.ClapAdapter) -> None:
    mod = sys.modules.get("torchaudio")
    assert mod is None or getattr(mod, "__file__", None) is not None
    assert not model.model.training


def test_last_token_row_is_what_the_caption_encoder_pools(model: clap_model.ClapAdapter) -> None:
    queries = ["a dog barks twice", "rain on a tin roof, then thunder"]
    hidden = model.text_hidden_states(queries)
    assert [h.shape[1] for h in hidden] == [768, 768]
    pooled = model.heads.project("text", np.stack([h[-1] for h in hidden]))
    torch.testing.assert_close(pooled, model.text_embeddings(queries), rtol=1e-4, atol=1e-5)


def test_exclamation_marks_are_stripped(model: clap_model.ClapAdapter) -> None:
    assert clap_model.clean_query("  Wow! a  bang!! ") == "Wow a bang"
    torch.testing.assert_close(model.text_embeddings(["a bang!"]), model.text_embeddings(["a bang"]))


def test_audio_features_are_768d_deterministic_and_repeat_padded(model: clap_model.ClapAdapter) -> None:
    rng = np.random.default_rng(0)
    one = rng.normal(0, 0.1, (1, 44100)).astype(np.float32)
    a = model.audio_features(one)
    assert a.shape == (1, 768)
    np.testing.assert_array_equal(a, model.audio_features(one))
    np.testing.assert_allclose(a, model.audio_features(np.tile(one, 7)), rtol=1e-4, atol=1e-5)


def test_projection_heads_same_from_pth_and_npz_and_numpy(model: clap_model.ClapAdapter, tmp_path: Path) -> None:
    state = model.model.state_dict()
    pth = tmp_path / "w.pth"
    torch.save({"model": {"module." + k: v for k, v in state.items()}, "epoch": 3}, pth)
    npz = tmp_path / "p.npz"
    write_npz(npz, {k: v.numpy() for k, v in state.items() if ".projection." in k})
    x = np.random.default_rng(1).normal(size=(5, 768)).astype(np.float32)
    from_pth = projection_heads_torch.load_projection_heads(pth)
    from_npz = projection_heads_torch.load_projection_heads(npz)
    for head in ("audio", "text"):
        torch.testing.assert_close(from_pth.project(head, x), from_npz.project(head, x))
        torch.testing.assert_close(from_pth.project(head, x), model.heads.project(head, x))
    # an independent numpy implementation (the datasets package) agrees
    audio_np, _ = load_projection(npz)
    y = audio_np(x)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    np.testing.assert_allclose(from_npz.project("audio", x).numpy(), y, rtol=1e-3, atol=1e-4)


def test_load_clap_reports_missing_and_unexpected_keys(
    model: clap_model.ClapAdapter, tiny_gpt2: Path, tmp_path: Path
) -> None:
    state = dict(model.model.state_dict())
    del state["logit_scale"]
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "w.pth"
    torch.save({"model": state}, path)
    loaded = clap_model.load_clap(path, str(tiny_gpt2))
    assert loaded.report.missing == ["logit_scale"]
    assert loaded.report.unexpected == ["extra.weight"]
    assert not loaded.model.training
    assert any("1 missing key(s): logit_scale" in line for line in loaded.report.lines())
    x = np.random.default_rng(2).normal(size=(3, 768)).astype(np.float32)
    torch.testing.assert_close(loaded.heads.project("audio", x), model.heads.project("audio", x))


def test_missing_weights_give_the_command_to_get_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="huggingface-cli download microsoft/msclap"):
        clap_weights.resolve_weights(tmp_path / "nope.pth")
    monkeypatch.delenv(clap_weights.WEIGHTS_ENV, raising=False)
    with pytest.raises(UsageError, match="--clap-weights"):
        clap_weights.resolve_weights(None, download=False)
    with pytest.raises(InputError):
        clap_weights.read_state_dict(tmp_path / "nope.npz")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="unreadable"):
        clap_weights.read_state_dict(bad)


def test_cli_extract_without_weights_offline_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(clap_weights.WEIGHTS_ENV, raising=False)
    sf.write(tmp_path / "a.wav", np.zeros(8000, np.float32), 8000)
    r = CliRunner().invoke(app, ["features", "extract", str(tmp_path), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert "CLAP_weights_2023.pth" in r.output and "Traceback" not in r.output


def test_read_audio_any_rate_and_channels(tmp_path: Path) -> None:
    t = np.arange(22050 * 2) / 22050
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], axis=1) * 0.5
    sf.write(tmp_path / "s.wav", stereo, 22050)
    wave = extract.read_audio(tmp_path / "s.wav")
    assert wave.dtype == np.float32 and len(wave) == 2 * 44100
    spectrum = np.abs(np.fft.rfft(wave))
    assert abs(np.argmax(spectrum) * 44100 / len(wave) - 440) < 2


def test_window_clips_cover_each_second() -> None:
    wave = np.repeat(np.arange(3, dtype=np.float32), 10)  # 3 "seconds" at rate 10, last one full
    clips = window_clips(wave[:25], window=1, rate=10, clip_seconds=2)
    assert clips.shape == (3, 20)
    assert (clips[0] == 0).all() and (clips[1] == 1).all() and (clips[2] == 2).all()
    wide = window_clips(wave, window=3, rate=10, clip_seconds=3)
    np.testing.assert_array_equal(wide[1], wave)


def test_extract_audio_and_text_resumable(model: clap_model.ClapAdapter, tmp_path: Path) -> None:
    audio = tmp_path / "audio"
    audio.mkdir()
    rng = np.random.default_rng(0)
    sf.write(audio / "rec1.flac", rng.normal(0, 0.1, (int(16000 * 2.5), 2)).astype(np.float32), 16000)
    (audio / "broken.wav").write_bytes(b"RIFF nonsense")
    out = tmp_path / "feats"
    files = extract.audio_files(audio)
    s = extract.extract_audio_features(model, files, out, batch_size=2, progress=False, framing="repeat7")
    assert s.written == ["rec1"] and len(s.problems) == 1 and "broken.wav" in s.problems[0].path
    feats = FeatureStore(out).audio("rec1")
    assert feats.shape == (3, 768)
    again = extract.extract_audio_features(model, extract.audio_files(audio), out, progress=False)
    assert again.skipped == ["rec1"] and again.written == []
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"qid": 7, "query": "a bell rings!"}) + "\n")
    t = extract.extract_text_features(model, extract.read_queries(q), out, progress=False)
    assert t.written == ["7"]
    hidden = FeatureStore(out).text(7)
    np.testing.assert_allclose(hidden, model.text_hidden_states(["a bell rings"])[0], rtol=1e-5)
    assert extract.extract_text_features(model, extract.read_queries(q), out, progress=False).skipped == ["7"]


def test_a_text_model_folder_without_gpt_in_its_name_still_pools_the_last_token(tmp_path: Path) -> None:
    """msclap pools (non-zero tokens - 1) only when the model name contains "gpt", else token 0."""
    folder = write_tiny_gpt2(tmp_path / "tiny-textmodel", seed=3, exact_folder=True)
    assert "gpt" not in str(folder)
    plain = clap_model.random_clap(folder, seed=0)
    queries = ["a door slams", "birds sing over distant traffic"]
    pooled = plain.heads.project("text", np.stack([h[-1] for h in plain.text_hidden_states(queries)]))
    torch.testing.assert_close(plain.text_embeddings(queries), pooled, rtol=1e-4, atol=1e-5)
    first = plain.heads.project("text", np.stack([h[0] for h in plain.text_hidden_states(queries)]))
    assert not torch.allclose(plain.text_embeddings(queries), first, atol=1e-3)


def test_a_text_model_path_containing_clip_is_refused(tmp_path: Path) -> None:
    folder = write_tiny_gpt2(tmp_path / "clips" / "tiny-gpt2")
    with pytest.raises(UsageError, match="contains 'clip'"):
        clap_model.random_clap(folder)


@pytest.mark.parametrize("framing", ["lighthouse", "wrapper"])
def test_htsat_receives_the_framed_clips_unpadded(model: clap_model.ClapAdapter, tmp_path: Path, framing: str) -> None:
    wave = np.random.default_rng(4).uniform(-0.5, 0.5, int(2.2 * 44100)).astype(np.float32)
    sf.write(tmp_path / "r.wav", wave, 44100, subtype="FLOAT")
    seen: list[np.ndarray] = []
    hook = model.model.audio_encoder.base.register_forward_pre_hook(lambda _, args: seen.append(args[0].numpy()))
    try:
        s = extract.extract_audio_features(model, [tmp_path / "r.wav"], tmp_path / "o", progress=False, framing=framing)
    finally:
        hook.remove()
    assert s.written == ["r"]
    from amr_bench_baselines.zeroshot.audio_framing import framed_clips

    np.testing.assert_array_equal(np.concatenate(seen), framed_clips(wave, framing))
    assert np.concatenate(seen).shape == ({"lighthouse": 2, "wrapper": 3}[framing], 44100)
