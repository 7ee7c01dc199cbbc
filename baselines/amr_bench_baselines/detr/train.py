"""One training loop for AM-DETR and LCS-DETR (CPU, one GPU, or many under ``torchrun``).

- AdamW; cosine / step / constant learning-rate schedule (per step, optional warm-up);
  gradient clipping; bf16 autocast on CUDA; optional ``torch.compile``.
- Seeded: model init from ``seed``; data order, jitter and pair sampling from (seed, epoch, index);
  dropout from (seed, epoch). Deterministic algorithms on CPU.
- Model selection on the validation split by ``train.select_metric`` (``mAP``, the official
  ``MR-full-mAP``, under the ``lighthouse`` preset), computed with amr-bench's own scorer
  (``amr_bench.scoring.score_records``); optional early stopping after ``patience`` evaluations
  without improvement; ``RUN/best`` is the selected checkpoint,
  ``RUN/last`` the resumable one. Resuming continues at the next epoch with the same data order.
- DistributedDataParallel when launched by ``torchrun`` (``WORLD_SIZE`` > 1): every process takes
  a contiguous slice of each global batch (see ``data.PairedBatchSampler``) and the loss
  normalisers are summed over processes, so the updates equal single-process ones (up to floating
  point; exactly comparable only without dropout, whose random streams differ per process).
  Every process scores the validation split itself (no extra communication); rank 0 writes.

The pieces: ``start_run`` (distributed setup, folder checks, data, model, optimizer, resume),
``fit`` (the epochs: ``train_epoch``, ``validate_and_select``, checkpoints), ``final_test`` and
``write_metrics``; ``train`` chains them for one seed, ``train_seeds`` for several.
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

from amr_bench.errors import InputError, Problem, UsageError
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
from amr_bench_baselines.detr.predict import predict_records, predict_with_config

CACHE_LIMIT = 20000  # recordings; above this, features are read from disk each time


class RunFolderExists(UsageError):
    """The output folder exists and ``resume`` was not asked for (runs are never overwritten)."""


class CheckpointNotFound(UsageError):
    """A path given as a checkpoint (``--init``, ``predict RUN``) is neither a checkpoint nor a run folder."""


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
class TrainSettings:
    """Where one training run reads and writes, and how it reports (everything but the model config)."""

    data_root: Path
    out: Path
    device: str = "cpu"
    init: Path | None = None  # start from these weights (a checkpoint or a run folder)
    resume: bool = False  # continue ``out`` from ``out/last``
    progress: bool = True
    train_split: str = "train"
    val_split: str = "val"
    test_split: str | None = "test"  # scored with ``out/best`` at the end if ``ROOT/<split>.jsonl`` exists
    log: Callable[[str], None] | None = None


@dataclass
class RunResult:
    out: Path
    best_epoch: int
    best_metrics: dict[str, float]
    test_metrics: dict[str, float] | None
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Run:
    """The live state of one training run (built by ``start_run``)."""

    cfg: DetrConfig
    settings: TrainSettings
    dist: Distributed
    device: torch.device
    model: MomentDetr
    train_model: torch.nn.Module  # the model as trained (compiled and/or wrapped in DDP)
    optimizer: torch.optim.Optimizer
    criterion: SetCriterion
    store: Any
    train_ds: MomentDataset
    val_ds: MomentDataset
    meta: dict[str, Any]

    def say(self, message: str) -> None:
        if self.settings.log is not None and self.dist.main:
            self.settings.log(message)


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


def evaluate(
    model: MomentDetr, dataset: MomentDataset, device: torch.device, batch_size: int, cfg: DetrConfig | None = None
) -> dict[str, float]:
    """amr-bench's own scorer on the model's predictions (windows made as ``cfg.predict`` says)."""
    from amr_bench.scoring import score_records

    if cfg is not None:
        preds = predict_with_config(model, dataset, cfg, device, None if cfg.predict.batch_size else batch_size)
    else:
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
    """A checkpoint folder, a run folder (its ``best/``) or a file (an official ``.pth`` checkpoint)."""
    p = Path(path)
    if p.is_file():
        return p
    if is_checkpoint(p):
        return p
    if is_checkpoint(p / "best"):
        return p / "best"
    seeds = sorted(p.glob("seed-*/best"))
    hint = f" (a multi-seed run: pick one of {', '.join(str(s.parent) for s in seeds)})" if seeds else ""
    raise CheckpointNotFound(f"{p} is neither a checkpoint nor a run folder with best/{hint}")


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


def setup_distributed(device: str) -> tuple[Distributed, torch.device]:
    """The process group under ``torchrun`` (nccl on CUDA, gloo on CPU) and this process's device."""
    info = Distributed.from_env()
    dev = torch.device(device)
    if info.world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        if dev.type == "cuda":
            dev = torch.device("cuda", info.local_rank)
            torch.cuda.set_device(dev)
    return info, dev


