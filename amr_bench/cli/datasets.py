"""``amr-bench datasets list|check|download|register|features`` and ``simulate``/``simulate-audio``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from amr_bench.cli.app import app, err, handles_errors
from amr_bench.errors import InputError, Problem, UsageError, did_you_mean

datasets_app = typer.Typer(help="Bundled and user datasets: list, check, download, register.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")

SPEC_HELP = (
    "A split: a bundled DATASET/SPLIT (castella/test), a user NAME/SPLIT, a dataset "
    "folder's ROOT/SPLIT, or a JSONL file; with --data ROOT just the split name."
)


def _resolve(spec: str, data: Path | None) -> tuple[Path, bool]:
    """(file, has_windows) for a split spec."""
    from amr_bench.datasets.local import split_path
    from amr_bench.datasets.registry import resolve_ground_truth

    if data is not None:
        path = split_path(data, spec)
        if not path.is_file():
            raise UsageError(f"--data {data}: no {spec}.jsonl there")
        return path, True
    path, entry = resolve_ground_truth(spec)
    return path, entry.has_windows if entry is not None else True


@datasets_app.command("list", epilog="Example: amr-bench datasets list --json")
@handles_errors
def list_datasets(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every bundled dataset/split (queries, sha256, verified), its source, and user datasets."""
    from amr_bench.datasets.registry import dataset_info, sha256_file, splits, user_datasets

    rows: list[dict[str, Any]] = []
    for e in splits():
        ok = e.path.is_file() and sha256_file(e.path) == e.sha256
        dl = (dataset_info(e.dataset) or {}).get("download") or {}
        rows.append(
            {
                "split": e.name,
                "queries": e.queries,
                "windows": e.has_windows,
                "sha256": e.sha256,
                "bundled": e.file,
                "verified": ok,
                "zenodo_record": dl.get("zenodo_record"),
            }
        )
    users = {k: v for k, v in sorted(user_datasets().items())}
    if as_json:
        print(json.dumps({"bundled": rows, "user": users}, indent=2))
        return
    print(f"{'split':26} {'queries':>7}  {'windows':7}  {'sha256':14}  {'ok':3}  zenodo")
    for r in rows:
        print(
            f"{r['split']:26} {r['queries']:>7}  {'yes' if r['windows'] else 'no':7}  "
            f"{r['sha256'][:12]}..  {'yes' if r['verified'] else 'NO':3}  {r['zenodo_record'] or '-'}"
        )
    for name, u in users.items():
        print(f"{name + '/*':26} user dataset at {u['root']}")
    if not all(r["verified"] for r in rows):
        raise InputError(
            [Problem(r["bundled"], None, "bundled file does not match its sha256") for r in rows if not r["verified"]],
            "bundled ground truth modified",
        )


