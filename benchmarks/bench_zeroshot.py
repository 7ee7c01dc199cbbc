"""Speed of the zero-shot baselines on CPU.

1. JointProj (variant s1) on a Clotho-Moment-test-sized split in the official layout (random
   features): 5,472 recordings x 60 s, 6,649 queries. Reports the whole run (reading the npz
   files, projecting every frame, the cosine curves, peak finding) and its parts, and seconds per
   hour of audio features. Target: the whole split in under 10 s on 2 cores. Wall time depends
   on what else runs (the load average is printed next to each figure); the CPU seconds of this
   process do much less.
2. clap-cosine on the same split.
3. Feature extraction (random-weight MS-CLAP 2023, real msclap classes) per framing: seconds per
   hour of audio, extrapolated from ``--extract-seconds`` of audio, and the time ratio of the 7-s
   repeat to the lighthouse framing.
4. With ``--torchaudio-functional PATH`` (torchaudio's ``functional/functional.py``, e.g. from
   ``pip download torchaudio==2.11.0 --no-deps``, unzipped): the largest difference of this
   project's resampling from torchaudio's own code run on the installed torch.

Run: ``python benchmarks/bench_zeroshot.py [--recordings 5472 --queries 6649 --repeat 2 --extract-seconds 16]``
(``--recordings 0`` skips 1 and 2).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

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
    from amr_bench_baselines.zeroshot.clap_cosine import clap_cosine
    from amr_bench_baselines.zeroshot.curves import iter_audio_chunks, load_split_data, split_curves
    from amr_bench_baselines.zeroshot.jointproj import VARIANTS, jointproj, peak_windows
    from amr_bench_baselines.zeroshot.pooled_text import pooled_text_vectors
    from amr_bench_baselines.zeroshot.projection_heads_torch import load_projection_heads

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
    tv = heads.project("text", pooled_text_vectors(data))
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
    """Extraction speed per framing, in one run (random weights: the speed is the real model's)."""
    from amr_bench_baselines.zeroshot.audio_framing import FRAMINGS, framed_clips
    from amr_bench_baselines.zeroshot.clap_model import random_clap
    from tests.helpers.tiny_gpt2 import write_tiny_gpt2

    with tempfile.TemporaryDirectory() as tmp:
        model = random_clap(write_tiny_gpt2(Path(tmp) / "tiny-gpt2"))
        wave = np.random.default_rng(0).normal(0, 0.1, seconds * 44100).astype(np.float32)
        model.encode_clips(framed_clips(wave, "lighthouse")[:2])  # warm-up
        times = {}
        for framing in FRAMINGS:
            clips = framed_clips(wave, framing)
            t = time.perf_counter()
            for i in range(0, len(clips), 16):
                model.encode_clips(clips[i : i + 16])
            times[framing] = time.perf_counter() - t
            print(
                f"feature extraction, {framing} framing (random-weight MS-CLAP 2023, batch 16): {seconds} s of "
                f"audio, {len(clips)} clips in {times[framing]:.2f} s -> {times[framing] / seconds * 3600:.0f} s "
                "per hour of audio"
            )
    print(f"  repeat7 / lighthouse time ratio: {times['repeat7'] / times['lighthouse']:.2f}")


def bench_resample(functional_py: Path) -> None:
    """Max difference of the project's resampler from torchaudio's own (its functional.py, e.g.
    unpacked from a torchaudio wheel: ``pip download torchaudio==2.11.0 --no-deps``), on this torch."""
    import ast
    import math
    import warnings
    from typing import Optional

    import torch

    from amr_bench_baselines.zeroshot.resample import resample

    names = ("_get_sinc_resample_kernel", "_apply_sinc_resample_kernel")
    scope: dict[str, Any] = {"torch": torch, "math": math, "warnings": warnings, "Optional": Optional}
    scope["Tensor"] = torch.Tensor
    scope["_CPU"] = torch.device("cpu")
    for node in ast.parse(functional_py.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            exec(compile(ast.Module([node], []), str(functional_py), "exec"), scope)
    rng = np.random.default_rng(0)
    for rate in (8000, 11025, 16000, 22050, 24000, 32000, 48000, 96000):
        g = math.gcd(rate, 44100)
        kernel, width = scope["_get_sinc_resample_kernel"](rate, 44100, g)  # transforms.Resample's kernel
        x = rng.normal(0, 0.3, (1, int(rate * 3.3))).astype(np.float32)
        ref = scope["_apply_sinc_resample_kernel"](torch.from_numpy(x), rate, 44100, g, kernel, width).numpy()
        ours = resample(x, rate, 44100)
        diff = float(np.abs(ours - ref).max()) if ours.shape == ref.shape else float("nan")
        print(
            f"resample {rate} Hz -> 44100 Hz: max |ours - torchaudio| {diff:.3g}, identical {np.array_equal(ours, ref)}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recordings", type=int, default=5472)
    ap.add_argument("--queries", type=int, default=6649)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--extract-seconds", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=2, help="Whole JointProj runs to time.")
    ap.add_argument(
        "--torchaudio-functional", type=Path, help="torchaudio's functional/functional.py: compare resampling."
    )
    args = ap.parse_args()
    if args.torchaudio_functional:
        bench_resample(args.torchaudio_functional)
    import torch

    print(f"torch threads: {torch.get_num_threads()}, {os.cpu_count()} CPUs, {load_average()}")
    if args.recordings > 0:
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
