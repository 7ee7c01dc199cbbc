"""Training throughput and peak memory of AM-DETR / LCS-DETR at a preset (default: the model's).

Runs a few optimisation steps (forward with the negative-pair pass, Hungarian matching, all
losses, backward, clip, AdamW) on random features of the Clotho-Moment shape (60 frames of
768 + 2, 32 text tokens, batch 32) and prints samples/s, seconds per step, peak memory (CUDA:
``max_memory_allocated``; CPU: the process's peak RSS, an upper bound), and the projected time of
a full run (100 or 200 epochs) over a Clotho-Moment-sized training split (32,694 queries),
validation time excluded.

    python benchmarks/bench_train.py                       # CPU, lighthouse preset (fp32)
    python benchmarks/bench_train.py --device cuda --set train.bf16=true   # one GPU, bf16 autocast
    python benchmarks/bench_train.py --model lcs-detr --steps 20 --threads 2
    python benchmarks/bench_train.py --threads 1 --set model.hidden=64 --set model.ffn=256 --set model.heads=4
                                                           # the CPU configuration of the README's table
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "baselines")]

CLOTHO_MOMENT_TRAIN_QUERIES = 32694


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="am-detr", choices=["am-detr", "lcs-detr"])
    ap.add_argument("--preset", default=None, help="lighthouse, paper, lcs-report, lcs-code, sim-cpu")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--frames", type=int, default=60, help="60 (Clotho-Moment) or 300 (CASTELLA cap)")
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=None, help="default: the config's (32)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.NAME=VALUE",
        help="config override as for amr-bench train (model.hidden=64); repeatable",
    )
    args = ap.parse_args()

    import torch

    from amr_bench_baselines.detr.settings import parse_overrides, resolve_config
    from amr_bench_baselines.detr.train import throughput

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = resolve_config(args.model, args.preset, None, parse_overrides(args.overrides))
    batch = args.batch_size or cfg.train.batch_size
    r = throughput(cfg, args.device, args.steps, batch, args.frames, args.tokens)
    params = sum(
        p.numel()
        for p in __import__("amr_bench_baselines.detr.model", fromlist=["build_model"])
        .build_model(cfg.model)
        .parameters()
    )
    epoch_s = CLOTHO_MOMENT_TRAIN_QUERIES / r["samples_per_s"]
    what = f"preset {cfg.preset}" + (" with " + " ".join(args.overrides) if args.overrides else "")
    what += ", bf16 autocast" if cfg.train.bf16 and args.device.startswith("cuda") else ", fp32"
    print(
        f"{args.model} {what} ({params / 1e6:.2f} M parameters), device {args.device}, "
        f"torch threads {torch.get_num_threads()}, batch {batch}, {args.frames} frames, {args.tokens} tokens"
    )
    print(f"  throughput     {r['samples_per_s']:.1f} samples/s ({r['step_s']:.3f} s/step)")
    memory_kind = "CUDA allocated" if args.device.startswith("cuda") else "process RSS"
    print(f"  peak memory    {r['peak_mib']:.0f} MiB ({memory_kind})")
    print(f"  one epoch of Clotho-Moment train ({CLOTHO_MOMENT_TRAIN_QUERIES} queries): {epoch_s / 60:.1f} min")
    for epochs in (100, 200):
        print(f"  {epochs} epochs: {epochs * epoch_s / 3600:.1f} h (validation excluded)")


if __name__ == "__main__":
    main()
