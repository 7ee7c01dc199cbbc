"""The feature-level simulator: byte-identical by seed, Algorithm 1 statistics, the official
layout, a planted signal that the projection heads reveal, and a test split that scores."""

from __future__ import annotations

import json
import math
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.datasets import FeatureStore, load_split
from amr_bench.datasets.checks import check_ground_truth
from amr_bench.datasets.projection_heads_numpy import PARAMS, cosine, load_projection
from amr_bench.datasets.simulate import SPLITS, simulate

runner = CliRunner()


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def clotho(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim") / "clotho"
    summary = simulate(root, recordings=150, seed=11, style="clotho-moment")
    return root, summary


@pytest.fixture(scope="module")
def castella(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim") / "castella"
    summary = simulate(root, recordings=40, seed=5, style="castella")
    return root, summary


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = simulate(tmp_path / "a", recordings=12, seed=3, style="castella")
    simulate(tmp_path / "b", recordings=12, seed=3, style="castella")
    simulate(tmp_path / "c", recordings=12, seed=4, style="castella")
    fa, fb, fc = (_files(tmp_path / x) for x in "abc")
    assert fa == fb
    assert fa.keys() != fc.keys() or any(fa[k] != fc[k] for k in fa)
    assert sum(a.queries.values()) == sum(1 for s in SPLITS for _ in (tmp_path / "a" / f"{s}.jsonl").open())


def test_cli_simulate_is_deterministic_and_refuses_a_used_folder(tmp_path):
    args = ["simulate", "--recordings", "6", "--seed", "9", "--quiet"]
    assert runner.invoke(app, [*args[:1], str(tmp_path / "x"), *args[1:]]).exit_code == 0
    assert runner.invoke(app, [*args[:1], str(tmp_path / "y"), *args[1:]]).exit_code == 0
    assert _files(tmp_path / "x") == _files(tmp_path / "y")
    again = runner.invoke(app, [*args[:1], str(tmp_path / "x"), *args[1:]])
    assert again.exit_code == 2 and "--overwrite" in again.output
    over = runner.invoke(app, [*args[:1], str(tmp_path / "x"), *args[1:], "--overwrite"])
    assert over.exit_code == 0 and _files(tmp_path / "x") == _files(tmp_path / "y")
    bad = runner.invoke(app, ["simulate", str(tmp_path / "z"), "--style", "nope"])
    assert bad.exit_code == 2 and "clotho-moment" in bad.output


def test_clotho_style_statistics(clotho):
    root, summary = clotho
    st = summary.statistics
    assert abs(st["gap_mean_drawn_s"] - 30.0) < 5.0  # Exponential(30 s), all draws
    assert st["gap_mean_placed_s"] < st["gap_mean_drawn_s"]  # placed gaps are conditioned to fit
    records = [r for s in SPLITS for r in load_split(root, s)]
    assert all(len(r["relevant_windows"]) == 1 for r in records)  # one moment per query
    lengths = np.array([e - s for r in records for s, e in r["relevant_windows"]])
    assert lengths.min() >= 10.0 - 1e-9 and lengths.max() <= 30.0 + 1e-9
    assert abs(np.median(lengths) - st["moment_length_s"]["p50"]) < 1e-6
    by_vid: dict[str, list] = {}
    for r in records:
        assert r["duration"] == 60 and -5 <= r["fg_dB"] <= 5
        by_vid.setdefault(r["vid"], []).append(r["relevant_windows"][0])
    assert len(by_vid) == 150  # every recording has at least one moment
    for windows in by_vid.values():  # Algorithm 1 never overlaps moments
        windows.sort()
        assert all(a[1] <= b[0] for a, b in pairwise(windows))
        assert all(0 <= s < e <= 60 and abs(s * 10 - round(s * 10)) < 1e-6 for s, e in windows)


def test_castella_style_statistics(castella):
    root, summary = castella
    records = [r for s in SPLITS for r in load_split(root, s)]
    durations = {r["vid"]: r["duration"] for r in records}
    assert all(60 <= d <= 300 and float(d).is_integer() for d in durations.values())
    lengths = np.array([e - s for r in records for s, e in r["relevant_windows"]])
    assert (lengths < 5).mean() > 0.3  # short moments are common
    assert all(float(x).is_integer() for r in records for w in r["relevant_windows"] for x in w)
    assert np.mean([len(r["relevant_windows"]) for r in records]) > 1.5  # several per query
    assert summary.statistics["windows_per_query"]["max"] > 1


@pytest.mark.parametrize("which", ["clotho", "castella"])
def test_layout_and_schema(which, request):
    from amr_bench.groundtruth import load_ground_truth

    root, summary = request.getfixturevalue(which)
    store = FeatureStore(root)
    meta = json.loads((root / "dataset.json").read_text())
    assert meta["counts"]["queries"] == summary.queries and meta["seed"] == summary.seed
    for split in SPLITS:
        assert check_ground_truth(root / f"{split}.jsonl").problems == []
        gt = load_ground_truth(f"{root}/{split}")
        assert len(gt) == summary.queries[split]
        for r in load_split(root, split)[:5]:
            a = store.audio(r["vid"])
            assert a.shape == (math.ceil(r["duration"]), 768) and a.dtype == np.float32
            t = store.text(r["qid"])
            assert t.shape[1] == 768 and t.shape[0] >= 3
    with np.load(root / "clap_projection.npz") as z:
        for prefix in ("audio_encoder.projection.", "caption_encoder.projection."):
            assert z[prefix + "linear1.weight"].shape == (1024, 768)
            assert z[prefix + "linear2.weight"].shape == (1024, 1024)
            assert z[prefix + "layer_norm.weight"].shape == (1024,)
            assert z[prefix + "layer_norm.bias"].shape == (1024,)
        assert len(z.files) == 2 * len(PARAMS)


def _frame_auc(root: Path, project: bool) -> float:
    from scipy.stats import rankdata

    store = FeatureStore(root)
    audio_head, text_head = load_projection(root / "clap_projection.npz")
    aucs = []
    for r in load_split(root, "train")[:60]:
        a = np.asarray(store.audio(r["vid"]))
        t = np.asarray(store.text(r["qid"]))[-1]
        curve = cosine(audio_head(a), text_head(t)) if project else cosine(a, t)
        centres = np.arange(len(a)) + 0.5
        inside = np.zeros(len(a), bool)
        for s, e in r["relevant_windows"]:
            inside |= (centres > s) & (centres < e)
        pos, neg = inside.sum(), (~inside).sum()
        ranks = rankdata(curve)
        aucs.append((ranks[inside].sum() - pos * (pos + 1) / 2) / (pos * neg))
    return float(np.mean(aucs))


def test_projection_heads_reveal_the_planted_signal(clotho):
    from threadpoolctl import threadpool_limits

    root, _ = clotho
    with threadpool_limits(limits=1, user_api="blas"):
        raw, projected = _frame_auc(root, False), _frame_auc(root, True)
    assert 0.5 < raw < 0.75  # weak by raw cosine
    assert projected > raw + 0.12 and projected > 0.8  # strong after the heads
    assert projected < 0.97  # but no perfect zero-shot separation


def test_simulated_test_split_scores_like_a_real_dataset(clotho, tmp_path):
    root, _ = clotho
    lines = [
        {"qid": r["qid"], "pred_relevant_windows": [[*r["relevant_windows"][0], 1.0]]} for r in load_split(root, "test")
    ]
    sub = tmp_path / "sub.jsonl"
    sub.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "m.json"
    result = runner.invoke(app, ["score", str(sub), "--gt", f"{root}/test", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    brief = json.loads(out.read_text())["brief"]
    assert set(brief.values()) == {100.0}
    shifted = [
        {"qid": x["qid"], "pred_relevant_windows": [[w[0] + 5, w[1] + 5, 1.0] for w in x["pred_relevant_windows"]]}
        for x in lines
    ]
    sub.write_text("".join(json.dumps(x) + "\n" for x in shifted))
    worse = runner.invoke(app, ["score", str(sub), "--gt", f"{root}/test", "-o", str(out), "-q"])
    assert worse.exit_code == 0
    assert json.loads(out.read_text())["brief"]["MR-full-R1@0.7"] < 100.0


def test_too_few_recordings_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["simulate", str(tmp_path / "s"), "--recordings", "2"])
    assert result.exit_code == 2


def test_the_simulate_package_keeps_its_public_names_in_one_place() -> None:
    import amr_bench.datasets.simulate as sim

    for name in ("simulate", "SPLITS", "STYLES", "Signal", "Style", "SimulationSummary", "World", "GENERATOR_VERSION"):
        assert name in sim.__all__ and hasattr(sim, name), name
    assert sim.simulate.__module__ == "amr_bench.datasets.simulate.writer"
    assert set(sim.STYLES) == {"clotho-moment", "castella"}
