"""The fast path of ``score``/``validate`` and the ground-truth cache change speed, never output.

Differential: every command line below is run twice as a whole process, with and without the
fast path, and must print the same, exit the same and write the same file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from amr_bench import gtcache
from amr_bench.cli.fast import parse_args
from amr_bench.groundtruth import load_ground_truth
from amr_bench.scoring import score

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_RUN = ROOT / "amr_bench" / "data" / "reference_runs" / "qddetr_castella_val_preds.jsonl"
GT = [
    {"qid": 1, "query": "a dog barks", "duration": 30, "vid": "v1", "relevant_windows": [[1, 5]]},
    {"qid": "x2", "query": "rain", "duration": 30, "vid": "v2", "relevant_windows": [[0, 10], [20, 25]]},
]
TIE_GT = [{"qid": "t", "query": "x", "duration": 30, "vid": "v", "relevant_windows": [[0, 4], [4, 8]]}]
TIES = ['{"qid": "t", "pred_relevant_windows": [[0, 8], [0, 4]]}']  # AP depends on the tie order
VALID = ['{"qid": 1, "pred_relevant_windows": [[1, 5, 0.9]]}', '{"qid": "x2", "pred_relevant_windows": [[0, 9, 0.5]]}']


def amr_bench(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "amr_bench", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fast")
    (folder / "gt.jsonl").write_text("".join(json.dumps(d) + "\n" for d in GT))
    (folder / "valid.jsonl").write_text("\n".join(VALID) + "\n")
    (folder / "invalid.jsonl").write_text(VALID[0] + '\n{"qid": "x2", "pred_relevant_windows": [[9, 1]]}\n')
    (folder / "reference.jsonl").write_bytes(REFERENCE_RUN.read_bytes())
    (folder / "tie_gt.jsonl").write_text("".join(json.dumps(d) + "\n" for d in TIE_GT))
    (folder / "ties.jsonl").write_text("\n".join(TIES) + "\n")
    return folder


CASES = [
    ["score", "reference.jsonl", "--gt", "castella/val", "-q", "-o", "OUT"],
    ["score", "valid.jsonl", "--gt", "gt.jsonl", "--quiet", "--output", "OUT"],
    ["score", "valid.jsonl", "--gt=gt.jsonl", "-o", "-"],
    ["score", "reference.jsonl", "--gt", "castella/val", "-o", "-"],
    ["score", "invalid.jsonl", "--gt", "gt.jsonl", "-q", "-o", "OUT"],
    ["score", "valid.jsonl", "--gt", "castella/val", "-q"],
    ["score", "valid.jsonl", "--gt", "dcase2026/eval", "-q"],
    ["score", "missing.jsonl", "--gt", "gt.jsonl", "-q"],
    ["score", "ties.jsonl", "--gt", "tie_gt.jsonl", "-q", "-o", "OUT"],
    ["score", "ties.jsonl", "--gt", "tie_gt.jsonl", "--tie-order", "earlier", "-q", "-o", "-"],
    ["score", "ties.jsonl", "--gt", "tie_gt.jsonl", "--tie-order=earlier", "-q"],
    ["score", "ties.jsonl", "--gt", "tie_gt.jsonl", "--tie-order", "sideways", "-q"],
    ["score", "valid.jsonl", "--gt", "gt.jsonl", "--tie-order", "later", "-q", "-o", "OUT"],
    ["validate", "valid.jsonl", "--gt", "gt.jsonl"],
    ["validate", "valid.jsonl", "--gt", "gt.jsonl", "-q"],
    ["validate", "reference.jsonl", "--gt", "castella/val"],
    ["validate", "reference.jsonl", "--gt", "castella/val", "-q"],
    ["validate", "invalid.jsonl", "--gt", "gt.jsonl"],
    ["validate", "valid.jsonl", "--gt", "no/such-split"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) for c in CASES])
def test_the_fast_path_prints_and_writes_what_the_full_command_does(files, tmp_path, args):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": os.pathsep.join(sys.path)}
    outputs = {}
    for mode in ("fast", "full"):
        out = tmp_path / f"{mode}.json"
        mode_env = env if mode == "fast" else {**env, "AMR_BENCH_NO_FAST_PATH": "1"}
        rc, stdout, stderr = amr_bench([str(out) if a == "OUT" else a for a in args], files, mode_env)
        outputs[mode] = (rc, stdout, stderr, out.read_text() if out.exists() else None)
    assert outputs["fast"] == outputs["full"]
    assert "Traceback" not in outputs["fast"][2]


def test_the_plain_score_runs_without_typer_rich_or_jsonschema(files, tmp_path):
    code = (
        "import sys\n"
        "from amr_bench.cli.fast import run_fast\n"
        f"rc = run_fast(['score', 'valid.jsonl', '--gt', 'gt.jsonl', '-q', '-o', {str(tmp_path / 'm.json')!r}])\n"
        "print(rc, sorted(m for m in ('typer', 'click', 'rich', 'jsonschema', 'pandas') if m in sys.modules))\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=files, env=env, capture_output=True, text=True, check=True)
    assert proc.stdout.split("\n")[0] == "0 []"


@pytest.mark.parametrize(
    "argv",
    [
        ["score", "r.jsonl", "--gt", "g", "--help"],
        ["score", "r.jsonl", "--gt", "g", "--per-query", "p.csv", "-q"],
        ["score", "r.jsonl", "--gt"],
        ["score", "r.jsonl", "-q"],
        ["score", "r.jsonl", "s.jsonl", "--gt", "g"],
        ["score", "r.jsonl", "--gt", "g", "--gt", "h"],
        ["score", "r.jsonl", "--gt", "-x"],
        ["validate", "r.jsonl", "--gt", "g", "-o", "m.json"],
        ["validate", "r.jsonl", "--gt", "g", "--all"],
        ["check", "m.json", "--expect", "e.json"],
        ["score", "r.jsonl", "--gt", "g", "-qo", "m.json"],
        ["score", "r.jsonl", "--gt", "g", "-q", "--tie-order", "sideways"],
        ["score", "r.jsonl", "--gt", "g", "-q", "--tie-order", "later", "--tie-order", "earlier"],
        ["validate", "r.jsonl", "--gt", "g", "--tie-order", "later"],
        [],
    ],
)
def test_anything_but_the_plain_form_goes_to_the_full_application(argv):
    assert parse_args(argv) is None


def test_the_plain_forms_are_recognised():
    a = parse_args(["score", "r.jsonl", "--gt=castella/val", "-q", "--output", "m.json"])
    assert a is not None and (a.submission, a.gt, a.quiet, a.output) == ("r.jsonl", "castella/val", True, "m.json")
    b = parse_args(["validate", "--gt", "g.jsonl", "r.jsonl"])
    assert b is not None and (b.submission, b.gt, b.quiet, b.output) == ("r.jsonl", "g.jsonl", False, None)
    c = parse_args(["score", "r.jsonl", "--gt", "g", "--tie-order=earlier", "-q"])
    assert c is not None and c.tie_order == "earlier" and a.tie_order == "later"


def test_the_fast_path_knows_every_tie_order_of_the_scorer():
    from amr_bench.metrics import TIE_ORDERS

    for order in TIE_ORDERS:
        parsed = parse_args(["score", "r.jsonl", "--gt", "g", "-q", "--tie-order", order])
        assert parsed is not None and parsed.tie_order == order


def _same_ground_truth(a, b) -> None:
    for key in ("qids", "lines", "queries", "vids", "has_windows", "sha256", "index", "problems", "path", "split"):
        assert getattr(a, key) == getattr(b, key), key
    assert [type(q) for q in a.qids] == [type(q) for q in b.qids]
    np.testing.assert_array_equal(a.durations, b.durations)
    for key in ("start", "end", "score", "offsets", "has_score"):
        np.testing.assert_array_equal(getattr(a.windows, key), getattr(b.windows, key))


def test_a_cached_ground_truth_equals_the_parsed_one(tmp_path, monkeypatch):
    monkeypatch.setenv("AMR_BENCH_CACHE", "off")
    parsed = load_ground_truth("castella/val")
    monkeypatch.setenv("AMR_BENCH_CACHE", str(tmp_path))
    first = load_ground_truth("castella/val")
    assert len(list(tmp_path.glob("gt-*.cache"))) == 1
    cached = load_ground_truth("castella/val")
    _same_ground_truth(parsed, first)
    _same_ground_truth(parsed, cached)
    assert score(REFERENCE_RUN, cached).to_dict() == score(REFERENCE_RUN, parsed).to_dict()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip", "other-sha"])
def test_a_damaged_cache_entry_is_ignored_and_rewritten(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("AMR_BENCH_CACHE", str(tmp_path))
    parsed = load_ground_truth("castella/val")
    (entry,) = tmp_path.glob("gt-*.cache")
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        entry.write_bytes(b"not a cache file")
    elif damage == "flip":
        middle = len(data) // 3
        entry.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    else:  # a valid entry of another file under this name
        other = tmp_path / "other"
        monkeypatch.setenv("AMR_BENCH_CACHE", str(other))
        load_ground_truth("tut2017/test")
        entry.write_bytes(next(other.glob("gt-*.cache")).read_bytes())
        monkeypatch.setenv("AMR_BENCH_CACHE", str(tmp_path))
    _same_ground_truth(parsed, load_ground_truth("castella/val"))
    assert gtcache.load(parsed.sha256, parsed.path) is not None  # rewritten


def test_an_unwritable_cache_only_costs_the_parse(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("AMR_BENCH_CACHE", str(blocker / "cache"))  # a folder under a regular file
    _same_ground_truth(load_ground_truth("castella/val"), load_ground_truth("castella/val"))
    assert blocker.read_text() == ""
