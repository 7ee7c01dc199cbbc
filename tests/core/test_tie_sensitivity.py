"""Tie sensitivity (metrics.PerQuery.tie_sensitive) against a brute force over every order of
equal-IoU ground-truth windows, on small generated queries where ties are common."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from amr_bench.metrics import TIE_ORDERS, per_query_scores
from amr_bench.ragged import RaggedWindows
from amr_bench.scoring import score_records
from tests.helpers import reference_scorer as ref

# An integer grid with windows of a few lengths: equal IoUs (0.5, 1/3, ...) are everywhere.
starts = st.integers(0, 12)
lengths = st.sampled_from([1, 2, 2, 4, 4, 6])


@st.composite
def tie_query(draw):
    gws = [[a, a + n] for a, n in draw(st.lists(st.tuples(starts, lengths), min_size=1, max_size=5))]
    pws = [[a, a + n] for a, n in draw(st.lists(st.tuples(starts, st.integers(0, 8)), min_size=1, max_size=6))]
    return gws, pws


def _ragged(windows: list[list[list[float]]]) -> RaggedWindows:
    flat = [w for ws in windows for w in ws]
    offsets = np.zeros(len(windows) + 1, dtype=np.int64)
    np.cumsum([len(ws) for ws in windows], out=offsets[1:])
    start = np.array([w[0] for w in flat], dtype=np.float64)
    end = np.array([w[1] for w in flat], dtype=np.float64)
    return RaggedWindows(start, end, np.full(len(flat), np.nan), offsets, np.zeros(len(flat), dtype=bool))


def _fast(gws, pws, tie_order="later"):
    pq = per_query_scores(_ragged([pws]), _ragged([gws]), tie_order=tie_order)
    assert pq.tie_sensitive is not None
    return pq.ap[0], bool(pq.tie_sensitive[0])


@settings(max_examples=400, deadline=None)
@given(tie_query())
def test_the_flag_is_sound_and_never_raised_without_a_tie(q):
    gws, pws = q
    assume(ref.n_tie_orders(gws, pws) <= 4096)
    reachable = ref.ap_under_every_order(gws, pws)
    ap, flagged = _fast(gws, pws)
    assert tuple(ap) in reachable
    if len(reachable) > 1:
        assert flagged, f"AP can be any of {sorted(reachable)} but the query is not flagged"
    if ref.n_tie_orders(gws, pws) == 1:
        assert not flagged


@settings(max_examples=300, deadline=None)
@given(tie_query(), st.sampled_from(TIE_ORDERS))
def test_each_tie_order_is_the_reference_bit_for_bit_and_flags_the_same_queries(q, order):
    gws, pws = q
    ap, flagged = _fast(gws, pws, order)
    np.testing.assert_array_equal(ap, ref.average_precision(gws, pws, tie_order=order))
    other = "earlier" if order == "later" else "later"
    assert flagged == _fast(gws, pws, other)[1]
    if not flagged:
        np.testing.assert_array_equal(ap, _fast(gws, pws, other)[0])


def test_the_flag_is_tight_on_most_queries():
    """Seeded random queries on the same grid: among the flagged ones, most really change AP
    under some order (the rest have ties the later predictions tell apart without effect)."""
    rng = np.random.default_rng(0)
    flagged = changes = 0
    for _ in range(2000):
        gws = [[int(a), int(a) + int(rng.choice([1, 2, 2, 4, 4, 6]))] for a in rng.integers(0, 13, rng.integers(1, 6))]
        pws = [[int(a), int(a) + int(n)] for a, n in zip(rng.integers(0, 13, 6), rng.integers(0, 9, 6), strict=True)]
        pws = pws[: rng.integers(1, 7)]
        _, flag = _fast(gws, pws)
        if flag:
            flagged += 1
            changes += len(ref.ap_under_every_order(gws, pws)) > 1
    assert flagged >= 10
    assert changes >= 0.75 * flagged  # 85 % with seed 0


def test_the_classic_tie_is_flagged_and_scored_both_ways():
    """Two adjacent windows of equal length, a first prediction covering both (IoU 0.5 with each)
    and a second matching the earlier one: at θ = 0.5 the AP is 1 when the first takes the later
    window, 0.5 when it takes the earlier one."""
    gt = [{"qid": "q", "query": "x", "duration": 30, "vid": "v", "relevant_windows": [[0, 4], [4, 8]]}]
    sub = [{"qid": "q", "pred_relevant_windows": [[0, 8], [0, 4]]}]
    later, earlier = score_records(sub, gt), score_records(sub, gt, tie_order="earlier")
    assert later.raw["mAP"]["0.5"] == pytest.approx(1.0)
    assert earlier.raw["mAP"]["0.5"] == pytest.approx(0.5)
    assert later.counts["tie_sensitive_queries"] == earlier.counts["tie_sensitive_queries"] == 1
    assert later.ties["other_order_mAP_raw"] == earlier.raw["mAP"]
    assert later.ties["qids"] == ["q"]
    warning = later.tie_warning()
    assert warning is not None and '"q"' in warning and "1 of 1 queries" in warning
    assert later.per_query["tie_sensitive"].tolist() == [1]


def test_a_tie_between_windows_no_later_prediction_tells_apart_is_not_flagged():
    """The same tie with nothing after it: whichever window is taken, the AP is the same."""
    gt = [{"qid": "q", "query": "x", "duration": 30, "vid": "v", "relevant_windows": [[0, 4], [4, 8]]}]
    sub = [{"qid": "q", "pred_relevant_windows": [[0, 8], [20, 24]]}]
    result = score_records(sub, gt)
    assert result.counts["tie_sensitive_queries"] == 0
    assert result.tie_warning() is None


def test_the_length_breakdown_matches_in_the_same_tie_order():
    """The short bucket re-scores the query without its 50 s window: in the tie order asked for."""
    windows = [[0, 4], [4, 8], [50, 100]]
    gt = [{"qid": "q", "query": "x", "duration": 120, "vid": "v", "relevant_windows": windows}]
    short = [{**gt[0], "relevant_windows": windows[:2]}]
    sub = [{"qid": "q", "pred_relevant_windows": [[0, 8], [0, 4]]}]
    for order in TIE_ORDERS:
        bucket = score_records(sub, gt, tie_order=order).breakdown["moment_length"]["short"]
        assert bucket["mAP"] == score_records(sub, short, tie_order=order).raw["mAP"]
    assert score_records(sub, short).raw["mAP"] != score_records(sub, short, tie_order="earlier").raw["mAP"]


def test_score_command_warns_once_and_writes_the_tie_columns(tmp_path):
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from amr_bench.cli import app

    gt = [
        {"qid": "t", "query": "x", "duration": 30, "vid": "v", "relevant_windows": [[0, 4], [4, 8]]},
        {"qid": 7, "query": "y", "duration": 30, "vid": "w", "relevant_windows": [[10, 14]]},
    ]
    sub = [{"qid": "t", "pred_relevant_windows": [[0, 8], [0, 4]]}, {"qid": 7, "pred_relevant_windows": [[10, 14]]}]
    (tmp_path / "gt.jsonl").write_text("".join(json.dumps(d) + "\n" for d in gt))
    (tmp_path / "run.jsonl").write_text("".join(json.dumps(d) + "\n" for d in sub))
    out, pq = tmp_path / "m.json", tmp_path / "pq.csv"
    args = ["score", str(tmp_path / "run.jsonl"), "--gt", str(tmp_path / "gt.jsonl"), "-o", str(out)]
    r = CliRunner().invoke(app, [*args, "--per-query", str(pq)])
    assert r.exit_code == 0, r.output
    assert r.stderr.count("equal-IoU") == 1 and '"t"' in r.stderr and "1 of 2 queries" in r.stderr
    doc = json.loads(out.read_text())
    assert doc["counts"]["tie_sensitive_queries"] == 1 and doc["ties"]["qids"] == ["t"]
    assert doc["ties"]["other_order"] == "earlier"
    assert doc["ties"]["other_order_MR-mAP"]["0.5"] == 75.0 and doc["full"]["MR-mAP"]["0.5"] == 100.0
    frame = pd.read_csv(pq)
    assert frame["tie_sensitive"].tolist() == [1, 0]
    assert frame["other_order.AP@0.5"].tolist() == [0.5, 1.0]
    r = CliRunner().invoke(app, [*args, "--tie-order", "earlier", "-q"])
    assert r.exit_code == 0 and "mAP 63.75 with the earlier window first (used), 66.25 with the later" in r.stderr
    r = CliRunner().invoke(app, [*args, "--tie-order", "first"])
    assert r.exit_code == 2 and "--tie-order must be one of later, earlier; got 'first'" in r.stderr
