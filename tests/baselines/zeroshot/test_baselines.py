"""Zero-shot baselines on features: JointProj, clap-cosine, sliding-window CLAP, tune, CLI.

A tiny dataset in the official layout is built here (planted signal: the audio and text heads are
the same random projection, frames inside a moment are the query's pooled token plus noise).
The margin test runs on the project's simulator.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.datasets.npzio import write_npz
from amr_bench.scoring import score_records
from amr_bench.validation import validate_records
from amr_bench_baselines.zeroshot.clap_cosine import clap_cosine
from amr_bench_baselines.zeroshot.curves import load_audio_bank, load_split_data
from amr_bench_baselines.zeroshot.jointproj import VARIANTS, jointproj
from amr_bench_baselines.zeroshot.projection_heads_torch import load_projection_heads
from amr_bench_baselines.zeroshot.sliding_clap import SlidingSettings, pooled_window_frames, sliding_clap, tune
from tests.helpers.zeroshot_data import make_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("zs") / "data")


@pytest.fixture(scope="module")
def heads(tiny: Path):
    return load_projection_heads(tiny / "clap_projection.npz")


def _valid(records: list[dict], root: Path, split: str = "test") -> None:
    data = load_split_data(root, split)
    report = validate_records(records, data.gt)
    assert report.ok, [str(p) for p in report.problems]
    assert [r["qid"] for r in records] == data.gt.qids
    for r in records:
        wins = r["pred_relevant_windows"]
        assert 1 <= len(wins) <= 10
        assert [w[2] for w in wins] == sorted((w[2] for w in wins), reverse=True)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_jointproj_is_valid_deterministic_and_finds_planted_moments(tiny: Path, heads, variant: str) -> None:
    data = load_split_data(tiny, "test")
    recs = jointproj(data, heads, VARIANTS[variant])
    _valid(recs, tiny)
    assert recs == jointproj(data, heads, VARIANTS[variant])
    assert score_records(recs, data.gt).raw["R1"]["0.5"] >= 0.75


def test_clap_cosine_is_valid_and_deterministic(tiny: Path) -> None:
    data = load_split_data(tiny, "test")
    recs = clap_cosine(data)
    _valid(recs, tiny)
    assert recs == clap_cosine(data)


def test_windows_end_within_duration(tiny: Path, heads) -> None:
    data = load_split_data(tiny, "test")
    for rec, dur in zip(jointproj(data, heads), data.gt.durations, strict=True):
        assert max(w[1] for w in rec["pred_relevant_windows"]) <= dur


def test_pooled_windows_are_centred_means(tiny: Path) -> None:
    bank = load_audio_bank(load_split_data(tiny, "test"))
    pooled = pooled_window_frames(bank, 4)
    f = bank.frames[: bank.offsets[1]]
    np.testing.assert_allclose(pooled[0], f[0:3].mean(0), rtol=1e-5)  # clipped at the start
    np.testing.assert_allclose(pooled[5], f[4:8].mean(0), rtol=1e-5)
    np.testing.assert_allclose(pooled[bank.offsets[1] - 1], f[-2:].mean(0), rtol=1e-5)
    np.testing.assert_allclose(pooled_window_frames(bank, 1), bank.frames, rtol=1e-6)


def test_tune_then_run_sliding_clap(tiny: Path, heads, tmp_path: Path) -> None:
    val = load_split_data(tiny, "val")
    result = tune(val, heads, metric="mAP", windows=(1, 4), medians=(1, 3), n_thresholds=5)
    assert len(result.table) == len({(r["window"], r["threshold"], r["median"]) for r in result.table})
    assert result.best.tuned_on["value"] == max(r["mAP"] for r in result.table)
    path = result.best.save(tmp_path / "s.json")
    loaded = SlidingSettings.load(path)
    assert loaded == result.best
    recs = sliding_clap(load_split_data(tiny, "test"), heads, loaded)
    _valid(recs, tiny)


def test_cli_runs_every_baseline_and_tune(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "jp.jsonl"
    r = runner.invoke(app, ["baseline", "jointproj", "--data", str(tiny), "--out", str(out), "--variant", "s2"])
    assert r.exit_code == 0, r.output
    assert "R1@0.7" in r.stdout
    r = runner.invoke(app, ["score", str(out), "--gt", str(tiny / "test.jsonl")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        ["baseline", "jointproj", "--data", str(tiny), "--out", str(tmp_path / "b.jsonl"), "--variant", "s2", "--bf16"],
    )
    assert r.exit_code == 0, r.output
    assert "matmuls in bfloat16" in r.output
    data = load_split_data(tiny, "test")
    exact, fast = (
        score_records([json.loads(x) for x in p.read_text().splitlines()], data.gt).raw["R1"]["0.5"]
        for p in (out, tmp_path / "b.jsonl")
    )
    assert abs(exact - fast) <= 0.1 and fast >= 0.75
    r = runner.invoke(app, ["baseline", "clap-cosine", "--data", str(tiny), "--out", str(tmp_path / "c.jsonl")])
    assert r.exit_code == 0, r.output
    settings = tmp_path / "sw.json"
    r = runner.invoke(
        app,
        [
            "baseline",
            "tune",
            "sliding-clap",
            "--data",
            str(tiny),
            "--windows",
            "1,4",
            "--metric",
            "R1@0.5",
            "--out",
            str(settings),
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(settings.read_text())["tuned_on"]["metric"] == "R1@0.5"
    r = runner.invoke(
        app,
        [
            "baseline",
            "sliding-clap",
            "--data",
            str(tiny),
            "--settings",
            str(settings),
            "--out",
            str(tmp_path / "s.jsonl"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "pooled-features" in r.output


@pytest.mark.parametrize(
    "args, code, needle",
    [
        (["baseline", "jointproj", "--split", "train"], 2, "no split 'train'"),
        (["baseline", "jointproj", "--variant", "s9"], 2, "unknown variant"),
        (["baseline", "sliding-clap"], 2, "needs a threshold"),
        (["baseline", "sliding-clap", "--threshold", "0.1", "--median-filter", "4"], 2, "must be odd"),
        (["baseline", "tune", "sliding-clap", "--metric", "F1"], 2, "unknown metric"),
        (["baseline", "tune", "sliding-clap", "--windows", "a,b"], 2, "--windows"),
    ],
)
def test_cli_usage_errors(tiny: Path, tmp_path: Path, args: list[str], code: int, needle: str) -> None:
    r = runner.invoke(app, [*args, "--data", str(tiny), *(["--out", str(tmp_path / "o")] if args[1] != "tune" else [])])
    assert r.exit_code == code, r.output
    assert needle in r.output
    assert "Traceback" not in r.output


def test_missing_feature_files_are_named(tiny: Path, tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "d", n_rec=2, seed=3)
    (root / "clap" / "test_rec1.npz").unlink()
    (root / "clap_text" / "qid5.npz").unlink()
    r = runner.invoke(app, ["baseline", "clap-cosine", "--data", str(root), "--out", str(tmp_path / "o.jsonl")])
    assert r.exit_code == 1
    assert "test_rec1.npz" in r.output and "qid5.npz" in r.output
    assert not (tmp_path / "o.jsonl").exists()


def test_projection_weights_without_heads_are_rejected(tiny: Path, tmp_path: Path) -> None:
    bad = tmp_path / "p.npz"
    write_npz(bad, {"something.else": np.zeros(3, np.float32)})
    r = runner.invoke(
        app,
        ["baseline", "jointproj", "--data", str(tiny), "--projection", str(bad), "--out", str(tmp_path / "o.jsonl")],
    )
    assert r.exit_code == 1
    assert "audio_encoder.projection.linear1.weight" in r.output


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from amr_bench.datasets.simulate import simulate

    root = tmp_path_factory.mktemp("sim") / "clotho"
    simulate(root, recordings=300, seed=11, style="clotho-moment")
    return root


@pytest.mark.slow  # ML acceptance: simulates a 300-recording benchmark
def test_jointproj_beats_clap_cosine_on_the_simulator(simulated: Path) -> None:
    """The planted projection heads must matter: the JointProj report has 3.5x on R1@0.7."""
    data = load_split_data(simulated, "test")
    heads = load_projection_heads(simulated / "clap_projection.npz")
    jp = score_records(jointproj(data, heads), data.gt).raw["R1"]["0.7"]
    cos = score_records(clap_cosine(data), data.gt).raw["R1"]["0.7"]
    assert jp >= 1.5 * cos and jp - cos >= 0.10, (jp, cos)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-recording dataset whose files the error tests may break (copied per test)."""
    return make_dataset(tmp_path_factory.mktemp("small") / "data", n_rec=2, seed=5)


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    return Path(shutil.copytree(src, dst))


