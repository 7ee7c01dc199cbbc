"""Golden parity: the bundled real reference run must reproduce the official scorer's output."""

from __future__ import annotations

import json
from importlib import resources

import pytest

import amr_bench
from amr_bench.datasets.registry import find_split
from amr_bench.jsonl import read_jsonl
from tests.helpers.reference_scorer import official_scores

RUNS = resources.files("amr_bench") / "data" / "reference_runs"
PREDS = str(RUNS / "qddetr_castella_val_preds.jsonl")
OFFICIAL = json.loads((RUNS / "qddetr_castella_val_metrics_official.json").read_text())


def test_reference_run_reproduces_the_official_json_exactly():
    result = amr_bench.score(PREDS, "castella/val")
    assert result.official() == OFFICIAL
    assert json.dumps(result.official(), sort_keys=True) == json.dumps(OFFICIAL, sort_keys=True)


def test_slow_reference_agrees_with_the_official_json_and_the_fast_scorer():
    preds = read_jsonl(PREDS).records
    gt = read_jsonl(find_split("castella/val").path).records
    doc, r1, aps, ap_thds = official_scores(preds, gt)
    assert doc == OFFICIAL
    result = amr_bench.score(PREDS, "castella/val")
    pq = result.per_query.set_index("qid")
    for qid, iou in r1.items():
        assert pq.loc[qid, "IoU@1"] == iou  # bit for bit
        assert list(pq.loc[qid, [f"AP@{k}" for k in OFFICIAL["full"]["MR-R1"]]]) == list(aps[qid])
    assert [result.raw["mAP"][k] for k in OFFICIAL["full"]["MR-R1"]] == list(ap_thds)


def test_raw_values_are_the_unrounded_fractions():
    result = amr_bench.score(PREDS, "castella/val")
    assert result.raw["R1"]["0.7"] == pytest.approx(57 / 352)  # 16.19 %
    for k, v in result.full["MR-R1"].items():
        assert float(f"{100 * result.raw['R1'][k]:.2f}") == v
    assert float(f"{100 * result.raw['mAP']['average']:.2f}") == result.full["MR-mAP"]["average"]


def test_result_document_matches_its_schema_and_signature():
    from amr_bench.schemas import validator

    result = amr_bench.score(PREDS, "castella/val")
    doc = json.loads(json.dumps(result.to_dict()))
    validator("result").validate(doc)
    sig = result.signature
    assert sig["ground_truth"] == "castella/val"
    assert sig["ground_truth_sha256"] == find_split("castella/val").sha256
    assert len(sig["submission_sha256"]) == 64
    assert result.counts["scored_queries"] == 352


def test_breakdowns_partition_queries_by_moment_count_and_cover_lengths():
    result = amr_bench.score(PREDS, "castella/val")
    count = result.breakdown["moment_count"]
    assert count["single"]["queries"] + count["multiple"]["queries"] == 352
    pq = result.per_query
    single = pq[pq.n_gt == 1]
    assert count["single"]["R1"]["0.7"] == pytest.approx(single["R1@0.7"].mean())
    lengths = result.breakdown["moment_length"]
    assert set(lengths) == {"short", "middle", "long"}
    # every query has a window in at least one length bucket
    assert sum(b["queries"] for b in lengths.values()) >= 352


def test_the_metric_definition_text_never_changes() -> None:
    """Stored results are grouped by this text: built from the constants, it must stay exactly this."""
    from amr_bench.metrics import METRIC_DEFINITION

    assert METRIC_DEFINITION == (
        "mr-official-v1:thr=0.50:0.95:0.05,iou=union(map)/hull(r1),r1=first-window,"
        "ap=voc-all-point,topk=10,sort=stable-score-desc|list-order,gt-len=(0,1500]"
    )
