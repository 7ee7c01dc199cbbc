"""The DCASE 2026 Task 6 baseline's recipes, end to end, beside its published numbers.

Two recipes, each trained once per seed with the same configuration (preset ``dcase2026`` unless
another is given), as the baseline's README runs them (``src/train.py --config config.yml``, and
``config_pretraining.yml`` for Clotho-Moment, which differs only in its data):

- ``castella``: train on CASTELLA (``DATA``), select the checkpoint on CASTELLA val;
- ``castella-pretrained``: train on Clotho-Moment (``--pretrain-data``), then start a CASTELLA run
  from the *weights* of its selected checkpoint (``--resume`` in the official ``train.py`` loads
  only the model's weights: a fresh optimizer, the full epoch count, its own selection).

Each seed's selected CASTELLA checkpoint predicts ``val`` and ``test``; the tables set, per metric,
the mean ± sample standard deviation (ddof = 1) over the seeds beside the published numbers: the
README's five-run statistics of each recipe on CASTELLA test, and the single released checkpoint's
val and test numbers. The README prints "mean ± standard deviation" without saying which one; with
five runs the population std is sqrt(4/5) ≈ 0.894 times the sample std, so ``reproduce.json``
stores both.

``OUT`` receives ``<recipe>/seed-S/`` (each CASTELLA run, with ``predictions/<split>.jsonl``),
``pretrain/seed-S/`` (the Clotho-Moment runs), ``reproduce.json`` and ``reproduce.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amr_bench.errors import InputError, Problem
from amr_bench_baselines.detr.config import DetrConfig
from amr_bench_baselines.detr.reproduce import TABLE_METRICS, load_published, score_run

DCASE_PRESET = "dcase2026"  # the official network and recipe (presets.py)
SPLITS = ("val", "test")
RELEASED = "castella-released"


@dataclass(frozen=True)
class Recipe:
    name: str  # folder under OUT and key of its published entry
    title: str
    pretrain: bool  # Clotho-Moment first, then CASTELLA from its best weights


RECIPES = (
    Recipe("castella", "only CASTELLA", False),
    Recipe("castella-pretrained", "Clotho-Moment pre-training + CASTELLA fine-tuning", True),
)


@dataclass
class DcaseResult:
    out: Path
    summary: dict[str, Any]
    table: str


def spread(values: list[float]) -> dict[str, float]:
    """Percent: mean, sample std (ddof 1; 0 for one value) and population std (ddof 0)."""
    import numpy as np

    v = 100 * np.asarray(values, dtype=np.float64)
    sample = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return {"mean": float(v.mean()), "std": sample, "std_population": float(v.std(ddof=0)), "n": len(v)}


def check_roots(data: Path, pretrain: Path | None) -> None:
    """Every split a recipe reads, before anything trains (one error naming each missing file)."""
    need = [data / f"{s}.jsonl" for s in ("train", *SPLITS)]
    if pretrain is not None:
        need += [pretrain / f"{s}.jsonl" for s in ("train", "val")]
    missing = [p for p in need if not p.is_file()]
    if missing:
        raise InputError(
            [Problem(str(p), None, "split file not found (the DCASE recipes need it)") for p in missing],
            f"{len(missing)} split file(s) missing for the DCASE recipes",
        )


def run_recipe(
    recipe: Recipe, cfg: DetrConfig, data: Path, pretrain: Path | None, out: Path, seed: int, options: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """One seed of one recipe: (pre-training,) CASTELLA training, val and test scored with its best."""
    from amr_bench_baselines.detr.train import TrainSettings, train

    seed_cfg = cfg.override({"train.seed": seed})
    run_dir = out / recipe.name / f"seed-{seed}"
    init = None
    if recipe.pretrain:
        assert pretrain is not None
        first = out / "pretrain" / f"seed-{seed}"
        train(seed_cfg, TrainSettings(pretrain, first, test_split=None, **options))
        init = first / "best"
    train(seed_cfg, TrainSettings(data, run_dir, init=init, test_split=None, **options))
    return score_run(run_dir, data, list(SPLITS), options.get("device", "cpu"))


def aggregate(per_seed: dict[str, dict[int, dict[str, dict[str, float]]]]) -> dict[str, Any]:
    """recipe -> split -> metric -> spread over the seeds."""
    return {
        recipe: {split: {m: spread([runs[s][split][m] for s in runs]) for m in TABLE_METRICS} for split in SPLITS}
        for recipe, runs in per_seed.items()
    }


def cell(row: dict[str, float] | None) -> str:
    return f"{row['mean']:.2f} ± {row['std']:.2f}" if row else "not run"


def published_cell(entry: dict[str, Any], metric: str, split: str = "test") -> str:
    metrics = entry.get("metrics" if split == "test" else "val_metrics", {})
    if metric not in metrics:
        return "–"
    std = entry.get("std", {}).get(metric)
    return f"{metrics[metric]:.2f}" + (f" ± {std:.2f}" if std is not None else "")


def format_tables(cfg: DetrConfig, seeds: list[int], data: Path, pretrain: Path | None, table: dict[str, Any]) -> str:
    """Markdown: CASTELLA test (each recipe's mean ± std beside its published row, and the released
    run) and CASTELLA val (each recipe beside the released run's val numbers), sources below."""
    published = load_published("am-detr")
    released = published.get(RELEASED, {})
    only, pre = RECIPES
    not_run = "" if pretrain is not None else " (pre-training recipe not run: give --pretrain-data)"
    lines = [
        f"am-detr, preset {cfg.preset or '(none)'}, seeds {','.join(map(str, seeds))}: the DCASE 2026 Task 6 "
        f"baseline recipes on {data}" + (f", pre-training on {pretrain}" if pretrain else "") + not_run,
        "Percent. ours: mean ± sample std (ddof=1) over the seeds; published: mean ± std of five runs as "
        "the baseline README prints it (it does not say which std).",
        "",
        "test split",
        "",
        f"| metric | {only.title}: ours | published [1] | {pre.title}: ours | published [2] | released run [3] |",
        "|---|---|---|---|---|---|",
    ]
    for m in TABLE_METRICS:
        a, b = (table.get(r.name, {}).get("test", {}).get(m) for r in RECIPES)
        lines.append(
            f"| {m} | {cell(a)} | {published_cell(published.get(only.name, {}), m)} | {cell(b)} | "
            f"{published_cell(published.get(pre.name, {}), m)} | {published_cell(released, m)} |"
        )
    lines += [
        "",
        "val split",
        "",
        f"| metric | {only.title}: ours | {pre.title}: ours | released run [3] |",
        "|---|---|---|---|",
    ]
    for m in TABLE_METRICS:
        a, b = (table.get(r.name, {}).get("val", {}).get(m) for r in RECIPES)
        lines.append(f"| {m} | {cell(a)} | {cell(b)} | {published_cell(released, m, 'val')} |")
    sources = [published.get(only.name, {}), published.get(pre.name, {}), released]
    lines += [""] + [
        f"[{i}] {entry.get('source', '(missing from published.json)')}" for i, entry in enumerate(sources, 1)
    ]
    return "\n".join(lines) + "\n"


def reproduce_dcase(
    cfg: DetrConfig,
    data: Path,
    out: Path,
    seeds: list[int],
    pretrain: Path | None = None,
    device: str = "cpu",
    progress: bool = False,
    log: Any = None,
) -> DcaseResult:
    """Run every recipe the data allows for every seed; write ``OUT/reproduce.{json,md}``."""
    from amr_bench_baselines.detr.train import Distributed, check_run_folder

    check_roots(data, pretrain)
    check_run_folder(out, False, Distributed())
    options = {"device": device, "progress": progress, "log": log}
    recipes = [r for r in RECIPES if pretrain is not None or not r.pretrain]
    per_seed: dict[str, dict[int, dict[str, dict[str, float]]]] = {}
    for recipe in recipes:
        per_seed[recipe.name] = {s: run_recipe(recipe, cfg, data, pretrain, out, s, options) for s in seeds}
    table = aggregate(per_seed)
    text = format_tables(cfg, seeds, data, pretrain, table)
    summary = {
        "model": "am-detr",
        "recipes": [r.name for r in recipes],
        "preset": cfg.preset,
        "seeds": seeds,
        "config": cfg.to_dict(),
        "data_root": str(data),
        "pretrain_root": str(pretrain) if pretrain else None,
        "std": "std: sample standard deviation (ddof=1) over the seeds; std_population: ddof=0",
        "per_seed": {r: {str(s): v for s, v in runs.items()} for r, runs in per_seed.items()},
        "table": table,
        "published": {k: v for k, v in load_published("am-detr").items() if k in (*per_seed, RELEASED)},
    }
    (out / "reproduce.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", "utf-8")
    (out / "reproduce.md").write_text(text, "utf-8")
    return DcaseResult(out, summary, text)
