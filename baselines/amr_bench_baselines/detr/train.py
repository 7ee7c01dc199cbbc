"""One training loop for AM-DETR and LCS-DETR (CPU, one GPU, or many under ``torchrun``).

- AdamW; cosine / step / constant learning-rate schedule (per step, optional warm-up);
  gradient clipping; bf16 autocast on CUDA; optional ``torch.compile``.
- Seeded: model init from ``seed``; data order, jitter and pair sampling from (seed, epoch, index);
  dropout from (seed, epoch). Deterministic algorithms on CPU.
- Model selection on the validation split by ``train.select_metric`` (default R1@0.7), computed
  with amr-bench's own scorer (``amr_bench.scoring.score_records``); early stopping after
  ``patience`` evaluations without improvement; ``RUN/best`` is the selected checkpoint,
  ``RUN/last`` the resumable one. Resuming continues at the next epoch with the same data order.
- DistributedDataParallel when launched by ``torchrun`` (``WORLD_SIZE`` > 1): every process takes
  a contiguous slice of each global batch (see ``data.PairedBatchSampler``) and the loss
  normalisers are summed over processes, so the updates equal single-process ones (up to floating
  point; exactly comparable only without dropout, whose random streams differ per process).
  Every process scores the validation split itself (no extra communication); rank 0 writes.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from amr_bench_baselines.detr.checkpoint import (
    is_checkpoint,
    load_optimizer_state,
    load_weights_into,
    save_checkpoint,
)
from amr_bench_baselines.detr.config import DetrConfig
from amr_bench_baselines.detr.data import MomentDataset, PairedBatchSampler, open_store, read_split, train_loader
from amr_bench_baselines.detr.losses import SetCriterion
from amr_bench_baselines.detr.model import MomentDetr, build_model
from amr_bench_baselines.detr.predict import predict_records

CACHE_LIMIT = 20000  # recordings; above this, features are read from disk each time


class RunFolderExists(Exception):
    """The output folder exists and ``resume`` was not asked for (runs are never overwritten)."""


@dataclass
class Distributed:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Distributed:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        return cls(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


@dataclass
class RunResult:
    out: Path
    best_epoch: int
    best_metrics: dict[str, float]
    test_metrics: dict[str, float] | None
    history: list[dict[str, Any]] = field(default_factory=list)


def metrics_from_score(result: Any) -> dict[str, float]:
    """A flat ``{"R1@0.7": 0.61, "mAP": 0.55, "mAP@0.5": ...}`` view of a ScoreResult (fractions)."""
    raw = result.raw
    out: dict[str, float] = {}
    for key, value in raw["R1"].items():
        out[f"R1@{key}"] = float(value)
    for key, value in raw["mAP"].items():
        out["mAP" if key == "average" else f"mAP@{key}"] = float(value)
    out["mIoU@1"] = float(raw["mIoU@1"])
    return out


def evaluate(model: MomentDetr, dataset: MomentDataset, device: torch.device, batch_size: int) -> dict[str, float]:
    from amr_bench.scoring import score_records

    preds = predict_records(model, dataset, device, batch_size=batch_size)
    return metrics_from_score(score_records(preds, dataset.records))


def lr_factor(cfg: DetrConfig, step: int, steps_per_epoch: int) -> float:
    t = cfg.train
    warm = t.warmup_epochs * steps_per_epoch
    if step < warm:
        return (step + 1) / warm
    if t.schedule == "cosine":
        total = max(t.epochs * steps_per_epoch - warm, 1)
        return 0.5 * (1 + math.cos(math.pi * min((step - warm) / total, 1.0)))
    if t.schedule == "step":
        return t.step_gamma ** ((step // max(steps_per_epoch, 1)) // max(t.step_size, 1))
    return 1.0


def data_fingerprint(root: Path, splits: list[str]) -> dict[str, str]:
    from amr_bench.datasets.registry import sha256_file

    prints = {f"{s}.jsonl": sha256_file(root / f"{s}.jsonl") for s in splits if (root / f"{s}.jsonl").is_file()}
    if (root / "dataset.json").is_file():
        prints["dataset.json"] = sha256_file(root / "dataset.json")
    return prints


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder, or a run folder (its ``best/``)."""
    p = Path(path)
    if is_checkpoint(p):
        return p
    if is_checkpoint(p / "best"):
        return p / "best"
    seeds = sorted(p.glob("seed-*/best"))
    hint = f" (a multi-seed run: pick one of {', '.join(str(s.parent) for s in seeds)})" if seeds else ""
    raise FileNotFoundError(f"{p} is neither a checkpoint nor a run folder with best/{hint}")


