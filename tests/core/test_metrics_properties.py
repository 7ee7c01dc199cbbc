"""The fast scorer against the slow obvious reference on generated cases, and metric invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amr_bench.metrics import THRESHOLD_KEYS
from amr_bench.scoring import score_records
from tests.helpers.reference_scorer import official_scores

# A coarse grid of times makes ties, shared endpoints and IoUs exactly at a threshold common.
times = st.integers(0, 40).map(lambda x: x / 2)
scores = st.sampled_from([0.1, 0.5, 0.5, 0.9, 1.0, 0.25])


@st.composite
def window(draw, min_len=0.0):
    a = draw(times)
    length = draw(st.integers(0, 24).map(lambda x: x / 2))
    if length <= min_len:
        length = 0.5
    return [a, a + length]


@st.composite
def case(draw, max_gt=6, max_pred=14):
    n = draw(st.integers(1, 6))
    gt, sub = [], []
    for i in range(n):
        gws = draw(st.lists(window(min_len=0.0), min_size=1, max_size=max_gt))
        gt.append({"qid": i, "query": "q", "duration": 40.0, "vid": f"v{i}", "relevant_windows": gws})
        pws = draw(st.lists(window(), min_size=1, max_size=max_pred))
        if draw(st.booleans()):
            pws = [[*w, draw(scores)] for w in pws]
        sub.append({"qid": i, "pred_relevant_windows": pws})
    order = draw(st.permutations(range(n)))
    return gt, [sub[i] for i in order]


def _per_query(result):
    pq = result.per_query.set_index("qid")
    return pq


@st.composite
def many_hits(draw):
    """Queries with 7-12 gt windows and predictions near them: 8+ AP terms (pairwise summation)."""
    n = draw(st.integers(1, 4))
    gt, sub = [], []
    for i in range(n):
        k = draw(st.integers(7, 12))
        starts = sorted(draw(st.lists(st.integers(0, 400), min_size=k, max_size=k, unique=True)))
        gws = [[s / 4, s / 4 + draw(st.integers(1, 12)) / 4] for s in starts]
        gt.append({"qid": f"q{i}", "query": "q", "duration": 200.0, "vid": "v", "relevant_windows": gws})
        pws = []
        for w in draw(st.permutations(gws))[: draw(st.integers(8, 12))]:
            d = draw(st.integers(-2, 2)) / 8
            pws.append([max(0.0, w[0] + d), w[1] + abs(d) + 0.125, draw(scores)])
        sub.append({"qid": f"q{i}", "pred_relevant_windows": pws})
    return gt, sub


@settings(max_examples=300)
@given(many_hits())
def test_fast_scorer_equals_slow_reference_with_many_matches(data):
    test_fast_scorer_equals_slow_reference.hypothesis.inner_test(data)


@pytest.mark.slow  # 1000 cases: the full tier's differential run; the 300 many-match cases above stay quick
@settings(max_examples=1000)
@given(case())
def test_fast_scorer_equals_slow_reference(data):
    gt, sub = data
    result = score_records(sub, gt)
    doc, r1, aps, ap_thds = official_scores(sub, gt)
    assert result.official() == doc
    pq = _per_query(result)
    for qid, iou in r1.items():
        assert pq.loc[qid, "IoU@1"] == iou
        got = pq.loc[qid, [f"AP@{k}" for k in THRESHOLD_KEYS]].to_numpy(dtype=float)
        assert np.array_equal(got, aps[qid]), (qid, got, aps[qid])
    assert np.array_equal([result.raw["mAP"][k] for k in THRESHOLD_KEYS], ap_thds)


def _gt_with_long_windows():
    # windows of length > 1500 or <= 0 are filtered out; a query left with none is not scored
    gt = [
        {"qid": "a", "query": "q", "duration": 3000, "vid": "v", "relevant_windows": [[0, 1600], [10, 20]]},
        {"qid": "b", "query": "q", "duration": 3000, "vid": "v", "relevant_windows": [[0, 1600]]},
        {"qid": "c", "query": "q", "duration": 3000, "vid": "v", "relevant_windows": [[5, 5], [1, 3]]},
    ]
    sub = [{"qid": q, "pred_relevant_windows": [[0, 1600], [10, 20], [1, 3]]} for q in "abc"]
    return gt, sub


def test_ground_truth_length_filter_drops_queries_like_the_official_scorer():
    gt, sub = _gt_with_long_windows()
    result = score_records(sub, gt)
    doc, *_ = official_scores(sub, gt)
    assert result.official() == doc
    assert result.counts["scored_queries"] == 2
    assert result.counts["dropped_queries"] == 1
    assert list(result.per_query.qid) == ["a", "c"]


@settings(max_examples=150)
@given(case(), st.randoms(use_true_random=False))
def test_query_order_does_not_change_per_query_scores(data, rnd):
    gt, sub = data
    shuffled = list(sub)
    rnd.shuffle(shuffled)
    a, b = score_records(sub, gt), score_records(shuffled, gt)
    assert a.per_query.equals(b.per_query.assign(submission_line=a.per_query.submission_line))
    for k in THRESHOLD_KEYS:
        assert a.raw["R1"][k] == b.raw["R1"][k]
        assert abs(a.raw["mAP"][k] - b.raw["mAP"][k]) < 1e-12


@settings(max_examples=150)
@given(case(), st.integers(-8, 8), st.sampled_from([1, 2, 4]))
def test_time_shift_and_scale_invariance(data, shift, scale):
    gt, sub = data
    # shifts keep every time non-negative; integer shifts and power-of-two scales are exact
    offset = abs(shift) * 1.0

    def move(ws):
        return [[(w[0] + offset) * scale, (w[1] + offset) * scale, *w[2:]] for w in ws]

    gt2 = [
        {**d, "duration": (d["duration"] + offset) * scale, "relevant_windows": move(d["relevant_windows"])} for d in gt
    ]
    sub2 = [{**d, "pred_relevant_windows": move(d["pred_relevant_windows"])} for d in sub]
    a, b = score_records(sub, gt), score_records(sub2, gt2)
    cols = [c for c in a.per_query.columns if c.startswith(("R1@", "AP@", "R5@", "IoU@"))]
    assert a.per_query[cols].equals(b.per_query[cols])


@settings(max_examples=150)
@given(case(max_gt=10))
def test_perfect_predictions_score_100(data):
    gt, _ = data
    sub = [
        {"qid": d["qid"], "pred_relevant_windows": [[*w, 1.0 - i / 100] for i, w in enumerate(d["relevant_windows"])]}
        for d in gt
    ]
    result = score_records(sub, gt)
    assert all(v == 100.0 for v in result.full["MR-R1"].values())
    assert all(v == 100.0 for v in result.full["MR-mAP"].values())
    assert all(v == 100.0 for v in result.brief.values())


@settings(max_examples=150)
@given(case(), st.lists(window(), min_size=1, max_size=6))
def test_appending_lower_scored_windows_keeps_r1_and_never_lowers_ap(data, extra):
    gt, sub = data
    scored = [
        {
            "qid": d["qid"],
            "pred_relevant_windows": [[*w[:2], 1.0 - i / 100] for i, w in enumerate(d["pred_relevant_windows"])],
        }
        for d in sub
    ]
    longer = [
        {"qid": d["qid"], "pred_relevant_windows": d["pred_relevant_windows"] + [[*w, 0.01] for w in extra]}
        for d in scored
    ]
    a, b = score_records(scored, gt), score_records(longer, gt)
    r1 = [f"R1@{k}" for k in THRESHOLD_KEYS] + ["IoU@1"]
    assert a.per_query[r1].equals(b.per_query[r1])
    ap = [f"AP@{k}" for k in THRESHOLD_KEYS]
    assert (b.per_query[ap].to_numpy() >= a.per_query[ap].to_numpy() - 1e-15).all()


def test_equal_iou_ties_take_the_later_ground_truth_window():
    # pred [0, 10] has IoU 0.5 with both gt windows; the official argsort()[::-1] tries the later
    # one first, so the second prediction [0, 5] can still match gt window 0.
    gt = [{"qid": 1, "query": "q", "duration": 20, "vid": "v", "relevant_windows": [[0, 5], [5, 10]]}]
    sub = [{"qid": 1, "pred_relevant_windows": [[0, 10, 0.9], [0, 5, 0.8]]}]
    result = score_records(sub, gt)
    assert result.per_query["AP@0.5"].iloc[0] == 1.0
    doc, *_ = official_scores(sub, gt)
    assert result.official() == doc


def test_r1_uses_the_first_listed_window_not_the_best_score():
    gt = [{"qid": 1, "query": "q", "duration": 20, "vid": "v", "relevant_windows": [[0, 5]]}]
    sub = [{"qid": 1, "pred_relevant_windows": [[10, 15, 0.1], [0, 5, 0.9]]}]
    result = score_records(sub, gt)
    assert result.raw["R1"]["0.5"] == 0.0
    assert result.raw["mAP"]["0.5"] == 1.0  # mAP ranks by score


def test_windows_without_scores_rank_in_list_order():
    gt = [{"qid": 1, "query": "q", "duration": 20, "vid": "v", "relevant_windows": [[0, 5]]}]
    sub = [{"qid": 1, "pred_relevant_windows": [[10, 15], [0, 5]]}]
    assert score_records(sub, gt).raw["mAP"]["0.5"] == 0.5


def test_only_the_first_ten_windows_count_for_map():
    gt = [{"qid": 1, "query": "q", "duration": 20, "vid": "v", "relevant_windows": [[0, 5]]}]
    sub = [{"qid": 1, "pred_relevant_windows": [[10, 15]] * 10 + [[0, 5]]}]
    result = score_records(sub, gt)
    assert result.raw["mAP"]["average"] == 0.0
    assert any("only the first 10" in w for w in result.warnings)
