"""Scoring speed: `amr-bench score` end to end against parsing the two files with `json`, and
against the official scorer when its source is given.

    python benchmarks/bench_score.py [--queries 100000] [--repeat 3] [--official DIR] [--markdown]

Three cases, each two files (ground truth + submission):

* ``castella/val``: the bundled reference run (352 queries) against the bundled ground truth, as
  a researcher scores every day (start-up dominates);
* ``synthetic``: N queries, 1-4 ground-truth windows, 10-12 predicted windows sorted by score;
* ``castella-like``: N queries with string qids (``<vid>_<k>``), 1-6 ground-truth windows in no
  particular order and 11-14 predicted windows whose scores are not sorted (a warning per line).

Each command runs in a fresh process, interleaved so that all see the same machine load:

* ``official``: the official scorer (Moment-DETR's ``standalone_eval``, as used by lighthouse
  and DCASE 2026 Task 6), run as ``python -m standalone_eval.eval`` from ``--official DIR`` (the
  folder that holds ``standalone_eval/``); it is not part of this project, so without
  ``--official`` this column is left out, and the script says so;
* ``parse``: read both files line by line with the standard library's ``json`` (the floor any
  Python scorer pays);
* ``amr-bench``: ``amr-bench score RUN --gt GT -q -o OUT``, end to end (start-up, validation,
  metrics, output); the bundled ground truth is addressed as ``castella/val`` (after one warm-up
  run, as a user's second run finds its cache).

Prints the median wall time and the peak resident memory of each, and the ratios amr-bench/parse
(target <= 0.75 on large files) and amr-bench/official (target <= 0.5 on castella/val).
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PARSE = """
import json, sys
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
"""
ROOT = Path(__file__).resolve().parents[1]
REFERENCE_RUN = ROOT / "amr_bench" / "data" / "reference_runs" / "qddetr_castella_val_preds.jsonl"
CASTELLA_VAL = ROOT / "amr_bench" / "data" / "ground_truth" / "castella_val_release.jsonl"


def generate(folder: Path, n: int, seed: int = 0) -> tuple[Path, Path]:
    """The synthetic benchmark: 1-4 sorted ground-truth windows, 10-12 windows sorted by score."""
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
                        "pred_relevant_windows": [
                            [float(a), float(b), float(c)] for a, b, c in zip(ps, pe, sc, strict=True)
                        ],
                    }
                )
                + "\n"
            )
    return gt_path, sub_path


WORDS = ["a", "dog", "barks", "while", "rain", "falls", "on", "the", "roof", "and", "man", "speaks", "near", "road"]


def generate_castella_like(folder: Path, n: int, seed: int = 1) -> tuple[Path, Path]:
    """CASTELLA-test-like files: string qids, unsorted windows, up to 14 predicted windows."""
    rng = np.random.default_rng(seed)
    gt_path, sub_path = folder / "gt_castella_like.jsonl", folder / "sub_castella_like.jsonl"
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"))
    with open(gt_path, "w") as g, open(sub_path, "w") as s:
        vid = ""
        for i in range(n):
            if i % 5 == 0:
                vid = "".join(rng.choice(letters, 11))
                duration = int(rng.integers(30, 300))
            qid = f"{vid}_{i % 5 + 1}"
            query = " ".join(rng.choice(WORDS, int(rng.integers(4, 14))))
            k = int(rng.integers(1, 7))
            starts = rng.integers(0, duration - 2, k)
            gws = [[int(a), int(min(duration, a + rng.integers(1, 40)))] for a in starts]
            g.write(
                json.dumps({"qid": qid, "query": query, "duration": duration, "vid": vid, "relevant_windows": gws})
                + "\n"
            )
            m = int(rng.integers(11, 15))
            ps = rng.uniform(0, duration - 1, m).round(4)
            pe = np.minimum(duration, ps + rng.uniform(0.5, 60, m)).round(4)
            sc = rng.uniform(0, 1, m).round(4)
            windows = [[float(a), float(b), float(c)] for a, b, c in zip(ps, pe, sc, strict=True)]
            s.write(json.dumps({"qid": qid, "query": query, "vid": vid, "pred_relevant_windows": windows}) + "\n")
    return gt_path, sub_path


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process (and the children it waited for)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


@dataclass
class Case:
    name: str
    queries: int
    mib: float
    results: dict[str, tuple[float, float]]  # command -> (median seconds, peak MiB)

    def ratio(self, a: str, b: str) -> tuple[float, float]:
        return self.results[a][0] / self.results[b][0], self.results[a][1] / self.results[b][1]


def measure(name: str, gt: Path, sub: Path, gt_spec: str, folder: Path, repeat: int, official: Path | None) -> Case:
    out = folder / "m.json"
    commands: dict[str, tuple[list[str], Path | None, dict[str, str] | None]] = {}
    if official is not None:
        cmd = [sys.executable, "-m", "standalone_eval.eval", "--not_verbose"]
        cmd += ["--submission_path", str(sub), "--gt_path", str(gt), "--save_path", str(folder / "official.json")]
        commands["official"] = (cmd, official, {**os.environ, "PYTHONPATH": str(official)})
    commands["parse"] = ([sys.executable, "-c", PARSE, str(gt), str(sub)], None, None)
    amr = [sys.executable, "-m", "amr_bench", "score", str(sub), "--gt", gt_spec, "-q", "-o", str(out)]
    commands["amr-bench"] = (amr, None, None)
    run(amr)  # warm-up: the file system cache, and the ground-truth cache
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
    for _ in range(repeat):  # interleaved, so that all see the same machine load
        for key, (cmd, cwd, env) in commands.items():
            times[key].append(run(cmd, cwd, env))
    with open(gt, encoding="utf-8") as f:
        queries = sum(1 for _ in f)
    results = {
        key: (statistics.median(t for t, _ in values), max(m for _, m in values)) for key, values in times.items()
    }
    return Case(name, queries, (gt.stat().st_size + sub.stat().st_size) / 2**20, results)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--queries", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--official", type=Path, help="folder holding the official scorer's standalone_eval/")
    ap.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = ap.parse_args()
    official = args.official
    if official is not None and not (official / "standalone_eval" / "eval.py").is_file():
        raise SystemExit(f"--official {official}: no standalone_eval/eval.py there")
    if official is None:
        print("official scorer: not measured (give --official DIR, the folder holding standalone_eval/)")
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small = "castella/val (bundled reference run)"
        cases.append(measure(small, CASTELLA_VAL, REFERENCE_RUN, "castella/val", folder, args.repeat, official))
        gt, sub = generate(folder, args.queries)
        cases.append(measure("synthetic (10-12 sorted windows)", gt, sub, str(gt), folder, args.repeat, official))
        gt, sub = generate_castella_like(folder, args.queries)
        name = "castella-like (11-14 unsorted windows, string qids)"
        cases.append(measure(name, gt, sub, str(gt), folder, args.repeat, official))
    columns = [c for c in ("official", "parse", "amr-bench") if c in cases[0].results]
    for case in cases:
        print(f"\n{case.name}: {case.queries} queries, {case.mib:.1f} MiB of JSON (gt + submission)")
        for c in columns:
            t, m = case.results[c]
            print(f"  {c:<10} {t:7.3f} s   peak RSS {m:7.0f} MiB")
        t_ratio, m_ratio = case.ratio("amr-bench", "parse")
        print(f"  amr-bench / parse   : {t_ratio:5.2f}x time, {m_ratio:5.2f}x memory")
        if "official" in case.results:
            t_ratio, m_ratio = case.ratio("amr-bench", "official")
            print(f"  amr-bench / official: {t_ratio:5.2f}x time, {m_ratio:5.2f}x memory")
    if args.markdown:
        head = "| case | queries | " + " | ".join(columns) + " | amr-bench / parse | amr-bench / official |"
        print("\n" + head + "\n|" + "---|" * (head.count("|") - 1))
        for case in cases:
            cells = [f"{case.results[c][0]:.3f} s, {case.results[c][1]:.0f} MiB" for c in columns]
            vs_official = f"{case.ratio('amr-bench', 'official')[0]:.2f}x" if "official" in case.results else "-"
            vs_parse = f"{case.ratio('amr-bench', 'parse')[0]:.2f}x"
            print(f"| {case.name} | {case.queries:,} | " + " | ".join(cells) + f" | {vs_parse} | {vs_official} |")


if __name__ == "__main__":
    main()