def check_run_folder(out: Path, resume: bool, info: Distributed) -> None:
    """Refuse to overwrite a run; refuse to resume nothing. Every process checks before rank 0 writes."""
    if out.exists() and any(out.iterdir()) and not resume:
        raise RunFolderExists(
            f"{out} exists and is not empty: pass --resume to continue that run, or choose another --out"
        )
    if resume and not (out / "last").exists():
        raise RunFolderExists(f"nothing to resume: {out}/last does not exist")
    if info.world > 1:
        torch.distributed.barrier()


def initial_meta(cfg: DetrConfig, settings: TrainSettings, info: Distributed) -> dict[str, Any]:
    """What ``meta.json`` records about a run before its first epoch."""
    return {
        "amr_bench_version": _version(),
        "torch_version": torch.__version__,
        "model": cfg.model.name,
        "preset": cfg.preset,
        "seed": cfg.train.seed,
        "data_root": str(settings.data_root),
        "data_sha256": data_fingerprint(settings.data_root, [settings.train_split, settings.val_split]),
        "init": str(settings.init) if settings.init else None,
        "select_metric": cfg.train.select_metric,
        "world_size": info.world,
        "history": [],
        "best_epoch": -1,
        "best_value": -math.inf,
        "epoch": -1,
        "step": 0,
        "bad_evals": 0,
    }


def start_run(cfg: DetrConfig, settings: TrainSettings) -> Run:
    """Distributed setup, folder checks, datasets, model (fresh, ``--init`` or resumed) and optimizer."""
    info, dev = setup_distributed(settings.device)
    check_run_folder(settings.out, settings.resume, info)
    set_determinism(dev, cfg.train.deterministic)
    root = settings.data_root
    store = open_store(root)
    train_records = read_split(root, settings.train_split)
    val_records = read_split(root, settings.val_split)
    cache = len({r["vid"] for r in train_records}) <= CACHE_LIMIT
    train_ds = MomentDataset(train_records, store, cfg.data, train=True, seed=cfg.train.seed, cache=cache)
    val_ds = MomentDataset(val_records, store, cfg.data, train=False, cache=cache)
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model).to(dev)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    run = Run(cfg, settings, info, dev, model, model, optimizer, SetCriterion(cfg.loss), store, train_ds, val_ds, {})
    run.meta = initial_meta(cfg, settings, info)
    if settings.init is not None:
        missing, unexpected = load_weights_into(model, resolve_checkpoint(settings.init))
        if not set(dict(model.named_parameters())) - set(missing):
            raise CheckpointNotFound(
                f"--init {settings.init}: none of its tensors fit this model (an official checkpoint needs "
                f"--preset dcase2026; this run's model layout is {cfg.model.layout!r})"
            )
        run.say(
            f"initialised from {settings.init}"
            + (f"; not in it: {', '.join(missing)}" if missing else "")
            + (f"; ignored: {', '.join(unexpected)}" if unexpected else "")
        )
    if settings.resume:
        restore_last(run)
    run.train_model = wrap_for_training(model, cfg, info, dev)
    return run