def set_determinism(device: torch.device, deterministic: bool) -> None:
    if device.type == "cpu" and deterministic:
        torch.use_deterministic_algorithms(True)


class Progress:
    """A rich progress bar (quiet when not on a terminal, or on other processes than rank 0)."""

    def __init__(self, enabled: bool, total: int, label: str) -> None:
        self.bar = None
        if enabled and sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import (
                Progress as RichProgress,
            )

            self.bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                transient=False,
            )
            self.bar.start()
            self.task = self.bar.add_task(label, total=total, info="")

    def update(self, advance: int, info: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, advance=advance, info=info)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def train_run(
    cfg: DetrConfig,
    data_root: str | Path,
    out: str | Path,
    device: str = "cpu",
    init: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    train_split: str = "train",
    val_split: str = "val",
    test_split: str | None = "test",
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Train one seed; writes ``out/best``, ``out/last`` and ``out/metrics.json``."""
    import json

    dist_info = Distributed.from_env()
    data_root, out = Path(data_root), Path(out)
    dev = torch.device(device)
    if dist_info.world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        if dev.type == "cuda":
            dev = torch.device("cuda", dist_info.local_rank)
            torch.cuda.set_device(dev)
    say = log if (log is not None and dist_info.main) else (lambda _msg: None)

    if out.exists() and any(out.iterdir()) and not resume:
        raise RunFolderExists(
            f"{out} exists and is not empty: pass --resume to continue that run, or choose another --out"
        )
    if resume and not (out / "last").exists():
        raise RunFolderExists(f"nothing to resume: {out}/last does not exist")
    if dist_info.world > 1:
        torch.distributed.barrier()  # every process has checked the folder before rank 0 writes

    set_determinism(dev, cfg.train.deterministic)
    store = open_store(data_root)
    train_records = read_split(data_root, train_split)
    val_records = read_split(data_root, val_split)
    cache = len({r["vid"] for r in train_records}) <= CACHE_LIMIT
    train_ds = MomentDataset(train_records, store, cfg.data, train=True, seed=cfg.train.seed, cache=cache)
    val_ds = MomentDataset(val_records, store, cfg.data, train=False, cache=cache)

    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model).to(dev)
    if init is not None:
        missing, unexpected = load_weights_into(model, resolve_checkpoint(init))
        say(
            f"initialised from {init}"
            + (f"; not in it: {', '.join(missing)}" if missing else "")
            + (f"; ignored: {', '.join(unexpected)}" if unexpected else "")
        )
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    criterion = SetCriterion(cfg.loss)

    meta: dict[str, Any] = {
        "amr_bench_version": _version(),
        "torch_version": torch.__version__,
        "model": cfg.model.name,
        "seed": cfg.train.seed,
        "data_root": str(data_root),
        "data_sha256": data_fingerprint(data_root, [train_split, val_split]),
        "init": str(init) if init else None,
        "select_metric": cfg.train.select_metric,
        "world_size": dist_info.world,
        "history": [],
        "best_epoch": -1,
        "best_value": -math.inf,
        "epoch": -1,
        "step": 0,
        "bad_evals": 0,
    }
    if resume:
        from safetensors.torch import load_file

        last = out / "last"
        model.load_state_dict(load_file(str(last / "model.safetensors"), device=str(dev)))
        load_optimizer_state(last, model, optimizer)
        meta = json.loads((last / "meta.json").read_text())
        say(f"resuming {out} after epoch {meta['epoch']}")

    train_model: torch.nn.Module = model
    if cfg.train.compile:
        train_model = torch.compile(model)  # type: ignore[assignment]
    if dist_info.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        train_model = DistributedDataParallel(train_model, device_ids=[dev.index] if dev.type == "cuda" else None)

    sampler = PairedBatchSampler(len(train_ds), cfg.train.batch_size, cfg.train.seed, dist_info.rank, dist_info.world)
    loader = train_loader(train_ds, sampler, cfg.data.num_workers)
    steps_per_epoch = len(sampler)
    if steps_per_epoch == 0:
        raise ValueError(f"the {train_split!r} split has too few queries for one batch")
    use_bf16 = cfg.train.bf16 and dev.type == "cuda"
    if dist_info.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2, sort_keys=True) + "\n")

    bar = Progress(
        progress and dist_info.main, cfg.train.epochs * steps_per_epoch, f"{cfg.model.name} seed {cfg.train.seed}"
    )
    bar.update(max(meta["epoch"] + 1, 0) * steps_per_epoch, "")
    step = int(meta["step"])
    val_text = ""
    for epoch in range(meta["epoch"] + 1, cfg.train.epochs):
        torch.manual_seed(int(np.random.default_rng([cfg.train.seed, epoch, 7]).integers(2**31)))
        sampler.set_epoch(epoch)
        model.train()
        losses: list[float] = []
        for batch in loader:
            batch = batch.to(dev)
            for group in optimizer.param_groups:
                group["lr"] = cfg.train.lr * lr_factor(cfg, step, steps_per_epoch)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16):
                outputs = train_model(**batch.model_inputs())
            loss = criterion(outputs, batch.targets)["total"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.train.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
            optimizer.step()
            step += 1
            losses.append(float(loss.detach()))
            bar.update(1, f"loss {losses[-1]:.3f}{val_text}")
        entry: dict[str, Any] = {"epoch": epoch, "loss": float(np.mean(losses)), "lr": optimizer.param_groups[0]["lr"]}
        last_epoch = epoch == cfg.train.epochs - 1
        stop = False
        if (epoch + 1) % cfg.train.eval_every == 0 or last_epoch:
            metrics = evaluate(model, val_ds, dev, max(cfg.train.batch_size, 32))
            if cfg.train.select_metric not in metrics:
                raise ValueError(f"unknown selection metric {cfg.train.select_metric!r}; known: {', '.join(metrics)}")
            entry["val"] = metrics
            value = metrics[cfg.train.select_metric]
            val_text = f" | val {cfg.train.select_metric} {100 * value:.2f}"
            if value > meta["best_value"]:
                meta.update(best_value=value, best_epoch=epoch, bad_evals=0, best_metrics=metrics)
                if dist_info.main:
                    save_checkpoint(
                        out / "best",
                        model,
                        cfg,
                        {**meta, "epoch": epoch, "step": step, "history": meta["history"] + [entry]},
                    )
            else:
                meta["bad_evals"] += 1
                stop = cfg.train.patience > 0 and meta["bad_evals"] >= cfg.train.patience
        meta["history"].append(entry)
        meta.update(epoch=epoch, step=step)
        if dist_info.main:
            save_checkpoint(out / "last", model, cfg, meta, optimizer, {"step": step})
        say(f"epoch {epoch}: loss {entry['loss']:.4f}{val_text}")
        if stop:
            say(f"early stop: no improvement of {cfg.train.select_metric} in {cfg.train.patience} evaluations")
            break
    bar.close()

    test_metrics = None
    if test_split and (data_root / f"{test_split}.jsonl").is_file() and (out / "best").exists():
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(out / "best" / "model.safetensors"), device=str(dev)))
        test_ds = MomentDataset(read_split(data_root, test_split), store, cfg.data, train=False, cache=False)
        test_metrics = evaluate(model, test_ds, dev, max(cfg.train.batch_size, 32))
    result = RunResult(out, int(meta["best_epoch"]), dict(meta.get("best_metrics", {})), test_metrics, meta["history"])
    if dist_info.main:
        summary = {
            "best_epoch": result.best_epoch,
            "select_metric": cfg.train.select_metric,
            "val": result.best_metrics,
            test_split or "test": test_metrics,
            "seed": cfg.train.seed,
        }
        (out / "metrics.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return result


def mean_std(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per metric: mean and sample standard deviation (ddof=1; 0 for one run) over runs."""
    keys = list(runs[0]) if runs else []
    out = {}
    for k in keys:
        v = np.array([r[k] for r in runs], dtype=np.float64)
        out[k] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "n": len(v)}
    return out


