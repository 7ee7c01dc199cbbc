"""Systems the baselines add to ``amr-bench demo`` (entry point group ``amr_bench.demo_systems``).

The core demo never imports this package: it calls every function registered in that group with
a work folder and stores the runs it returns. Here: a small simulated benchmark (the built-in
simulator) with the two zero-shot baselines, raw CLAP cosine and JointProj, run on its test split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

RECORDINGS = 120
SEED = 0


def simulated_zero_shot(workdir: Path) -> list[dict[str, Any]]:
    """Simulate ``workdir/simulated`` and run the zero-shot baselines on its test split."""
    from amr_bench.datasets.simulate import simulate
    from amr_bench_baselines.clap_adapter import load_projection_heads
    from amr_bench_baselines.clap_cosine import clap_cosine
    from amr_bench_baselines.jointproj import jointproj
    from amr_bench_baselines.zeroshot import load_split_data

    root = Path(workdir) / "simulated"
    simulate(root, recordings=RECORDINGS, seed=SEED, style="clotho-moment", overwrite=True)
    data = load_split_data(root, "test")
    heads = load_projection_heads(root / "clap_projection.npz")
    gt = root / "test.jsonl"
    return [
        {
            "benchmark": "simulated/test",
            "ground_truth": gt,
            "team": "baselines",
            "system": "clap-cosine",
            "records": clap_cosine(data),
            "description": "zero-shot: raw CLAP cosine + peak picking",
        },
        {
            "benchmark": "simulated/test",
            "ground_truth": gt,
            "team": "baselines",
            "system": "JointProj",
            "records": jointproj(data, heads),
            "description": "zero-shot: projected CLAP similarity + peak picking",
        },
    ]
