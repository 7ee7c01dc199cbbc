"""Training throughput and peak memory of AM-DETR / LCS-DETR at a preset, beside a baseline preset.

Runs a few optimisation steps (forward with the negative-pair pass, Hungarian matching, all
losses, backward, clip, AdamW) on random features of a benchmark's shape and prints samples/s,
seconds per step, peak memory (CUDA: ``max_memory_allocated``; CPU: the process's peak RSS, an
upper bound) and the projected time of a full run over that benchmark's training split
(validation time excluded):

- ``--data castella`` (default): 2,182 training queries, recordings of up to 300 s (300 frames,
  the official ``max_a_l``), 200 epochs (the DCASE recipe);
- ``--data clotho-moment``: 32,694 training queries, 60 frames, 100 and 200 epochs.

Every configuration is measured in a fresh process (so one's peak RSS is not another's), the
preset and the baseline alternately ``--repeats`` times; the median of each is reported, and
the ratio of the two (of the medians and of the best runs: on a shared machine the best run is
the least disturbed) comes from the same run.

    python benchmarks/bench_train.py --preset dcase2026              # CPU, beside lighthouse
    python benchmarks/bench_train.py --device cuda --set train.bf16=true --baseline none
    python benchmarks/bench_train.py --model lcs-detr --steps 20 --threads 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "baselines")]

BENCHMARKS = {
    # name: (training queries, frames, epochs to project)
    "castella": (2182, 300, (200,)),
    "clotho-moment": (32694, 60, (100, 200)),
}


def measure(args: argparse.Namespace, preset: str | None) -> dict[str, float | str | int]:
    """One configuration in this process: throughput, peak memory, parameters."""
    import torch

    from amr_bench_baselines.detr.model import build_model
    from amr_bench_baselines.detr.settings import parse_overrides, resolve_config
    from amr_bench_baselines.detr.train import throughput

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = resolve_config(args.model, preset, None, parse_overrides(args.overrides))
    batch = args.batch_size or cfg.train.batch_size
    frames = args.frames or BENCHMARKS[args.data][1]
    r = throughput(cfg, args.device, args.steps, batch, frames, args.tokens)
    params = sum(p.numel() for p in build_model(cfg.model).parameters() if p.requires_grad)
    return {
        **r,
        "preset": cfg.preset,
        "params": params,
        "batch": batch,
        "frames": frames,
        "threads": torch.get_num_threads(),
    }


def in_fresh_process(args: argparse.Namespace, preset: str | None) -> dict[str, float | str | int]:
    cmd = [sys.executable, __file__, "--single", "--model", args.model, "--device", args.device, "--data", args.data]
    cmd += ["--steps", str(args.steps), "--tokens", str(args.tokens)]
    cmd += ["--preset", preset] if preset else []
    cmd += ["--frames", str(args.frames)] if args.frames else []
    cmd += ["--batch-size", str(args.batch_size)] if args.batch_size else []
    cmd += ["--threads", str(args.threads)] if args.threads else []
    for o in args.overrides:
        cmd += ["--set", o]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def report(label: str, runs: list[dict[str, float | str | int]], args: argparse.Namespace) -> tuple[float, float]:
    """Prints one configuration's figures; returns (median, best) samples/s."""
    queries, _, epochs = BENCHMARKS[args.data]
    sps = statistics.median(float(r["samples_per_s"]) for r in runs)
    best = max(float(r["samples_per_s"]) for r in runs)
    peak = statistics.median(float(r["peak_mib"]) for r in runs)
    first = runs[0]
    memory_kind = "CUDA allocated" if args.device.startswith("cuda") else "process RSS"
    print(
        f"{label}: {args.model} preset {first['preset']} ({int(first['params']):,} trainable parameters), "
        f"batch {first['batch']}, {first['frames']} frames, {args.tokens} tokens, torch threads {first['threads']}"
    )
    print(
        f"  throughput     {sps:.2f} samples/s (median of {len(runs)}: "
        + ", ".join(f"{float(r['samples_per_s']):.2f}" for r in runs)
        + f"; {queries / sps / 60:.1f} min per epoch of {args.data} train, {queries} queries)"
    )
    print(f"  peak memory    {peak:.0f} MiB ({memory_kind})")
    for e in epochs:
        print(f"  {e} epochs of {args.data}: {e * queries / sps / 3600:.1f} h (validation excluded)")
    return sps, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="am-detr", choices=["am-detr", "lcs-detr"])
    ap.add_argument("--preset", default=None, help="dcase2026, lighthouse, paper, lcs-report, lcs-code, sim-cpu, v0")
    ap.add_argument("--baseline", default="lighthouse", help="preset measured beside it ('none': no baseline)")
    ap.add_argument("--data", default="castella", choices=sorted(BENCHMARKS))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3, help="alternated measurements of each configuration")
    ap.add_argument(
        "--frames", type=int, default=None, help="default: the benchmark's (CASTELLA 300, Clotho-Moment 60)"
    )
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=None, help="default: the config's (32)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.NAME=VALUE",
        help="config override as for amr-bench train (model.hidden=64); repeatable",
    )
    args = ap.parse_args()
    if args.single:
        print(json.dumps(measure(args, args.preset)))
        return
    baseline = None if args.baseline == "none" else args.baseline
    mine: list[dict[str, float | str | int]] = []
    base: list[dict[str, float | str | int]] = []
    for _ in range(args.repeats):
        if baseline is not None:
            base.append(in_fresh_process(args, baseline))
        mine.append(in_fresh_process(args, args.preset))
    sps, best = report("measured", mine, args)
    if baseline is not None:
        ref, ref_best = report("baseline", base, args)
        print(
            f"ratio: {sps / ref:.2f} x the {baseline} preset's samples/s (medians; best runs: {best / ref_best:.2f} x; "
            "same run, alternated)"
        )


if __name__ == "__main__":
    main()
