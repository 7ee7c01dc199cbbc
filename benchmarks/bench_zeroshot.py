"""Speed of the zero-shot baselines on CPU.

1. JointProj (variant s1) on a Clotho-Moment-test-sized split in the official layout (random
   features): 5,472 recordings x 60 s, 6,649 queries. Reports the whole run (reading the npz
   files, projecting every frame, the cosine curves, peak finding) and its parts, and seconds per
   hour of audio features. Target: the whole split in under 10 s on 2 cores. Wall time depends
   on what else runs (the load average is printed next to each figure); the CPU seconds of this
   process do much less.
2. clap-cosine on the same split.
3. Feature extraction (random-weight MS-CLAP 2023, real msclap classes): seconds per hour of audio,
   extrapolated from ``--extract-seconds`` of audio.

Run: ``python benchmarks/bench_zeroshot.py [--recordings 5472 --queries 6649 --repeat 2 --extract-seconds 16]``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def make_split(root: Path, recordings: int, queries: int, seconds: int = 60, seed: int = 0) -> None:
    from amr_bench.datasets.features import FeatureStore
    from amr_bench.datasets.npzio import write_npz

    rng = np.random.default_rng(seed)
    store = FeatureStore(root)
    for r in range(recordings):
        store.write_audio(f"rec{r}", rng.normal(size=(seconds, 768)).astype(np.float32))
    lines = []
    for q in range(queries):
        store.write_text(q, rng.normal(size=(12, 768)).astype(np.float32))
        s = float(rng.integers(0, seconds - 20))
        lines.append(
            {
                "qid": q,
                "query": f"q{q}",
                "duration": seconds,
                "vid": f"rec{q % recordings}",
                "relevant_windows": [[s, s + 15]],
            }
        )
    (root / "test.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    arrays = {}
    for side in ("audio_encoder", "caption_encoder"):
        p = f"{side}.projection."
        arrays.update(
            {
                p + "linear1.weight": rng.normal(0, 0.036, (1024, 768)).astype(np.float32),
                p + "linear2.weight": rng.normal(0, 0.031, (1024, 1024)).astype(np.float32),
                p + "layer_norm.weight": np.ones(1024, np.float32),
                p + "layer_norm.bias": np.zeros(1024, np.float32),
            }
        )
    write_npz(root / "clap_projection.npz", arrays)


def load_average() -> str:
    import os

    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_jointproj(root: Path, recordings: int, seconds: int, repeat: int) -> None:
    from amr_bench_baselines.clap_adapter import load_projection_heads
    from amr_bench_baselines.clap_cosine import clap_cosine
    from amr_bench_baselines.jointproj import VARIANTS, jointproj, last_token_vectors, peak_windows
    from amr_bench_baselines.zeroshot import iter_audio_chunks, load_split_data, load_text_features, split_curves

    heads = load_projection_heads(root / "clap_projection.npz")
    data = load_split_data(root, "test")
    hours = recordings * seconds / 3600
    n = len(data.gt.qids)
    print(f"JointProj s1, {n} queries over {recordings} recordings ({hours:.1f} h of features), target < 10 s:")
    for i in range(repeat):
        before = load_average()
        t0, c0 = time.perf_counter(), time.process_time()
        jointproj(data, heads, VARIANTS["s1"])
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        label = "cold: first read of the npz files" if i == 0 else "warm page cache"
        print(
            f"  run {i + 1} ({label}): {total:.2f} s -> {total / hours:.3f} s per hour of audio "
            f"[{'MET' if total < 10 else 'MISSED'}], {cpu:.1f} CPU-s of this process "
            f"({before} before, {load_average()} after)"
        )
    from dataclasses import replace

    import torch

    t0 = time.perf_counter()
    jointproj(data, replace(heads, matmul_dtype=torch.bfloat16), VARIANTS["s1"])
    total = time.perf_counter() - t0
    print(
        f"  with --bf16 (bfloat16 matmuls, not bit-identical; warm): {total:.2f} s -> "
        f"{total / hours:.3f} s per hour of audio   ({load_average()})"
    )
    # the parts (files are now in the page cache)
    t = time.perf_counter()
    chunks = list(iter_audio_chunks(data))
    tv = heads.project("text", last_token_vectors(load_text_features(data)))
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    for c in chunks:
        heads.project("audio", c.frames)
    t_proj = time.perf_counter() - t
    t = time.perf_counter()
    curves = split_curves(data, tv, lambda c: heads.project("audio", c.frames), iter(chunks))
    t_cos = time.perf_counter() - t - t_proj
    t = time.perf_counter()
    peak_windows(curves, data.gt.durations, VARIANTS["s1"])
    t_peaks = time.perf_counter() - t
    print(
        f"  parts (warm): read {t_read:.2f} s, projection {t_proj:.2f} s "
        f"({len(curves.values) and sum(len(c.frames) for c in chunks)} frames), cosine curves "
        f"~{max(t_cos, 0):.2f} s, peaks+FWHM {t_peaks:.2f} s ({1e6 * t_peaks / n:.0f} us/query)"
    )
    t = time.perf_counter()
    clap_cosine(data)
    t_cc = time.perf_counter() - t
    print(f"clap-cosine, same split: {t_cc:.2f} s   ({load_average()})")


def bench_extract(seconds: int) -> None:
    from amr_bench_baselines import clap_adapter, extract

    with tempfile.TemporaryDirectory() as tmp:
        model = clap_adapter.random_clap(clap_adapter.write_tiny_gpt2(Path(tmp) / "tiny-gpt2"))
        wave = np.random.default_rng(0).normal(0, 0.1, seconds * 44100).astype(np.float32)
        clips = extract.window_clips(wave)
        model.audio_features(clips[:2])  # warm-up
        t = time.perf_counter()
        for i in range(0, len(clips), 16):
            model.audio_features(clips[i : i + 16])
        dt = time.perf_counter() - t
    print(
        f"feature extraction (random-weight MS-CLAP 2023, batch 16): {seconds} s of audio in "
        f"{dt:.2f} s -> {dt / seconds * 3600:.0f} s per hour of audio"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recordings", type=int, default=5472)
    ap.add_argument("--queries", type=int, default=6649)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--extract-seconds", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=2, help="Whole JointProj runs to time.")
    args = ap.parse_args()
    import torch

    print(f"torch threads: {torch.get_num_threads()}, {os.cpu_count()} CPUs, {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "split"
        t = time.perf_counter()
        make_split(root, args.recordings, args.queries, args.seconds)
        print(f"(wrote the split in {time.perf_counter() - t:.1f} s)")
        bench_jointproj(root, args.recordings, args.seconds, args.repeat)
    if args.extract_seconds > 0:
        bench_extract(args.extract_seconds)


if __name__ == "__main__":
    main()
