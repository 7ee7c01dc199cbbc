"""Reproduce a DETR baseline: train every seed, predict and score every test split, and set the
mean ± std beside the published numbers (``published.json``, each with its source).

``OUT`` receives ``seed-S/`` (a run folder per seed, as ``amr-bench train`` writes it, plus
``seed-S/predictions/<split>.jsonl``), ``reproduce.json`` (every seed's metrics, the aggregate and
the published numbers) and ``reproduce.md`` (the table). An existing non-empty ``OUT`` is refused.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amr_bench.errors import InputError, Problem
from amr_bench_baselines.detr.config import DetrConfig

PUBLISHED_FILE = Path(__file__).with_name("published.json")
TABLE_METRICS = ("R1@0.5", "R1@0.7", "mAP", "mAP@0.5", "mAP@0.75")


@dataclass
class ReproduceResult:
    out: Path
    summary: dict[str, Any]
    table: str


def load_published(model: str) -> dict[str, dict[str, Any]]:
    """The published entries of ``model`` (benchmark key -> {source, metrics, ...})."""
    raw = json.loads(PUBLISHED_FILE.read_text("utf-8"))
    return dict(raw.get(model, {}))


def test_splits(root: Path) -> list[str]:
    """Every ``ROOT/test*.jsonl`` split, sorted (``test``, ``test-unav100-subset`` ...)."""
    return sorted(p.stem for p in root.glob("test*.jsonl") if p.is_file())


def benchmark_for(split: str, root: Path, published: dict[str, Any], given: str | None) -> str | None:
    """Which published entry a split is compared with: by its name, else ``given``, else ROOT's name."""
    for sep in ("-", "_"):
        key = split.partition(sep)[2]
        if split.startswith("test" + sep) and key in published:
            return key
    if split != "test":
        return None
    if given is not None:
        return given
    folder = root.resolve().name.lower().replace("_", "-")
    return folder if folder in published else None


def mean_std_percent(values: list[float]) -> tuple[float, float]:
    import numpy as np

    v = 100 * np.asarray(values, dtype=np.float64)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def write_predictions(path: Path, records: list[dict[str, Any]]) -> None:
    """JSON Lines written to a temporary sibling and renamed (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    os.replace(tmp, path)


def score_run(run_dir: Path, root: Path, splits: list[str], device: str) -> dict[str, dict[str, float]]:
    """Predict every split with ``run_dir/best`` (windows as its config says), write and score them."""
    from amr_bench.scoring import score_records
    from amr_bench_baselines.detr.checkpoint import load_checkpoint
    from amr_bench_baselines.detr.data import MomentDataset, open_store, read_split
    from amr_bench_baselines.detr.predict import predict_with_config
    from amr_bench_baselines.detr.train import metrics_from_score

    model, cfg, _meta = load_checkpoint(run_dir / "best", device)
    store = open_store(root)
    scores = {}
    for split in splits:
        gt = read_split(root, split)
        dataset = MomentDataset(gt, store, cfg.data, train=False, cache=False)
        preds = predict_with_config(model, dataset, cfg, device)
        write_predictions(run_dir / "predictions" / f"{split}.jsonl", preds)
        scores[split] = metrics_from_score(score_records(preds, gt))
    return scores


def aggregate(
    per_seed: dict[int, dict[str, dict[str, float]]], splits: list[str], published: dict[str, Any], benchmarks: dict
) -> dict[str, Any]:
    """Per split and metric: mean and sample std (percent) over seeds, and the published number."""
    out: dict[str, Any] = {}
    for split in splits:
        key = benchmarks.get(split)
        entry = published.get(key, {}) if key else {}
        rows = {}
        for metric in TABLE_METRICS:
            mean, std = mean_std_percent([per_seed[s][split][metric] for s in per_seed])
            rows[metric] = {
                "mean": mean,
                "std": std,
                "published": entry.get("metrics", {}).get(metric),
                "published_std": entry.get("std", {}).get(metric),
            }
        out[split] = {"benchmark": key, "source": entry.get("source"), "note": entry.get("note"), "metrics": rows}
    return out


def format_table(model: str, cfg: DetrConfig, seeds: list[int], table: dict[str, Any]) -> str:
    """A Markdown table: this run's mean ± std beside the published numbers, sources below."""
    lines = [
        f"{model}, preset {cfg.preset or '(none)'}, seeds {','.join(map(str, seeds))}: test metrics in percent, "
        "mean ± sample std over seeds",
        "",
        "| split | metric | this run | published |",
        "|---|---|---|---|",
    ]
    sources: list[str] = []
    for split, part in table.items():
        mark = ""
        if part["source"]:
            sources.append(part["source"] + (f" ({part['note']})" if part["note"] else ""))
            mark = f" [{len(sources)}]"
        for metric, row in part["metrics"].items():
            pub = "–"
            if row["published"] is not None:
                pub = f"{row['published']:.2f}" + (f" ± {row['published_std']:.2f}" if row["published_std"] else "")
                pub += mark
            lines.append(f"| {split} | {metric} | {row['mean']:.2f} ± {row['std']:.2f} | {pub} |")
    lines.append("")
    lines += [f"[{i}] {s}" for i, s in enumerate(sources, 1)] or ["No published numbers match these splits."]
    return "\n".join(lines) + "\n"


def reproduce(
    model: str,
    cfg: DetrConfig,
    data_root: Path,
    out: Path,
    seeds: list[int],
    device: str = "cpu",
    published_key: str | None = None,
    progress: bool = False,
    log: Any = None,
) -> ReproduceResult:
    """Train ``cfg`` for every seed, score every test split, write ``OUT/reproduce.{json,md}``."""
    from amr_bench_baselines.detr.train import Distributed, TrainSettings, check_run_folder, train

    splits = test_splits(data_root)
    if not splits:
        raise InputError(
            [Problem(str(data_root / "test.jsonl"), None, "no test split (test*.jsonl) to score")],
            f"nothing to reproduce on: {data_root} has no test*.jsonl",
        )
    published = load_published(model)
    if published_key is not None and published_key not in published:
        from amr_bench_baselines.detr.settings import SettingsError

        raise SettingsError(f"--published {published_key!r}: known for {model}: {', '.join(published) or 'none'}")
    check_run_folder(out, False, Distributed())
    per_seed: dict[int, dict[str, dict[str, float]]] = {}
    for seed in seeds:
        run_dir = out / f"seed-{seed}"
        settings = TrainSettings(data_root, run_dir, device, test_split=None, progress=progress, log=log)
        train(cfg.override({"train.seed": seed}), settings)
        per_seed[seed] = score_run(run_dir, data_root, splits, device)
    benchmarks = {s: benchmark_for(s, data_root, published, published_key) for s in splits}
    table = aggregate(per_seed, splits, published, benchmarks)
    text = format_table(model, cfg, seeds, table)
    summary = {
        "model": model,
        "preset": cfg.preset,
        "seeds": seeds,
        "config": cfg.to_dict(),
        "data_root": str(data_root),
        "per_seed": {str(s): v for s, v in per_seed.items()},
        "table": table,
    }
    (out / "reproduce.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", "utf-8")
    (out / "reproduce.md").write_text(text, "utf-8")
    return ReproduceResult(out, summary, text)