@datasets_app.command(
    "check", epilog="Example: amr-bench datasets check castella/train --write-clean castella_train_clean.jsonl"
)
@handles_errors
def check(
    spec: str = typer.Argument(..., help=SPEC_HELP),
    data: Path | None = typer.Option(None, "--data", help="Dataset folder ROOT."),
    write_clean: Path | None = typer.Option(
        None,
        "--write-clean",
        help="Write a cleaned copy here (a new file, never the checked one) and list every change.",
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when there are warnings."),
    limit: int = typer.Option(0, "--limit", min=0, help="Show at most this many findings (0: all)."),
) -> None:
    """Ground-truth defects as FILE:LINE warnings; nothing is changed unless --write-clean."""
    from amr_bench.datasets.checks import check_ground_truth, clean_ground_truth
    from amr_bench.outputs import check_output_file

    path, has_windows = _resolve(spec, data)
    if write_clean is not None:
        check_output_file(write_clean, "--write-clean", [("checked ground truth", path)])
    report = check_ground_truth(path, expect_windows=has_windows)
    shown = report.problems if limit <= 0 else report.problems[:limit]
    for p in shown:
        print(p)
    if len(shown) < len(report.problems):
        print(f"... and {len(report.problems) - len(shown)} more")
    kinds = ", ".join(f"{n} {k}" for k, n in report.counts().items()) or "no defects"
    print(f"{path}: {report.queries} queries: {kinds}")
    if report.errors:
        raise InputError([], f"{len(report.errors)} error(s) in {path}")
    if write_clean is not None:
        changes = clean_ground_truth(path, write_clean)
        for c in changes:
            print(f"changed: {c}")
        print(f"wrote {write_clean} ({len(changes)} change(s); qids never rewritten)")
    if strict and report.warnings:
        raise InputError([], f"{len(report.warnings)} warning(s) in {path} (--strict)")


@datasets_app.command("features", epilog="Example: amr-bench datasets features ./castella --split test")
@handles_errors
def features(
    root: Path = typer.Argument(..., help="Dataset folder ROOT.", exists=True, file_okay=False),
    split: str = typer.Option("test", "--split", help="Split name: ROOT/<split>.jsonl lists the queries."),
    read: bool = typer.Option(True, "--read/--no-read", help="Open every file and check its array and shape."),
) -> None:
    """Check that every vid/qid of ROOT/<split>.jsonl has readable features; say which framing
    (T = floor(duration) frames, T+1, other) the audio frame counts imply."""
    from amr_bench.datasets.features import FeatureStore, store_framing_census
    from amr_bench.datasets.local import load_split

    store = FeatureStore(root)
    records = load_split(root, split)
    problems = store.missing(records)
    if read and not problems:
        for vid in sorted({str(r["vid"]) for r in records}):
            try:
                store.audio(vid)
            except InputError as exc:
                problems.extend(exc.problems)
        for r in records:
            try:
                store.text(r["qid"])
            except InputError as exc:
                problems.extend(exc.problems)
    if problems:
        raise InputError(problems, f"{len(problems)} feature problem(s) under {root}")
    print(f"{root}: features of {len(records)} queries in {split} present" + (" and readable" if read else ""))
    if read:
        print(f"framing: {store_framing_census(store, records).verdict()}")


@datasets_app.command("download", epilog="Example: amr-bench datasets download castella --root ./castella")
@handles_errors
def download(
    name: str = typer.Argument(..., help="A bundled dataset name (castella, clotho-moment, dcase2026)."),
    root: Path = typer.Option(..., "--root", help="Folder to put the dataset in."),
    api: str | None = typer.Option(
        None, "--api", help="Zenodo API base (default from the registry or $AMR_BENCH_ZENODO_API)."
    ),
    extract: bool = typer.Option(True, "--extract/--no-extract", help="Unpack the archives after download."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Fetch a dataset's features from its public home: resumable, verified, safely extracted."""
    from amr_bench.datasets.download import download_dataset
    from amr_bench.datasets.registry import registry
    from amr_bench.outputs import check_output_folder

    known = sorted(registry()["datasets"])
    if name not in known:
        raise UsageError(f"unknown dataset {name!r}{did_you_mean(name, known)}; bundled: {', '.join(known)}")
    check_output_folder(root, "--root")

    report = download_dataset(name, root, api=api, progress=not quiet, extract=extract)
    for p in report.downloaded:
        print(f"downloaded {p}")
    for p in report.skipped:
        print(f"already complete {p}")
    print(f"extracted {len(report.extracted)} file(s) into {report.root}")
    for p in report.ground_truth:
        print(f"ground truth {p}")
    for note in report.notes:
        err(f"note: {note}")


@datasets_app.command("register", epilog="Example: amr-bench datasets register mysim ./sim   (then: --gt mysim/test)")
@handles_errors
def register(
    name: str = typer.Argument(..., help="Name to address the dataset by (NAME/SPLIT)."),
    root: Path = typer.Argument(..., help="Dataset folder holding <split>.jsonl files."),
    title: str | None = typer.Option(None, "--title", help="A human-readable title."),
) -> None:
    """Register a dataset folder (ROOT/<split>.jsonl + features) as NAME: then NAME/SPLIT works."""
    from amr_bench.datasets.local import local_splits
    from amr_bench.datasets.registry import register_user_dataset

    if not root.is_dir() or not local_splits(root):
        raise UsageError(f"{root} is not a dataset folder (no <split>.jsonl in it)")
    path = register_user_dataset(name, root, title)
    print(f"registered {name} -> {root.resolve()} in {path} (splits: {', '.join(local_splits(root))})")


def _progress_bar(total: int, quiet: bool, label: str) -> Any:
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=quiet or not sys.stderr.isatty(),
    )


@app.command(epilog="Example: amr-bench simulate ./sim --recordings 200 --seed 1")
@handles_errors
def simulate(
    out: Path = typer.Argument(..., help="Output dataset folder (new or empty)."),
    recordings: int = typer.Option(
        500, "--recordings", min=3, max=1_000_000, help="Recordings over train/val/test (7:1:2)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (a non-negative integer)."),
    style: str = typer.Option("clotho-moment", "--style", help="clotho-moment or castella."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a simulated dataset in OUT."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """A complete simulated benchmark (features, ground truth, projection heads), offline."""
    from amr_bench.datasets.simulate import STYLES
    from amr_bench.datasets.simulate import simulate as run
    from amr_bench.outputs import check_output_folder

    if style not in STYLES:
        raise UsageError(f"--style: unknown style {style!r}{did_you_mean(style, STYLES)}; choose {', '.join(STYLES)}")
    check_output_folder(out, "OUT")

    with _progress_bar(recordings, quiet, "simulating") as bar:
        task = bar.add_task("simulate", total=recordings)
        summary = run(
            out,
            recordings=recordings,
            seed=seed,
            style=style,
            overwrite=overwrite,
            progress=lambda n: bar.update(task, completed=n),
        )
    st = summary.statistics
    print(
        f"wrote {out}: {sum(summary.recordings.values())} recordings, "
        f"{sum(summary.queries.values())} queries " + " ".join(f"{k}={v}" for k, v in summary.queries.items())
    )
    print(
        f"gap mean (drawn) {st['gap_mean_drawn_s']} s, moment length median "
        f"{st['moment_length_s']['p50']} s, windows/query {st['windows_per_query']['mean']}"
    )


@app.command(
    "simulate-audio",
    epilog="Example: amr-bench simulate-audio --foreground clips.jsonl --background ./walks --out ./mix",
)
@handles_errors
def simulate_audio(
    foreground: Path = typer.Option(
        ..., "--foreground", exists=True, dir_okay=False, help='JSONL of {"audio": PATH, "caption": TEXT}.'
    ),
    background: Path = typer.Option(..., "--background", help="Folder of long background recordings."),
    out: Path = typer.Option(..., "--out", help="Output folder (audio/ + <split>.jsonl)."),
    recordings: int = typer.Option(10, "--recordings", min=1, max=1_000_000, help="Recordings to mix."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (a non-negative integer)."),
    sample_rate: int = typer.Option(44100, "--sample-rate", min=1000, max=384_000, help="Output sample rate, Hz."),
    duration: float = typer.Option(60.0, "--duration", min=1.0, max=86_400.0, help="Seconds per recording."),
    gap_mean: float = typer.Option(30.0, "--gap-mean", min=0.001, max=86_400.0, help="Mean exponential gap, seconds."),
    split: str = typer.Option("test", "--split", help="Name of the JSONL written."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Algorithm 1 on real audio: foreground clips overlaid on 1-minute background segments."""
    from amr_bench.datasets.simulate_audio import simulate_audio as run
    from amr_bench.names import check_name
    from amr_bench.outputs import check_output_folder

    check_name(split, "--split")
    check_output_folder(out, "--out", [("--foreground file", foreground), ("--background folder", background)])

    with _progress_bar(recordings, quiet, "mixing") as bar:
        task = bar.add_task("mix", total=recordings)
        summary = run(
            foreground,
            background,
            out,
            recordings=recordings,
            seed=seed,
            sample_rate=sample_rate,
            duration=duration,
            gap_mean=gap_mean,
            split=split,
            progress=lambda n: bar.update(task, completed=n),
        )
    print(
        f"wrote {summary['recordings']} recordings, {summary['queries']} queries: "
        f"{out / 'audio'}, {summary['ground_truth']}"
    )
