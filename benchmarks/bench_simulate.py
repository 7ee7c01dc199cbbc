"""Simulator throughput and peak memory, and the calibration of its planted signal.

    python benchmarks/bench_simulate.py --recordings 10000 [--style castella] [--keep DIR]
    python benchmarks/bench_simulate.py --calibrate DIR      # on an existing simulated dataset

Throughput: recordings per second written by ``amr_bench.datasets.simulate.simulate`` (features,
JSONL, projection heads), and peak memory two ways: the peak of Python allocations traced by
``tracemalloc`` (numpy arrays included) and the process's maximum resident set size
(``resource.getrusage``), which includes the interpreter and the imported libraries.

Calibration (``--calibrate``): for every test query, the per-second cosine between the audio frames
and the query's pooled token, (a) raw in the 768-d backbone space, (b) after the two projection
heads (numpy, from ``clap_projection.npz``). Reported: the frame-level ROC AUC (in-moment vs.
out-of-moment frames of the query's recording) and the R1@0.5/0.7 of a minimal
peak/half-maximum localiser (z-score over time, box smoothing of width 5, highest peak, its
full width at half prominence). The localiser is a calibration probe, not a baseline.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import find_peaks, peak_widths
from scipy.stats import rankdata

from amr_bench.datasets import load_split
from amr_bench.datasets.features import FeatureStore
from amr_bench.datasets.projection_heads_numpy import cosine, load_projection
from amr_bench.datasets.simulate import simulate


def localise(curve: np.ndarray, smooth: int = 5, rel_height: float = 0.5) -> tuple[float, float]:
    z = (curve - curve.mean()) / (curve.std() + 1e-9)
    z = uniform_filter1d(z, smooth, mode="nearest")
    padded = np.concatenate([[z.min() - 1], z, [z.min() - 1]])
    peaks, _ = find_peaks(padded)
    best = peaks[np.argmax(padded[peaks])]
    _, _, left, right = peak_widths(padded, [best], rel_height=rel_height)
    return float(left[0] - 1 + 0.5), float(right[0] - 1 + 0.5)


def iou(a: tuple[float, float], b: list[float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (a[1] - a[0] + b[1] - b[0] - inter)


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos = labels.sum()
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def calibrate(root: Path, split: str = "test") -> dict[str, float]:
    store = FeatureStore(root)
    audio_head, text_head = load_projection(root / "clap_projection.npz")
    out: dict[str, list[float]] = {
        k: [] for k in ("raw_r05", "raw_r07", "proj_r05", "proj_r07", "raw_auc", "proj_auc", "raw_sep", "proj_sep")
    }
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for rec in load_split(root, split):
        vid = rec["vid"]
        if vid not in cache:
            a = np.asarray(store.audio(vid))
            cache = {vid: (a, audio_head(a))}
        a, pa = cache[vid]
        t = np.asarray(store.text(rec["qid"]))[-1]
        centres = np.arange(len(a)) + 0.5
        inside = np.zeros(len(a), bool)
        for s, e in rec["relevant_windows"]:
            inside |= (centres > s) & (centres < e)
        for name, curve in (("raw", cosine(a, t)), ("proj", cosine(pa, text_head(t)))):
            win = localise(curve)
            best = max(iou(win, w) for w in rec["relevant_windows"])
            out[f"{name}_r05"].append(best >= 0.5)
            out[f"{name}_r07"].append(best >= 0.7)
            out[f"{name}_auc"].append(auc(curve, inside))
            out[f"{name}_sep"].append(
                (curve[inside].mean() - curve[~inside].mean()) / (curve.std() + 1e-12)
                if inside.any() and (~inside).any()
                else np.nan
            )
    res = {k: round(float(np.nanmean(v)) * (100 if "_r0" in k else 1), 3) for k, v in out.items()}
    res["queries"] = len(out["raw_r07"])
    res["r07_ratio_proj_over_raw"] = round(res["proj_r07"] / max(res["raw_r07"], 1e-9), 2)
    return res


def bench(recordings: int, style: str, seed: int, keep: Path | None) -> dict[str, float | str]:
    out = keep or Path(tempfile.mkdtemp(prefix="amr-sim-bench-"))
    try:
        tracemalloc.start()
        t0 = time.perf_counter()
        summary = simulate(out / "sim", recordings=recordings, seed=seed, style=style)
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        size = sum(f.stat().st_size for f in (out / "sim").rglob("*") if f.is_file())
        return {
            "recordings": recordings,
            "style": style,
            "seconds": round(elapsed, 2),
            "recordings_per_second": round(recordings / elapsed, 1),
            "queries": sum(summary.queries.values()),
            "tracemalloc_peak_mib": round(peak / 2**20, 1),
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "bytes_written_mib": round(size / 2**20, 1),
        }
    finally:
        if keep is None:
            shutil.rmtree(out, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recordings", type=int, default=10_000)
    ap.add_argument("--style", default="clotho-moment")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, help="write the dataset under this folder and keep it")
    ap.add_argument("--calibrate", type=Path, help="calibrate on an existing simulated dataset")
    ap.add_argument("--split", default="test")
    args = ap.parse_args(argv)
    if args.calibrate:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            print(json.dumps(calibrate(args.calibrate, args.split), indent=2))
    else:
        print(json.dumps(bench(args.recordings, args.style, args.seed, args.keep), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
