"""What tie sensitivity costs: the metrics with and without it, in one process, interleaved.

    python benchmarks/bench_ties.py [--queries 100000] [--repeat 7] [--against REV]

Three files, each scored by ``amr_bench.scoring.score_report`` (validation is done once, outside
the timing):

* ``synthetic``: ``bench_score.generate`` (ground truth in tenths of a second, predictions in
  thousandths: exact ties are very rare);
* ``castella-like``: ``bench_score.generate_castella_like`` (integer ground truth, predictions in
  4-decimal seconds: exact ties are possible but rare);
* ``tie-heavy``: integer-second windows where every query has two adjacent ground-truth windows of
  equal length and a prediction covering both (IoU exactly 0.5 with each), then predictions on
  single windows: most queries are tie-sensitive.

For each it prints the median wall time of the whole scoring step (``score``: per-query metrics,
tie detection, the other order's AP for the flagged queries, breakdowns) and of the per-query
metrics alone (``metrics``), the number of tie-sensitive queries, and, with ``--against REV``, the
same two timings of the ``amr_bench/metrics.py`` of git revision REV (one without tie detection,
e.g. the commit before it) on the same arrays, with the ratio. Times interleave, so that both
see the same machine load; a ratio within the spread of repeated runs is noise (on a loaded
machine the minimum is the steadier figure: both are printed).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_score import ROOT, generate, generate_castella_like

from amr_bench.groundtruth import load_ground_truth
from amr_bench.metrics import filter_ground_truth, per_query_scores
from amr_bench.scoring import score_report
from amr_bench.validation import validate


def generate_tie_heavy(folder: Path, n: int, seed: int = 2) -> tuple[Path, Path]:
    """Every query: two adjacent equal windows, a prediction over both, predictions on one."""
    rng = np.random.default_rng(seed)
    gt_path, sub_path = folder / "gt_ties.jsonl", folder / "sub_ties.jsonl"
    with open(gt_path, "w") as g, open(sub_path, "w") as s:
        for i in range(n):
            a, length = int(rng.integers(0, 100)), int(rng.integers(2, 10))
            gws = [[a, a + length], [a + length, a + 2 * length]]
            far = int(rng.integers(130, 180))
            gws += [[far, far + int(rng.integers(1, 15))] for _ in range(int(rng.integers(0, 3)))]
            g.write(
                json.dumps({"qid": i, "query": "q", "duration": 200, "vid": f"v{i}", "relevant_windows": gws}) + "\n"
            )
            pws = [[a, a + 2 * length], gws[int(rng.integers(0, 2))]]
            pws += [[int(x), int(x) + int(rng.integers(1, 20))] for x in rng.integers(0, 180, int(rng.integers(3, 9)))]
            s.write(json.dumps({"qid": i, "pred_relevant_windows": pws}) + "\n")
    return gt_path, sub_path


def metrics_at(rev: str) -> ModuleType:
    """``amr_bench/metrics.py`` as it was at git revision ``rev``, loaded as its own module."""
    source = subprocess.run(
        ["git", "show", f"{rev}:amr_bench/metrics.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "metrics_at_rev.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("metrics_at_rev", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(name: str, gt_path: Path, sub_path: Path, repeat: int, old: ModuleType | None, rev: str | None) -> None:
    report = validate(sub_path, load_ground_truth(gt_path))
    kept, has = filter_ground_truth(report.ground_truth.windows)
    scored = np.flatnonzero(has[report.submission.gt_rows])
    pred, gt = report.submission.windows.take(scored), kept.take(report.submission.gt_rows[scored])
    jobs: dict[str, Callable[[], object]] = {
        "score": lambda: score_report(report),
        "metrics": lambda: per_query_scores(pred, gt),
    }
    if old is not None:
        jobs[f"metrics@{rev}"] = lambda: old.per_query_scores(pred, gt)
    times: dict[str, list[float]] = {k: [] for k in jobs}
    for fn in jobs.values():
        fn()  # warm-up
    for _ in range(repeat):  # interleaved, so that all see the same machine load
        for key, fn in jobs.items():
            t0 = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t0)
    result = score_report(report)
    print(
        f"\n{name}: {len(scored)} queries, {result.counts['tie_sensitive_queries']} tie-sensitive; "
        f"mAP {result.full['MR-mAP']['average']:.2f} (later first), "
        f"{result.ties['other_order_MR-mAP']['average']:.2f} (earlier first)"
    )
    for key, values in times.items():
        spread = f"{1000 * min(values):.1f}-{1000 * max(values):.1f}"
        print(f"  {key:<22} median {1000 * statistics.median(values):8.1f} ms  (range {spread} ms)")
    if old is not None:
        ratio = statistics.median(times["metrics"]) / statistics.median(times[f"metrics@{rev}"])
        best = min(times["metrics"]) / min(times[f"metrics@{rev}"])
        print(f"  metrics / metrics@{rev}: {ratio:.3f}x (medians), {best:.3f}x (minima)")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--queries", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--against", metavar="REV", help="git revision whose metrics.py to time alongside")
    args = ap.parse_args()
    old = metrics_at(args.against) if args.against else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {
            "synthetic": generate(folder, args.queries),
            "castella-like": generate_castella_like(folder, args.queries),
            "tie-heavy": generate_tie_heavy(folder, args.queries),
        }
        for name, (gt_path, sub_path) in files.items():
            measure(name, gt_path, sub_path, args.repeat, old, args.against)


if __name__ == "__main__":
    main()