def restore_last(run: Run) -> None:
    """Weights, AdamW state and metadata of ``out/last``."""
    import json

    from safetensors.torch import load_file

    last = run.settings.out / "last"
    run.model.load_state_dict(load_file(str(last / "model.safetensors"), device=str(run.device)))
    load_optimizer_state(last, run.model, run.optimizer)
    run.meta = json.loads((last / "meta.json").read_text())
    run.say(f"resuming {run.settings.out} after epoch {run.meta['epoch']}")


def wrap_for_training(model: MomentDetr, cfg: DetrConfig, info: Distributed, dev: torch.device) -> torch.nn.Module:
    """``torch.compile`` if asked, DistributedDataParallel under ``torchrun``."""
    wrapped: torch.nn.Module = model
    if cfg.train.compile:
        wrapped = torch.compile(model)  # type: ignore[assignment]
    if info.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(
            wrapped,
            device_ids=[dev.index] if dev.type == "cuda" else None,
            # the official tree's text position table is built and never used: it gets no gradient
            find_unused_parameters=cfg.model.layout == "qd-detr",
        )
    return wrapped


def train_epoch(run: Run, loader: Any, epoch: int, steps_per_epoch: int, bar: Progress, note: str) -> dict[str, Any]:
    """One pass over the training batches; returns the epoch's history entry (mean loss, lr)."""
    cfg, dev = run.cfg, run.device
    torch.manual_seed(int(np.random.default_rng([cfg.train.seed, epoch, 7]).integers(2**31)))
    run.model.train()
    use_bf16 = cfg.train.bf16 and dev.type == "cuda"
    losses: list[float] = []
    for batch in loader:
        batch = batch.to(dev)
        for group in run.optimizer.param_groups:
            group["lr"] = cfg.train.lr * lr_factor(cfg, run.meta["step"], steps_per_epoch)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16):
            outputs = run.train_model(**batch.model_inputs())
        loss = run.criterion(outputs, batch.targets)["total"]
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.train.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.train.grad_clip)
        run.optimizer.step()
        run.meta["step"] += 1
        losses.append(float(loss.detach()))
        bar.update(1, f"loss {losses[-1]:.3f}{note}")
    return {"epoch": epoch, "loss": float(np.mean(losses)), "lr": run.optimizer.param_groups[0]["lr"]}


def validate_and_select(run: Run, entry: dict[str, Any]) -> bool:
    """Score the validation split, keep ``out/best`` if it improved; True when early stopping is due."""
    cfg, meta = run.cfg, run.meta
    metrics = evaluate(run.model, run.val_ds, run.device, max(cfg.train.batch_size, 32), cfg)
    if cfg.train.select_metric not in metrics:
        raise ValueError(f"unknown selection metric {cfg.train.select_metric!r}; known: {', '.join(metrics)}")
    entry["val"] = metrics
    value = metrics[cfg.train.select_metric]
    if value > meta["best_value"]:
        meta.update(best_value=value, best_epoch=entry["epoch"], bad_evals=0, best_metrics=metrics)
        if run.dist.main:
            snapshot = {**meta, "epoch": entry["epoch"], "history": [*meta["history"], entry]}
            save_checkpoint(run.settings.out / "best", run.model, cfg, snapshot)
        return False
    meta["bad_evals"] += 1
    return cfg.train.patience > 0 and meta["bad_evals"] >= cfg.train.patience


