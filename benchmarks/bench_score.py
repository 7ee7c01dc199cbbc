"""Scoring speed: `amr-bench score` end to end against merely parsing the two files with `json`.

    python benchmarks/bench_score.py [--queries 100000] [--repeat 3]

Generates a deterministic synthetic benchmark (multi-window ground truth, 10-12 scored windows
per query; about 60 MB of JSON for 100,000 queries), then runs, each in a fresh process and
side by side in this one run:

* ``parse``: read both files line by line with the standard library's ``json`` (the floor any
  Python scorer pays), and
* ``score``: the ``amr-bench score`` command, end to end (start-up, validation, metrics, output).

Prints the median wall time of each, the ratio score/parse (target <= 1.5, goal < 1) and each
process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PARSE = """
import json, sys
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
"""


def generate(folder: Path, n: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    gt_path, sub_path = folder / "gt.jsonl", folder / "sub.jsonl"
    with open(gt_path, "w") as g, open(sub_path, "w") as s:
        for i in range(n):
            duration = float(rng.integers(60, 300))
            k = int(rng.integers(1, 5))
            starts = np.sort(rng.uniform(0, duration - 10, k)).round(1)
            gws = [[float(a), round(min(duration, float(a) + rng.uniform(1, 30)), 1)] for a in starts]
            g.write(
                json.dumps(
                    {
                        "qid": f"q{i}",
                        "query": "a dog barks while rain falls",
                        "duration": duration,
                        "vid": f"v{i // 3}",
                        "relevant_windows": gws,
                    }
                )
                + "\n"
            )
            m = int(rng.integers(10, 13))
            ps = rng.uniform(0, duration - 5, m).round(3)
            pe = np.minimum(duration, ps + rng.uniform(0.5, 40, m)).round(3)
            sc = np.sort(rng.uniform(0, 1, m))[::-1].round(6)
            s.write(
                json.dumps(
                    {
                        "qid": f"q{i}",
                        "query": "a dog barks while rain falls",
                        "vid": f"v{i // 3}",
                        "pred_relevant_windows": [[float(a), float(b), float(c)] for a, b, c in zip(ps, pe, sc)],
                    }
                )
                + "\n"
            )
    return gt_path, sub_path


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        gt, sub = generate(folder, args.queries)
        size = (gt.stat().st_size + sub.stat().st_size) / 2**20
        print(f"{args.queries} queries, {size:.1f} MiB of JSON (gt + submission)")
        parse_cmd = [sys.executable, "-c", PARSE, str(gt), str(sub)]
        score_cmd = [
            sys.executable,
            "-m",
            "amr_bench",
            "score",
            str(sub),
            "--gt",
            str(gt),
            "--quiet",
            "--output",
            str(folder / "m.json"),
        ]
        parse, score = [], []
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            parse.append(run(parse_cmd))
            score.append(run(score_cmd))
        p = statistics.median(t for t, _ in parse)
        s = statistics.median(t for t, _ in score)
        print(f"parse with json (stdlib): {p:6.2f} s   peak RSS {max(m for _, m in parse):7.0f} MiB")
        print(f"amr-bench score         : {s:6.2f} s   peak RSS {max(m for _, m in score):7.0f} MiB")
        print(f"ratio score / parse     : {s / p:6.2f}x   (target <= 1.5x, goal < 1x)")


if __name__ == "__main__":
    main()