def train_seeds(
    cfg: DetrConfig, seeds: list[int], data_root: str | Path, out: str | Path, **kwargs: Any
) -> dict[str, Any]:
    """Train one run per seed under ``out/seed-<s>`` and write ``out/summary.json`` (mean ± std)."""
    import json

    out = Path(out)
    results = []
    for s in seeds:
        run_cfg = cfg.override({"train.seed": s})
        results.append(train_run(run_cfg, data_root, out / f"seed-{s}", **kwargs))
    summary: dict[str, Any] = {
        "model": cfg.model.name,
        "seeds": seeds,
        "select_metric": cfg.train.select_metric,
        "val": mean_std([r.best_metrics for r in results]),
        "runs": [
            {"seed": s, "best_epoch": r.best_epoch, "val": r.best_metrics, "test": r.test_metrics}
            for s, r in zip(seeds, results)
        ],
    }
    if all(r.test_metrics for r in results):
        summary["test"] = mean_std([r.test_metrics for r in results])  # type: ignore[misc]
    if Distributed.from_env().main:
        (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def format_summary(
    summary: dict[str, Any], keys: tuple[str, ...] = ("R1@0.5", "R1@0.7", "mAP", "mAP@0.5", "mAP@0.75")
) -> str:
    lines = [f"{summary['model']} over seeds {summary['seeds']} (mean ± std, percent):"]
    for split in ("val", "test"):
        if split in summary:
            cells = [f"{k} {100 * summary[split][k]['mean']:.2f} ± {100 * summary[split][k]['std']:.2f}" for k in keys]
            lines.append(f"  {split}: " + ", ".join(cells))
    return "\n".join(lines)


def _version() -> str:
    from amr_bench import __version__

    return __version__


def throughput(cfg: DetrConfig, device: str, steps: int, batch_size: int, frames: int, tokens: int) -> dict[str, float]:
    """Training samples/s and peak memory of ``steps`` optimisation steps on random features."""
    from amr_bench_baselines.detr.losses import Targets

    dev = torch.device(device)
    torch.manual_seed(0)
    model = build_model(cfg.model).to(dev).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    criterion = SetCriterion(cfg.loss)
    b = batch_size
    audio_dim = cfg.model.audio_dim + (2 if cfg.model.use_endpoint_feature else 0)
    audio = torch.randn(b, frames, audio_dim, device=dev)
    mask = torch.ones(b, frames, dtype=torch.bool, device=dev)
    text = torch.randn(b, tokens, cfg.model.text_dim, device=dev)
    tmask = torch.ones(b, tokens, dtype=torch.bool, device=dev)
    sal = torch.zeros(b, frames, device=dev)
    sal[:, frames // 3 : frames // 2] = 1
    targets = Targets(
        [torch.tensor([[0.4, 0.15]], device=dev)] * b,
        sal,
        mask,
        torch.full((b, 2), frames // 3 + 1, device=dev),
        torch.zeros(b, 2, dtype=torch.long, device=dev),
        torch.ones(b, device=dev),
    )
    use_bf16 = cfg.train.bf16 and dev.type == "cuda"

    def one_step() -> None:
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16):
            outputs = model(audio, mask, text, tmask, text.roll(1, 0), tmask)
        loss = criterion(outputs, targets)["total"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        optimizer.step()

    one_step()  # warm-up
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        one_step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else _peak_rss_mib()
    return {"samples_per_s": steps * b / elapsed, "peak_mib": peak, "step_s": elapsed / steps}


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