def fit(run: Run) -> None:
    """The epochs from the one after ``meta['epoch']`` to ``train.epochs``: train, validate, checkpoint."""
    import json

    cfg, settings = run.cfg, run.settings
    sampler = PairedBatchSampler(len(run.train_ds), cfg.train.batch_size, cfg.train.seed, run.dist.rank, run.dist.world)
    loader = train_loader(run.train_ds, sampler, cfg.data.num_workers)
    steps_per_epoch = len(sampler)
    if steps_per_epoch == 0:
        path = str(settings.data_root / f"{settings.train_split}.jsonl")
        raise InputError(
            [
                Problem(
                    path, None, f"{len(run.train_ds)} queries: too few for one batch of {run.dist.world} process(es)"
                )
            ],
            f"the {settings.train_split!r} split has too few queries for one batch",
        )
    if run.dist.main:
        settings.out.mkdir(parents=True, exist_ok=True)
        (settings.out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2, sort_keys=True) + "\n")
    meta = run.meta
    bar = Progress(
        settings.progress and run.dist.main,
        cfg.train.epochs * steps_per_epoch,
        f"{cfg.model.name} seed {cfg.train.seed}",
    )
    bar.update(max(meta["epoch"] + 1, 0) * steps_per_epoch, "")
    note = ""
    for epoch in range(meta["epoch"] + 1, cfg.train.epochs):
        sampler.set_epoch(epoch)
        entry = train_epoch(run, loader, epoch, steps_per_epoch, bar, note)
        stop = False
        if (epoch + 1) % cfg.train.eval_every == 0 or epoch == cfg.train.epochs - 1:
            stop = validate_and_select(run, entry)
            note = f" | val {cfg.train.select_metric} {100 * entry['val'][cfg.train.select_metric]:.2f}"
        meta["history"].append(entry)
        meta["epoch"] = epoch
        if run.dist.main:
            save_checkpoint(settings.out / "last", run.model, cfg, meta, run.optimizer, {"step": meta["step"]})
        run.say(f"epoch {epoch}: loss {entry['loss']:.4f}{note}")
        if stop:
            run.say(f"early stop: no improvement of {cfg.train.select_metric} in {cfg.train.patience} evaluations")
            break
    bar.close()


def final_test(run: Run) -> dict[str, float] | None:
    """The test split's metrics under ``out/best`` (None without a test split or a best checkpoint)."""
    from safetensors.torch import load_file

    settings, cfg = run.settings, run.cfg
    split = settings.test_split
    best = settings.out / "best"
    if not split or not (settings.data_root / f"{split}.jsonl").is_file() or not best.exists():
        return None
    run.model.load_state_dict(load_file(str(best / "model.safetensors"), device=str(run.device)))
    test_ds = MomentDataset(read_split(settings.data_root, split), run.store, cfg.data, train=False, cache=False)
    return evaluate(run.model, test_ds, run.device, max(cfg.train.batch_size, 32), cfg)


def write_metrics(run: Run, result: RunResult) -> None:
    """``out/metrics.json``: the selected epoch, its validation metrics and the test metrics."""
    import json

    summary = {
        "best_epoch": result.best_epoch,
        "select_metric": run.cfg.train.select_metric,
        "preset": run.cfg.preset,
        "val": result.best_metrics,
        run.settings.test_split or "test": result.test_metrics,
        "seed": run.cfg.train.seed,
    }
    (run.settings.out / "metrics.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


def train(cfg: DetrConfig, settings: TrainSettings) -> RunResult:
    """Train one seed; writes ``out/config.json``, ``out/best``, ``out/last`` and ``out/metrics.json``."""
    run = start_run(cfg, settings)
    fit(run)
    meta = run.meta
    result = RunResult(
        settings.out, int(meta["best_epoch"]), dict(meta.get("best_metrics", {})), final_test(run), meta["history"]
    )
    if run.dist.main:
        write_metrics(run, result)
    return result


def train_run(cfg: DetrConfig, data_root: str | Path, out: str | Path, **options: Any) -> RunResult:
    """``train`` with the settings given as keywords (``device=``, ``resume=``, ``test_split=`` ...)."""
    return train(cfg, TrainSettings(Path(data_root), Path(out), **options))


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
            for s, r in zip(seeds, results, strict=True)
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
