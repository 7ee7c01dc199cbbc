"""`amr-bench score` outputs and the `amr-bench check` regression gate."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import amr_bench
from amr_bench.cli import app
from amr_bench.metrics import THRESHOLD_KEYS
from amr_bench.scoring import score_records

runner = CliRunner()
RUNS = resources.files("amr_bench") / "data" / "reference_runs"
PREDS = str(RUNS / "qddetr_castella_val_preds.jsonl")
OFFICIAL = str(RUNS / "qddetr_castella_val_metrics_official.json")


def test_score_writes_metrics_and_per_query(tmp_path):
    out, pq = tmp_path / "m.json", tmp_path / "pq.csv"
    r = runner.invoke(app, ["score", PREDS, "--gt", "castella/val", "-o", str(out), "--per-query", str(pq)])
    assert r.exit_code == 0, r.output
    assert "16.19" in r.output and "moment_length: short" in r.output
    doc = json.loads(out.read_text())
    assert doc["brief"]["MR-full-R1@0.7"] == 16.19
    frame = pd.read_csv(pq)
    assert len(frame) == 352
    assert frame["R1@0.7"].sum() == 57
    assert abs(frame["mAP"].mean() - doc["raw"]["mAP"]["average"]) < 1e-9


def test_length_breakdown_equals_scoring_the_filtered_ground_truth():
    from amr_bench.datasets.registry import find_split
    from amr_bench.jsonl import read_jsonl

    preds = read_jsonl(PREDS).records
    gt = read_jsonl(find_split("castella/val").path).records
    result = score_records(preds, gt)
    for name, (lo, hi) in {"short": (0, 10), "middle": (10, 30), "long": (30, 1500)}.items():
        sub_gt = []
        for d in gt:
            kept = [w for w in d["relevant_windows"] if lo < w[1] - w[0] <= hi]
            if kept:
                sub_gt.append({**d, "relevant_windows": kept})
        keep = {d["qid"] for d in sub_gt}
        direct = score_records([p for p in preds if p["qid"] in keep], sub_gt)
        got = result.breakdown["moment_length"][name]
        assert got["queries"] == len(sub_gt)
        for k in THRESHOLD_KEYS:
            assert got["R1"][k] == direct.raw["R1"][k]
            assert abs(got["mAP"][k] - direct.raw["mAP"][k]) < 1e-12


def test_custom_length_edges(tmp_path):
    r = amr_bench.score(PREDS, "castella/val", length_edges=[5, 10, 30])
    assert list(r.breakdown["moment_length"]) == ["0-5s", "5-10s", "10-30s", "30-infs"]


def _metrics(tmp_path):
    out = tmp_path / "m.json"
    assert runner.invoke(app, ["score", PREDS, "--gt", "castella/val", "-q", "-o", str(out)]).exit_code == 0
    return out


def test_check_passes_against_the_official_numbers(tmp_path):
    r = runner.invoke(app, ["check", str(_metrics(tmp_path)), "--expect", OFFICIAL])
    assert r.exit_code == 0, r.output
    assert "26 value(s) within 0.01" in r.output


def test_check_names_every_metric_that_moved(tmp_path):
    expected = json.loads((RUNS / "qddetr_castella_val_metrics_official.json").read_text(encoding="utf-8"))
    expected["brief"]["MR-full-R1@0.7"] = 17.0
    expected["full"]["MR-mAP"]["0.5"] = 23.0
    exp = tmp_path / "e.json"
    exp.write_text(json.dumps(expected))
    r = runner.invoke(app, ["check", str(_metrics(tmp_path)), "--expect", str(exp)])
    assert r.exit_code == 1
    assert "MOVED   brief.MR-full-R1@0.7: expected 17, got 16.19" in r.output
    assert "MOVED   full.MR-mAP.0.5: expected 23, got 24.02" in r.output
    assert "2 of 26 value(s) moved" in r.output
    # improvements pass when allowed; the drop in R1@0.7 still fails
    r = runner.invoke(app, ["check", str(_metrics(tmp_path)), "--expect", str(exp), "--allow-improvement"])
    assert r.exit_code == 1 and "MR-full-R1@0.7" in r.output and "MR-mAP.0.5" not in r.output


def test_check_tolerance_and_selected_keys(tmp_path):
    expected = {"brief": {"MR-full-R1@0.7": 16.25, "MR-full-mAP": 99.0}}
    exp = tmp_path / "e.json"
    exp.write_text(json.dumps(expected))
    m = str(_metrics(tmp_path))
    assert (
        runner.invoke(
            app, ["check", m, "--expect", str(exp), "--key", "brief.MR-full-R1@0.7", "--tolerance", "0.1"]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            app, ["check", m, "--expect", str(exp), "--key", "brief.MR-full-R1@0.7", "--tolerance", "0.01"]
        ).exit_code
        == 1
    )


def test_check_missing_key_and_bad_files(tmp_path):
    m = str(_metrics(tmp_path))
    exp = tmp_path / "e.json"
    exp.write_text(json.dumps({"brief": {"MR-full-R1@0.9": 1.0}}))
    r = runner.invoke(app, ["check", m, "--expect", str(exp)])
    assert r.exit_code == 1 and "MISSING brief.MR-full-R1@0.9" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "brief": {,}\n}')
    r = runner.invoke(app, ["check", m, "--expect", str(bad)])
    assert r.exit_code == 1 and f"{bad}:2: error: invalid JSON" in r.output
    r = runner.invoke(app, ["check", str(tmp_path / "nope.json"), "--expect", str(exp)])
    assert r.exit_code == 1 and "file not found" in r.output
    r = runner.invoke(app, ["check", m, "--expect", str(exp), "--key", "no.such"])
    assert r.exit_code == 1 and f"{exp}: error: no numeric value 'no.such'" in r.output


def test_score_can_write_the_json_to_stdout():
    r = runner.invoke(app, ["score", PREDS, "--gt", "castella/val", "-o", "-"])
    assert r.exit_code == 0
    start = r.stdout.index("{")
    doc = json.loads(r.stdout[start:])
    assert doc["brief"]["MR-full-R1@0.7"] == 16.19 and "Breakdown" not in r.stdout


def test_result_warnings_are_summarised_per_kind():
    gt = [{"qid": i, "query": "q", "duration": 20, "vid": "v", "relevant_windows": [[0, 5]]} for i in range(30)]
    sub = [{"qid": i, "pred_relevant_windows": [[0, 5]] * 11} for i in range(30)]
    result = score_records(sub, gt)
    assert len([w for w in result.warnings if "only the first 10" in w]) == 20
    assert result.warnings[-1] == "... and 10 more warning(s) of kind 'too-many-windows'"


def test_warnings_cut_off_at_10_say_where_the_rest_are(tmp_path):
    lines = [json.loads(x) for x in Path(PREDS).read_text(encoding="utf-8").splitlines()]
    for rec in lines:
        rec["pred_relevant_windows"] = (rec["pred_relevant_windows"] * 11)[:11]
    sub = tmp_path / "many.jsonl"
    sub.write_text("".join(json.dumps(r) + "\n" for r in lines))
    r = runner.invoke(app, ["score", str(sub), "--gt", "castella/val"])
    more = [line for line in r.stderr.splitlines() if line.startswith("... and")]
    assert more and "--output" not in more[0] and "--all` lists every one" in more[0], r.stderr
    assert f"amr-bench validate {sub} --gt castella/val --all" in more[0]
    out = tmp_path / "m.json"
    r = runner.invoke(app, ["score", str(sub), "--gt", "castella/val", "-o", str(out)])
    more = [line for line in r.stderr.splitlines() if line.startswith("... and")]
    assert more and f'(in {out}, under "warnings")' in more[0], r.stderr
