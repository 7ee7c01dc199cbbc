"""Memory of validating a large invalid file: peak RSS of `amr-bench validate` on about 4 MB of
300,000 windows written as strings (``["1", "2"]``), every one of them an error.

    python benchmarks/bench_validate_memory.py [--windows 300000]

Two layouts of the same windows, each validated in a fresh process (exit status 1 expected):

* ``many lines``: 100 invalid windows on each of 3,000 lines;
* ``one line``: all of them on a single line.

Prints the wall time, the peak resident memory (target: under 400 MiB) and how many lines of
messages were printed (the errors are summarised: the first of each kind, then a count).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MIB = 400


def write_files(folder: Path, windows: int, per_line: int) -> tuple[Path, Path]:
    lines = max(1, windows // per_line)
    gt, sub = folder / f"gt_{per_line}.jsonl", folder / f"sub_{per_line}.jsonl"
    with open(gt, "w") as f:
        for i in range(lines):
            f.write(json.dumps({"qid": i, "query": "q", "duration": 60, "vid": f"v{i}", "relevant_windows": [[1, 2]]}))
            f.write("\n")
    row = ", ".join(['["1", "2"]'] * per_line)
    with open(sub, "w") as f:
        for i in range(lines):
            f.write(f'{{"qid": {i}, "pred_relevant_windows": [{row}]}}\n')
    return gt, sub


def measure(gt: Path, sub: Path) -> tuple[float, float, int, int]:
    """Seconds, peak RSS (MiB), exit status and lines printed by one validation."""
    cmd = [sys.executable, "-m", "amr_bench", "validate", str(sub), "--gt", str(gt), "--all"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    printed = sum(1 for _ in proc.stdout)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), printed


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--windows", type=int, default=300_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, per_line in (("many lines", 100), ("one line", args.windows)):
            gt, sub = write_files(Path(tmp), args.windows, per_line)
            seconds, mib, status, printed = measure(gt, sub)
            verdict = "ok" if mib < TARGET_MIB and status == 1 else "OVER TARGET" if status == 1 else "UNEXPECTED EXIT"
            print(
                f"{label:<10}: {sub.stat().st_size / 2**20:4.1f} MiB, {args.windows:,} invalid windows: "
                f"exit {status}, {seconds:6.2f} s, peak RSS {mib:6.0f} MiB (target < {TARGET_MIB}: {verdict}), "
                f"{printed} lines printed with --all"
            )


if __name__ == "__main__":
    main()
