"""The prior-only control: windows fitted on a ground truth, ignoring audio and query."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.groundtruth import load_ground_truth
from amr_bench.scoring import score_records
from amr_bench.validation import validate_records
from amr_bench_baselines.zeroshot.prior import fit_prior, prior_records


def _gt(path: Path, windows: list[list[list[float]]], durations: list[float]) -> Path:
    lines = [
        {"qid": q, "query": f"q{q}", "duration": d, "vid": f"v{q}", "relevant_windows": w}
        for q, (w, d) in enumerate(zip(windows, durations, strict=True))
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """30 of 40 queries have a moment at [10, 14]; 10 have one at [20, 30]; durations 40 s."""
    windows = [[[10.0, 14.0]]] * 30 + [[[20.0, 30.0]]] * 10
    return _gt(tmp_path / "fit.jsonl", windows, [40.0] * 40)


def test_best_windows_finds_the_common_moment_then_the_next(planted: Path) -> None:
    gt = load_ground_truth(planted)
    fit = fit_prior(gt, "best-windows", k=3)
    assert fit.windows[:2] == [[10.0, 14.0], [20.0, 30.0]]
    assert fit.fit_r1 == pytest.approx(0.75) and fit.fit_recall == pytest.approx(1.0)
    records = prior_records(fit, gt, k=3)
    brief = score_records(records, gt).brief
    assert brief["MR-full-R1@0.7"] == pytest.approx(75.0)
    assert all(r["pred_relevant_windows"][0][:2] == [10.0, 14.0] for r in records)


def test_windows_are_clipped_to_each_recording(planted: Path, tmp_path: Path) -> None:
    fit = fit_prior(load_ground_truth(planted), "best-windows", k=2)
    short = load_ground_truth(_gt(tmp_path / "short.jsonl", [[[1.0, 2.0]]], [12.0]))
    (record,) = prior_records(fit, short)
    assert record["pred_relevant_windows"] == [[10.0, 12.0, 1.0]]  # [20, 30] lies past 12 s: dropped
    assert validate_records([record], short).ok


def test_sample_draws_from_the_fitted_moments_by_seed(planted: Path) -> None:
    gt = load_ground_truth(planted)
    fit = fit_prior(gt, "sample")
    a, b, c = (prior_records(fit, gt, k=5, seed=s) for s in (0, 0, 1))
    assert a == b and a != c
    allowed = {(10.0, 14.0), (20.0, 30.0)}
    for r in a:
        assert len(r["pred_relevant_windows"]) == 5
        assert {(s, e) for s, e, _ in r["pred_relevant_windows"]} <= allowed


def test_cli_writes_a_valid_scored_submission(planted: Path, tmp_path: Path) -> None:
    out = tmp_path / "prior.jsonl"
    r = CliRunner().invoke(app, ["baseline", "prior", "--fit", str(planted), "--gt", str(planted), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "R1@0.7 75.00" in r.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert validate_records(records, load_ground_truth(planted)).ok


def test_cli_usage_errors(planted: Path, tmp_path: Path) -> None:
    queries_only = tmp_path / "eval.jsonl"
    queries_only.write_text(json.dumps({"qid": 1, "query": "x", "duration": 10.0, "vid": "v"}) + "\n")
    base = ["baseline", "prior", "--gt", str(planted), "--out", str(tmp_path / "o.jsonl")]
    for args, needle in (
        (["--fit", str(planted), "--method", "oracle"], "unknown --method"),
        (["--fit", str(queries_only)], "no relevant windows"),
    ):
        r = CliRunner().invoke(app, base + args)
        assert r.exit_code == 2, r.output
        assert needle in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o.jsonl").exists()


def test_prior_on_the_bundled_castella_split_is_weak_but_not_zero() -> None:
    fit = fit_prior(load_ground_truth("castella/val"), "best-windows")
    gt = load_ground_truth("castella/val")
    brief = score_records(prior_records(fit, gt), gt).brief
    assert 0 < brief["MR-full-R1@0.5"] < 50
    assert np.isfinite(brief["MR-full-mAP"])


@pytest.mark.parametrize("longest", [40.0, 300.0, 301.0, 1499.5])
def test_candidate_grid_covers_the_longest_recording_in_whole_seconds(longest: float) -> None:
    from amr_bench_baselines.zeroshot.prior import candidate_grid

    s, e = candidate_grid(longest)
    assert len(s) <= 45_150 and (s < e).all() and s.min() == 0 and e.max() == np.ceil(longest)
    assert (s == np.round(s)).all() and (e == np.round(e)).all()
    assert len({(a, b) for a, b in zip(s.tolist(), e.tolist(), strict=True)}) == len(s)
