"""Systems the baselines add to ``amr-bench demo`` (entry point group ``amr_bench.demo_systems``).

The core demo never imports this package: it calls every function registered in that group with
a work folder and stores the runs it returns. Here (:func:`demo_runs`):

- a small simulated benchmark (the built-in simulator) with the two zero-shot baselines, raw CLAP
  cosine and JointProj, run on its test split;
- the prior-only control (:mod:`amr_bench_baselines.zeroshot.prior`, ``best-windows``: the same fixed
  windows for every query, ignoring audio and query) on every bundled split with ground truth and
  on the simulated test split, so every table shows what listening to nothing scores. It is always
  fitted on a *different* split (:data:`PRIOR_PLAN`): another split of the same dataset that is not
  a test split where one is bundled (castella/train for CASTELLA val and test, castella/val for
  castella/train, clotho-moment/val for its test, simulated/train for simulated/test); otherwise
  on castella/train, and the run's description says so (UnAV-100 and TUT have one bundled split;
  Clotho-Moment val's only other bundled split is its test split, which a prior must not see).

A run names its ground truth either by a bundled split (``"castella/test"``) or by a file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RECORDINGS = 120
SEED = 0
PRIOR_SYSTEM = "prior (best fixed windows)"
PRIOR_K = 10
PRIOR_THETA = 0.7
Split = str | Path  # a bundled split name, or a ground-truth file
PlanRow = tuple[str, Split, Split]  # (benchmark, the split answered, the split the prior is fitted on)
PRIOR_PLAN: tuple[PlanRow, ...] = (
    ("castella/train", "castella/train", "castella/val"),
    ("castella/val", "castella/val", "castella/train"),
    ("castella/test", "castella/test", "castella/train"),
    ("clotho-moment/val", "clotho-moment/val", "castella/train"),  # its other bundled split is the test split
    ("clotho-moment/test", "clotho-moment/test", "clotho-moment/val"),
    ("unav100-subset/test", "unav100-subset/test", "castella/train"),  # one bundled split
    ("tut2017/test", "tut2017/test", "castella/train"),  # one bundled split
)


def demo_runs(workdir: Path) -> list[dict[str, Any]]:
    """Every run the baselines contribute to the demo (see the module docstring)."""
    root = Path(workdir) / "simulated"
    simulated = ("simulated/test", root / "test.jsonl", root / "train.jsonl")
    try:
        zero_shot = zero_shot_runs(root)
    except ImportError as exc:  # no torch (a core install): the prior needs numpy only, so it still runs
        if (exc.name or "").split(".")[0] != "torch":
            raise
        return prior_runs(PRIOR_PLAN)
    return zero_shot + prior_runs([*PRIOR_PLAN, simulated])


def zero_shot_runs(root: Path) -> list[dict[str, Any]]:
    """Simulate a small benchmark in ``root`` and run the zero-shot baselines on its test split."""
    from amr_bench.datasets.simulate import simulate
    from amr_bench_baselines.zeroshot.clap_cosine import clap_cosine
    from amr_bench_baselines.zeroshot.curves import load_split_data
    from amr_bench_baselines.zeroshot.jointproj import jointproj
    from amr_bench_baselines.zeroshot.projection_heads_torch import load_projection_heads

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


def prior_runs(plan: Sequence[PlanRow]) -> list[dict[str, Any]]:
    """The prior-only control on each ``(benchmark, split answered, split fitted on)`` of ``plan``.

    Each fitting split is fitted once; a row answering the split it is fitted on is refused. One
    system on every benchmark, so its one description names the fitting split of each.
    """
    from amr_bench.groundtruth import load_ground_truth
    from amr_bench_baselines.zeroshot.prior import fit_prior, prior_records

    for benchmark, answered, fitted_on in plan:
        if str(answered) == str(fitted_on):
            raise ValueError(f"the prior for {benchmark} must be fitted on a different split than {answered}")
    fitted = [(benchmark, _split_name(fitted_on)) for benchmark, _, fitted_on in plan]
    usual = Counter(fit for _, fit in fitted).most_common(1)[0][0] if fitted else ""
    others = [f"{fit} for {benchmark}" for benchmark, fit in fitted if fit != usual]
    description = (
        f"prior-only control: the same {PRIOR_K} fixed windows for every query, ignoring audio and query; "
        f"fitted on {usual}" + (", except " + ", ".join(others) if others else "")
    )
    fits: dict[str, Any] = {}
    runs = []
    for benchmark, answered, fitted_on in plan:
        if str(fitted_on) not in fits:
            fits[str(fitted_on)] = fit_prior(load_ground_truth(fitted_on), "best-windows", PRIOR_K, PRIOR_THETA)
        runs.append(
            {
                "benchmark": benchmark,
                "ground_truth": answered,
                "team": "baselines",
                "system": PRIOR_SYSTEM,
                "records": prior_records(fits[str(fitted_on)], load_ground_truth(answered), PRIOR_K),
                "description": description,
                "reference": "prior-only control",
            }
        )
    return runs


def _split_name(split: Split) -> str:
    return split if isinstance(split, str) else f"{split.parent.name}/{split.stem}"
