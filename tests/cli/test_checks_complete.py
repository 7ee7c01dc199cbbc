"""Checks that must be complete: an expectation is never dropped silently, the sign-flip test's
memory does not grow with the number of queries."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from amr_bench import stats
from amr_bench.cli import app
from tests.helpers.cli import GT_LINES, RUN_LINES, write_jsonl


def _invoke(args: list[object]) -> tuple[int, str]:
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in res.output
    return res.exit_code, res.output


@pytest.fixture
def metrics(tmp_path: Path) -> Path:
    gt, run = write_jsonl(tmp_path / "gt.jsonl", GT_LINES), write_jsonl(tmp_path / "run.jsonl", RUN_LINES)
    out = tmp_path / "m.json"
    assert _invoke(["score", run, "--gt", gt, "-q", "-o", out])[0] == 0
    return out


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ('{"brief": {\n  "MR-full-R1@0.7": 0,\n  "MR-full-R1@0.7": {value}\n}}', 3, "brief.MR-full-R1@0.7"),
        ('{"brief": {"MR-full-R1@0.7": {value}},\n "brief.MR-full-R1@0.7": 0}', 2, "brief.MR-full-R1@0.7"),
        ('{"brief.MR-full-R1@0.7": {value},\n\n "brief": {"MR-full-R1@0.7": 0}}', 3, "brief.MR-full-R1@0.7"),
    ],
    ids=["written-twice", "flattened-after", "flattened-before"],
)
def test_an_expectation_written_twice_is_refused_at_its_line(
    metrics: Path, tmp_path: Path, text: str, line: int, key: str
) -> None:
    value = json.loads(metrics.read_text())["brief"]["MR-full-R1@0.7"]
    expect = tmp_path / "expect.json"
    expect.write_text(text.replace("{value}", repr(value)))
    code, out = _invoke(["check", metrics, "--expect", expect])
    assert code == 1, out
    assert f"{expect}:{line}: error: {key!r} is written a second time" in out


def test_a_key_written_twice_inside_a_list_is_refused_too(metrics: Path, tmp_path: Path) -> None:
    expect = tmp_path / "expect.json"
    expect.write_text('{"brief": {"MR-full-R1@0.7": 1}, "notes": [{"a": 1,\n "a": 2}]}')
    code, out = _invoke(["check", metrics, "--expect", expect])
    assert code == 1 and f"{expect}:2: error: 'a' is written a second time" in out


def test_the_same_leaf_under_two_different_parents_is_fine(metrics: Path, tmp_path: Path) -> None:
    doc = json.loads(metrics.read_text())
    expect = tmp_path / "expect.json"
    expect.write_text(json.dumps({"brief": doc["brief"], "full": doc["full"], "s": 'a"{["'}))
    assert _invoke(["check", metrics, "--expect", expect])[0] == 0


def test_signflip_memory_does_not_grow_with_the_number_of_queries() -> None:
    rng = np.random.default_rng(0)
    peaks = []
    for q in (2_000, 20_000):
        x = rng.random((2, q))
        tracemalloc.start()
        stats.signflip_pvalues(x, [(0, 1)], n_permutations=2_000, seed=1)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # the stated cap: blocks of 2 Mi cells at ~17 bytes (36 MiB) plus the row-sized inputs; drawing
    # 2,000 permutations at once would take 2,000 x 20,000 x 17 bytes (680 MB)
    assert peaks[1] < 40 << 20, peaks
