"""What leaving out ``--gt`` costs: finding the split from the qids against scoring itself.

    python benchmarks/bench_autodetect.py [--split clotho-moment/test] [--repeat 5]

Writes a submission for every query of a bundled split (one window each), then times, side by
side in this one process, ``detect_split`` (reads the submission's qids and those of every known
split of the same size) and ``score`` with the ground truth given. Prints the median of each and
the ratio detection/scoring.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from amr_bench.datasets.autodetect import detect_split
from amr_bench.datasets.registry import find_split
from amr_bench.jsonl import read_jsonl
from amr_bench.scoring import score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="clotho-moment/test")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    entry = find_split(args.split)
    if entry is None:
        raise SystemExit(f"unknown split {args.split}")
    records = read_jsonl(entry.path).records
    with tempfile.TemporaryDirectory() as tmp:
        sub = Path(tmp) / "run.jsonl"
        sub.write_text(
            "".join(json.dumps({"qid": r["qid"], "pred_relevant_windows": [[0, 5, 1.0]]}) + "\n" for r in records)
        )
        detect, scoring = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            found = detect_split(sub)
            detect.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            score(sub, args.split)
            scoring.append(time.perf_counter() - t0)
        assert found.spec == args.split, found
    d, s = statistics.median(detect), statistics.median(scoring)
    print(f"{args.split}: {len(records):,} queries, median of {args.repeat}")
    print(f"  detect_split (qids, same-size splits):{d * 1000:.1f} ms")
    print(f"  score with --gt given:             {s * 1000:.1f} ms")
    print(f"  ratio detect/score: {d / s:.2f}x")


if __name__ == "__main__":
    main()
