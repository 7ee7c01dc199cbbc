"""``amr-bench train am-detr|lcs-detr`` and ``amr-bench predict``.

torch is imported inside the command functions only (the ``baselines`` extra). Under ``torchrun``
(``torchrun --nproc-per-node 8 -m amr_bench train am-detr ...``) every process runs the same
command; DistributedDataParallel is set up from the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from amr_bench.cli.app import app, err, handles_errors
from amr_bench.errors import UsageError

train_app = typer.Typer(help="Train a DETR baseline (AM-DETR, LCS-DETR) on a dataset folder.", no_args_is_help=True)
app.add_typer(train_app, name="train")

MODEL_NAMES = ("am-detr", "lcs-detr")
PRESET_NAMES = "dcase2026, lighthouse, paper, lcs-report, lcs-code, sim-cpu, v0"


def _require_torch() -> None:
    try:
        import safetensors  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"training needs the baselines extra (pip install 'amr-bench[baselines]'): {exc}") from None


def _make_train_command(model_name: str) -> Callable[..., None]:
    default_preset = "dcase2026" if model_name == "am-detr" else "lcs-report"

    def command(
        data: Path = typer.Option(..., "--data", help="Dataset folder: train/val(/test).jsonl, clap/, clap_text/."),
        out: Path = typer.Option(..., "--out", help="Run folder (never overwritten; see --resume)."),
        preset: str | None = typer.Option(
            None, "--preset", help=f"Starting configuration: {PRESET_NAMES} (default {default_preset})."
        ),
        device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1 ..."),
        epochs: int | None = typer.Option(None, "--epochs", help="Default: the preset's."),
        seed: int = typer.Option(0, "--seed", min=0, help="Random seed of initialisation, batches and sampling."),
        seeds: str | None = typer.Option(
            None,
            "--seeds",
            help="Several seeds, e.g. 0,1,2,3,4: runs in OUT/seed-S and mean ± std in OUT/summary.json.",
        ),
        batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Default: the preset's."),
        lr: float | None = typer.Option(None, "--lr", help="AdamW learning rate (default: the preset's)."),
        select: str | None = typer.Option(
            None, "--select", help="Validation metric for model selection (default: the preset's, e.g. mAP)."
        ),
        init: Path | None = typer.Option(
            None,
            "--init",
            help="Start from the weights of a checkpoint, run folder or official .pth (pre-training -> fine-tuning).",
        ),
        resume: bool = typer.Option(False, "--resume", help="Continue OUT from its last checkpoint."),
        config: Path | None = typer.Option(None, "--config", help="A config.json to start from (e.g. a run's)."),
        set_: list[str] = typer.Option(
            [], "--set", help="Override any config value: model.hidden=128, train.schedule=cosine ..."
        ),
        threads: int | None = typer.Option(None, "--threads", help="CPU threads for torch."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or per-epoch lines."),
    ) -> None:
        _require_torch()
        import torch

        from amr_bench.outputs import check_output_folder
        from amr_bench_baselines.detr.settings import parse_overrides, parse_seeds, resolve_config, run_training
        from amr_bench_baselines.detr.train import TrainSettings

        check_output_folder(out, "--out")

        cfg = resolve_config(
            model_name,
            preset,
            config,
            parse_overrides(set_),
            **{
                "train.seed": seed,
                "train.epochs": epoch_or_none(epochs),
                "train.batch_size": batch_size,
                "train.lr": lr,
                "train.select_metric": select,
            },
        )
        seed_list = parse_seeds(seeds)
        if threads:
            torch.set_num_threads(threads)
        _check_device(device)
        settings = TrainSettings(data, out, device, init, resume, progress=not quiet, log=None if quiet else err)
        print(run_training(cfg, settings, seed_list))

    command.__doc__ = (
        f"Train {model_name.upper()} (preset {default_preset} unless --preset; writes OUT/config.json, "
        "OUT/best, OUT/last, OUT/metrics.json)."
    )
    return command


def epoch_or_none(epochs: int | None) -> int | None:
    if epochs is not None and epochs < 1:
        raise UsageError(f"--epochs must be at least 1; got {epochs}")
    return epochs


def _check_device(device: str) -> None:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {device}: CUDA is not available here (torch {torch.__version__}); use --device cpu")


for _name in MODEL_NAMES:
    _example = f"Example: amr-bench train {_name} --data sim --out runs/{_name} --preset sim-cpu --seeds 0,1,2"
    train_app.command(_name, epilog=_example)(handles_errors(_make_train_command(_name)))


@app.command(epilog="Example: amr-bench predict runs/am-detr --data sim --split test --out am-detr_test.jsonl")
@handles_errors
def predict(
    run: Path = typer.Argument(
        ..., help="A run folder (uses its best/), a checkpoint folder, or an official DCASE baseline .pth checkpoint."
    ),
    data: Path = typer.Option(..., "--data", help="Dataset folder with <split>.jsonl and the features."),
    split: str = typer.Option("test", "--split", help="Which DATA/<split>.jsonl to predict."),
    out: Path = typer.Option(..., "--out", help="Submission JSON Lines file to write."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1 ..."),
    batch_size: int | None = typer.Option(
        None,
        "--batch-size",
        min=1,
        help="Queries per forward pass (default: the preset's; dcase2026: the official 100; else 64).",
    ),
    no_scores: bool = typer.Option(
        False, "--no-scores", help="DCASE format: windows [start, end] in rank order, no scores."
    ),
    saliency: bool = typer.Option(False, "--saliency", help="Add per-frame saliency (pred_saliency_scores)."),
    max_frames: int | None = typer.Option(
        None, "--max-frames", help="Cut recordings to this many frames (default: whole recordings)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
) -> None:
    """Write a submission (10 windows per query, seconds, sorted by score) from a trained DETR."""
    _require_torch()
    from amr_bench.outputs import check_output_file
    from amr_bench_baselines.detr.checkpoint import load_checkpoint
    from amr_bench_baselines.detr.data import MomentDataset, open_store, read_split
    from amr_bench_baselines.detr.predict import predict_with_config
    from amr_bench_baselines.detr.train import resolve_checkpoint
    from amr_bench_baselines.zeroshot.submission import write_submission

    if out.exists() and not force:
        raise UsageError(f"{out} exists; pass --force to overwrite it or choose another --out")
    check_output_file(out, "--out", [("split file", data / f"{split}.jsonl")])
    folder = resolve_checkpoint(run)
    if folder.is_file():
        from amr_bench_baselines.detr.official_checkpoint import load_official_model

        model, cfg, _meta = load_official_model(folder, device)
    else:
        model, cfg, _meta = load_checkpoint(folder, device)
    dataset = MomentDataset(read_split(data, split), open_store(data), cfg.data, train=False, cache=False)
    records = predict_with_config(
        model,
        dataset,
        cfg,
        device,
        batch_size=batch_size,
        with_scores=not no_scores,
        with_saliency=saliency,
        max_frames=max_frames,
    )
    write_submission(records, out)
    print(f"{out}: {len(records)} queries from {folder}")


@app.command("export-official", epilog="Example: amr-bench export-official runs/am-detr --out best_checkpoint.pth")
@handles_errors
def export_official_command(
    run: Path = typer.Argument(
        ..., help="A run folder (uses its best/) or a checkpoint folder of the dcase2026 preset."
    ),
    out: Path = typer.Option(..., "--out", help="The .pth file to write (the official train.py layout)."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
) -> None:
    """Write a checkpoint that the official DCASE 2026 baseline's evaluate.py loads (--model_path)."""
    _require_torch()
    from amr_bench.outputs import check_output_file
    from amr_bench_baselines.detr.checkpoint import load_checkpoint
    from amr_bench_baselines.detr.official_checkpoint import (
        config_yml_changes,
        export_official,
        settings_official_cannot_express,
    )
    from amr_bench_baselines.detr.train import resolve_checkpoint

    if out.exists() and not force:
        raise UsageError(f"{out} exists; pass --force to overwrite it or choose another --out")
    check_output_file(out, "--out", [])
    folder = resolve_checkpoint(run)
    if folder.is_file():
        raise UsageError(f"{run} is a file: export-official takes an amr-bench run or checkpoint folder")
    model, cfg, meta = load_checkpoint(folder, "cpu")
    if cfg.model.layout != "qd-detr":
        raise UsageError(
            f"{folder} is a {cfg.preset or 'custom'} model ({cfg.model.layout} layout): only --preset dcase2026 "
            "runs have the official network's tensors"
        )
    export_official(model, cfg, out, int(meta.get("epoch", -1)))
    print(f"{out}: official checkpoint of {folder} (load it with the official evaluate.py --model_path {out})")
    changes = config_yml_changes(cfg)
    if changes:
        lines = "\n".join(f"  {name}: {mine}    (config.yml: {stock})" for name, (mine, stock) in changes.items())
        print(f"the official config.yml must say (it builds the network from there, not from {out}):\n{lines}")
    foreign = settings_official_cannot_express(cfg)
    if foreign:
        err(
            f"warning: {folder} uses settings the official code does not have ({', '.join(foreign)}): "
            "its evaluate.py will not predict as amr-bench predict does"
        )