def _fails(args: list[str], code: int, *needles: str) -> str:
    r = runner.invoke(app, args)
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    for needle in needles:
        assert needle in r.output, r.output
    return r.output


SETTINGS_CASES = [
    ('{"baseline": "sliding-clap",\n "window": 4,\n', [":3: error: not valid JSON"]),
    ('{"window": 4}\n', [":1: error: not a sliding-clap settings file"]),
    (
        '{"baseline": "sliding-clap",\n "window": 0,\n "median": 4,\n "colour": 1}\n',
        [
            ":2: error: window: must be a whole number",
            ":3: error: median: must be an odd",
            ":4: error: colour: unknown setting",
        ],
    ),
    (
        '{"baseline": "sliding-clap", "threshold": "high", "source": "radio"}\n',
        [":1: error: threshold: must be a number", ":1: error: source: must be one of"],
    ),
]


@pytest.mark.parametrize("content, needles", SETTINGS_CASES)
def test_bad_settings_file_is_an_input_error_with_lines(
    small: Path, tmp_path: Path, content: str, needles: list[str]
) -> None:
    path = tmp_path / "bad.settings.json"
    path.write_text(content)
    _fails(
        ["baseline", "sliding-clap", "--data", str(small), "--settings", str(path), "--out", str(tmp_path / "o.jsonl")],
        1,
        *[str(path) + n for n in needles],
    )
    assert not (tmp_path / "o.jsonl").exists()


