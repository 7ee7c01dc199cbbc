"""The public Python API: lazy attributes, the array-level entry point, the one spelling of names."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import amr_bench
from amr_bench.arrays import evaluate
from amr_bench.bundled import REFERENCE_RUN, REFERENCE_RUN_OFFICIAL_METRICS
from amr_bench.result_blocks import METRIC_NAMES
from amr_bench.scoring import score, score_records


def test_a_fresh_interpreter_reaches_every_public_name_and_submodule() -> None:
    code = (
        "import sys, amr_bench\n"
        "assert 'numpy' not in sys.modules, 'import amr_bench imported numpy'\n"
        "assert amr_bench.scoring.score is amr_bench.score\n"
        "assert amr_bench.score_records is amr_bench.scoring.score_records\n"
        "assert callable(amr_bench.evaluate) and callable(amr_bench.validate)\n"
        "assert amr_bench.stats.holm and amr_bench.metrics.THRESHOLDS is not None\n"
        "try:\n    amr_bench.no_such_thing\nexcept AttributeError as e:\n    print(e)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "has no attribute 'no_such_thing'" in proc.stdout


def test_every_name_in_all_resolves() -> None:
    for name in amr_bench.__all__:
        assert getattr(amr_bench, name) is not None


def test_the_bundled_reference_run_is_where_the_readme_says() -> None:
    assert REFERENCE_RUN.is_file() and REFERENCE_RUN_OFFICIAL_METRICS.is_file()
    assert REFERENCE_RUN.as_posix().endswith("amr_bench/data/reference_runs/qddetr_castella_val_preds.jsonl")


def test_one_spelling_agrees_with_the_official_blocks_and_the_per_query_table() -> None:
    result = score(REFERENCE_RUN, "castella/val")
    m = result.metrics
    assert tuple(m) == METRIC_NAMES
    assert float(f"{100 * m['R1@0.7']:.2f}") == result.brief["MR-full-R1@0.7"]
    assert float(f"{100 * m['mAP']:.2f}") == result.brief["MR-full-mAP"]
    assert float(f"{100 * m['mAP@0.75']:.2f}") == result.full["MR-mAP"]["0.75"]
    table = result.per_query
    for name in ("R1@0.5", "R1@0.95", "R5@0.7", "mAP"):
        assert table[name].mean() == pytest.approx(m[name], abs=1e-12)
    assert table["AP@0.5"].mean() == pytest.approx(m["mAP@0.5"], abs=1e-12)
    assert table["IoU@1"].mean() == pytest.approx(m["mIoU@1"], abs=1e-12)


seconds = st.integers(0, 120).map(float)


@st.composite
def cases(draw):
    n = draw(st.integers(1, 6))
    reference, estimated = [], []
    for _ in range(n):
        ref = []
        for _ in range(draw(st.integers(1, 3))):
            s = draw(seconds)
            ref.append([s, s + draw(st.integers(0, 40))])
        k = draw(st.integers(1, 12))
        scored = draw(st.booleans())
        est = []
        for _ in range(k):
            s = draw(seconds)
            window = [s, s + draw(st.integers(0, 40))]
            est.append([*window, draw(st.integers(0, 9)) / 10] if scored else window)
        reference.append(ref)
        estimated.append(est)
    return reference, estimated


@settings(max_examples=50)
@given(cases())
def test_evaluate_equals_the_file_path_bit_for_bit(case) -> None:
    reference, estimated = case
    gt = [
        {"qid": i, "query": f"q{i}", "vid": f"v{i}", "duration": 200, "relevant_windows": ref}
        for i, ref in enumerate(reference)
    ]
    if not any(0 < e - s <= 1500 for ref in reference for s, e in ref):
        with pytest.raises(ValueError, match="nothing to score"):
            evaluate(reference, estimated)
        return
    expected = score_records([{"qid": i, "pred_relevant_windows": est} for i, est in enumerate(estimated)], gt)
    assert evaluate(reference, estimated) == expected.metrics
    as_arrays = evaluate([np.array(r) for r in reference], [np.array(e) for e in estimated])
    assert as_arrays == expected.metrics


@pytest.mark.parametrize(
    ("reference", "estimated", "needle"),
    [
        ([[[0, 5]]], [[[0, 5]], [[1, 2]]], "reference has 1 queries, estimated has 2"),
        ([[[0, 5]]], [[[0, 5, 1, 2]]], r"estimated\[0\]: windows must be rows"),
        ([[[0, 5]]], [[]], r"estimated\[0\]: no window"),
        ([[[0, 5]]], [[[float("nan"), 5]]], r"estimated\[0\]: windows must be finite"),
        ([[[0, 5]], [[1, 2]]], [[[0, 5]], [[4, 2]]], r"estimated\[1\]: every window needs 0 <= start <= end"),
        ([[[0, 5]]], [[[-1, 5]]], r"estimated\[0\]: every window needs 0 <= start <= end"),
        ([[["a", 5]]], [[[0, 5]]], r"reference\[0\]: windows must be rows of numbers"),
        ([[[3, 3]]], [[[0, 5]]], "nothing to score"),
        ("abc", [[[0, 5]]], "reference: expected a sequence"),
    ],
)
def test_evaluate_names_the_query_of_a_bad_window(reference, estimated, needle) -> None:
    with pytest.raises(ValueError, match=needle):
        evaluate(reference, estimated)


def test_a_reference_query_without_windows_is_not_scored() -> None:
    assert evaluate([[], [[10, 20]]], [[[0, 1]], [[10, 20]]])["R1@0.95"] == 1.0