@app.command(
    epilog="Example: amr-bench reproduce am-detr --data feats/castella --pretrain-data feats/clotho-moment "
    "--seeds 0,1,2,3,4 --device cuda"
)
@handles_errors
def reproduce(
    model: str = typer.Argument(..., help="am-detr or lcs-detr."),
    data: Path = typer.Option(..., "--data", help="Dataset folder: train/val.jsonl, test*.jsonl, clap/, clap_text/."),
    recipe: str | None = typer.Option(
        None,
        "--recipe",
        help="dcase2026 (am-detr's default: CASTELLA only, and with --pretrain-data Clotho-Moment pre-training "
        "+ CASTELLA fine-tuning, beside the DCASE 2026 baseline's numbers) or single (one run per seed on DATA).",
    ),
    pretrain_data: Path | None = typer.Option(
        None, "--pretrain-data", help="dcase2026 recipe: the Clotho-Moment folder to pre-train on."
    ),
    preset: str | None = typer.Option(
        None, "--preset", help=f"{PRESET_NAMES} (default: dcase2026 for the dcase2026 recipe, else the model's)."
    ),
    seeds: str = typer.Option("0,1,2,3,4", "--seeds", help="Comma-separated seeds (one training run each)."),
    out: Path | None = typer.Option(None, "--out", help="Output folder (default reproduce-MODEL-PRESET)."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1 ..."),
    set_: list[str] = typer.Option([], "--set", help="Override any config value (model.hidden=64 ...)."),
    published: str | None = typer.Option(
        None,
        "--published",
        help="single recipe: published entry to compare test.jsonl with (default: guessed from DATA's name).",
    ),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads for torch."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or per-epoch lines."),
) -> None:
    """Train every seed (and recipe), predict and score, and print mean ± std beside the published numbers."""
    _require_torch()
    import torch

    from amr_bench.outputs import check_output_folder
    from amr_bench_baselines.detr.dcase_recipes import DCASE_PRESET, reproduce_dcase
    from amr_bench_baselines.detr.reproduce import reproduce as run_reproduction
    from amr_bench_baselines.detr.settings import parse_overrides, parse_seeds, resolve_config

    if model not in MODEL_NAMES:
        raise UsageError(f"unknown model {model!r}; known: {', '.join(MODEL_NAMES)}")
    recipe = recipe or ("dcase2026" if model == "am-detr" else "single")
    if recipe not in ("dcase2026", "single"):
        raise UsageError(f"--recipe: expected dcase2026 or single; got {recipe!r}")
    if recipe == "dcase2026" and model != "am-detr":
        raise UsageError("--recipe dcase2026 is the AM-DETR (QD-DETR) baseline's; use --recipe single for lcs-detr")
    if recipe == "dcase2026" and published is not None:
        raise UsageError("--published is for --recipe single; the dcase2026 recipe compares with the DCASE numbers")
    if recipe == "single" and pretrain_data is not None:
        raise UsageError("--pretrain-data is for --recipe dcase2026")
    if recipe == "dcase2026" and preset is None:
        preset = DCASE_PRESET
    cfg = resolve_config(model, preset, None, parse_overrides(set_))
    seed_list = parse_seeds(seeds) or []
    if threads:
        torch.set_num_threads(threads)
    _check_device(device)
    folder = out or Path(f"reproduce-{model}-{cfg.preset}")
    check_output_folder(folder, "--out")
    log = None if quiet else err
    if recipe == "dcase2026":
        result = reproduce_dcase(cfg, data, folder, seed_list, pretrain_data, device, progress=not quiet, log=log)
        text = result.table
    else:
        text = run_reproduction(model, cfg, data, folder, seed_list, device, published, not quiet, log).table
    print(text, end="")
    print(f"written: {folder / 'reproduce.md'}, {folder / 'reproduce.json'}")