def test_settings_file_errors_through_the_library(tmp_path: Path) -> None:
    from amr_bench.errors import InputError

    good = SlidingSettings(window=4, threshold=0.2, median=3).save(tmp_path / "s.json")
    assert SlidingSettings.load(good) == SlidingSettings(window=4, threshold=0.2, median=3)
    bad = tmp_path / "b.json"
    bad.write_text(json.dumps({"baseline": "sliding-clap", "median": True}))
    with pytest.raises(InputError) as e:
        SlidingSettings.load(bad)
    assert [p.line for p in e.value.problems] == [1]


def test_cli_input_and_usage_errors(small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every way the zero-shot commands can be misused or fed bad input: a message naming the
    file (and line where there is one), exit 1 for bad input, 2 for misuse, no traceback."""
    from amr_bench_baselines.zeroshot.clap_weights import WEIGHTS_ENV

    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    out = str(tmp_path / "o.jsonl")
    jp = ["baseline", "jointproj", "--out", out]
    _fails([*jp, "--data", str(tmp_path / "nowhere")], 2, "does not exist")
    _fails([*jp, "--data", str(small), "--rel-height", "2"], 2)
    _fails(
        [*jp, "--data", str(small), "--projection", str(tmp_path / "none.npz")],
        1,
        "none.npz",
        "weights file not found",
        "huggingface-cli download",
    )
    no_heads = _copy(small, tmp_path / "no_heads")
    (no_heads / "clap_projection.npz").unlink()
    _fails([*jp, "--data", str(no_heads)], 2, "no projection weights", "--clap-weights")
    _fails(
        ["baseline", "sliding-clap", "--data", str(no_heads), "--threshold", "0.1", "--out", out],
        2,
        "no projection weights",
    )
    _fails(
        ["baseline", "sliding-clap", "--data", str(small), "--settings", str(tmp_path / "s.json"), "--out", out],
        2,
        "does not exist",
    )
    _fails(["baseline", "sliding-clap", "--data", str(small), "--window", "0", "--out", out], 2)
    _fails(["baseline", "tune", "sliding-clap", "--data", str(small), "--windows", "0,4"], 2, "--windows")
    # broken inputs: a corrupt feature file, a bad ground-truth line, a split without windows
    broken = _copy(small, tmp_path / "broken")
    (broken / "clap" / "test_rec0.npz").write_bytes(b"not a zip")
    _fails([*jp, "--data", str(broken)], 1, "test_rec0.npz", "not a readable .npz")
    _fails(["baseline", "clap-cosine", "--data", str(broken), "--out", out], 1, "test_rec0.npz")
    lines = (small / "test.jsonl").read_text().splitlines()
    (broken / "test.jsonl").write_text("\n".join([lines[0], "{not json", *lines[2:]]) + "\n")
    _fails([*jp, "--data", str(broken)], 1, f"{broken / 'test.jsonl'}:2")
    bare = [json.loads(x) for x in (small / "val.jsonl").read_text().splitlines()]
    (broken / "val.jsonl").write_text(
        "".join(json.dumps({k: v for k, v in x.items() if k != "relevant_windows"}) + "\n" for x in bare)
    )
    _fails(["baseline", "tune", "sliding-clap", "--data", str(broken)], 2, "no relevant_windows")
    assert not Path(out).exists()


def test_features_extract_errors_before_any_model(tmp_path: Path) -> None:
    _fails(["features", "extract", "--out", str(tmp_path / "o")], 2, "give an audio folder")
    _fails(["features", "extract", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")], 2, "does not exist")
    (tmp_path / "empty").mkdir()
    _fails(["features", "extract", str(tmp_path / "empty"), "--out", str(tmp_path / "o")], 2, "no audio files")
    q = tmp_path / "q.jsonl"
    q.write_text('{"qid": 1, "query": "a dog"}\n{"qid": 2}\n')
    _fails(["features", "extract", "--queries", str(q), "--out", str(tmp_path / "o")], 1, f"{q}:2")
    q.write_text('{"qid": 1, "query": "a dog"}\n')
    _fails(
        ["features", "extract", "--queries", str(q), "--out", str(tmp_path / "o"), "--random-weights"],
        2,
        "--text-model",
    )
