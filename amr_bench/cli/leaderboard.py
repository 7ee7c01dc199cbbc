"""``amr-bench leaderboard add|ingest|rank|render``, ``amr-bench compare`` and ``amr-bench demo``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from amr_bench.cli.app import app, err, handles_errors
from amr_bench.errors import InputError, UsageError

board = typer.Typer(help="The result store, DCASE package intake, ranking and the static site.", no_args_is_help=True)
app.add_typer(board, name="leaderboard")

DEFAULT_DB = Path("leaderboard.sqlite")
DB_OPTION = typer.Option(DEFAULT_DB, "--db", help="The SQLite result store (created on first use).")


def _load_gt(spec: str) -> tuple[object, str | None]:
    """``--gt castella/test`` or ``--gt NAME=PATH``; returns the ground truth and the name."""
    from amr_bench.groundtruth import load_ground_truth

    name = None
    if "=" in spec and not Path(spec).exists():
        name, spec = spec.split("=", 1)
        if not name:
            raise UsageError("--gt NAME=PATH needs a name before '='")
    return load_ground_truth(spec), name


def _settings(metric: str, seed: int, resamples: int, baseline: str | None, test: str):  # type: ignore[no-untyped-def]
    from amr_bench.leaderboard.ranking import RankSettings
    from amr_bench.metrics import THRESHOLD_KEYS

    known = {f"R1@{k}" for k in THRESHOLD_KEYS} | {f"mAP@{k}" for k in THRESHOLD_KEYS} | {"mAP"}
    if metric not in known:
        raise UsageError(f"unknown metric {metric!r}; use R1@0.5..R1@0.95, mAP@0.5..mAP@0.95 or mAP")
    if test not in ("bootstrap", "signflip"):
        raise UsageError("--test is 'bootstrap' or 'signflip'")
    if resamples < 100:
        raise UsageError("--resamples must be at least 100")
    breaks = tuple(m for m in ("R1@0.5", "mAP") if m != metric)
    return RankSettings(metric=metric, tie_breaks=breaks, seed=seed, resamples=resamples, baseline=baseline, test=test)  # type: ignore[arg-type]


@board.command("add")
@handles_errors
def add(
    submission: Path = typer.Argument(..., exists=True, dir_okay=False, help="Submission JSON Lines file."),
    gt: str = typer.Option(..., "--gt", help="Bundled DATASET/SPLIT, a file, or NAME=PATH."),
    team: str = typer.Option(..., "--team"),
    system: str = typer.Option(..., "--system"),
    baseline: bool = typer.Option(False, "--baseline", help="Mark the system as the baseline."),
    db: Path = DB_OPTION,
) -> None:
    """Score a submission and store it (the same file again is a no-op; a changed one a new version)."""
    from amr_bench.leaderboard.results import add_file, benchmark_name
    from amr_bench.leaderboard.store import Store

    truth, name = _load_gt(gt)
    with Store(db) as store:
        added = add_file(
            store, submission, truth, team=team, system=system, benchmark=benchmark_name(truth, name), baseline=baseline
        )
    if added.status != "ok":
        raise InputError(added.problems, f"{submission}: invalid; recorded as a failed entry in {db}")
    what = "stored" if added.outcome.created else "already stored (same file), nothing changed"
    print(f"{team}/{system} v{added.outcome.version}: {what}; R1@0.7 {100 * added.metrics['R1@0.7']:.2f}")


@board.command("ingest")
@handles_errors
def ingest(
    package: Path = typer.Argument(..., exists=True, dir_okay=False, help="DCASE package zip."),
    gt: str = typer.Option(..., "--gt", help="NAME=PATH (e.g. dcase2026-eval=gt.jsonl) or DATASET/SPLIT."),
    check_only: bool = typer.Option(False, "--check-only", help="Validate the package; store nothing."),
    db: Path = DB_OPTION,
) -> None:
    """Check, validate, score and store every system of a DCASE Task 6 package (all or nothing)."""
    from amr_bench.leaderboard import intake
    from amr_bench.leaderboard.results import benchmark_name
    from amr_bench.leaderboard.store import Store

    truth, name = _load_gt(gt)
    bench = benchmark_name(truth, name)
    if check_only:
        intake.ingest(None, package, truth, bench, check_only=True)
        print(f"{package}: valid package")
        return
    with Store(db) as store:
        added = intake.ingest(store, package, truth, bench)
    for a in added:
        print(f"submission {a.outcome.submission_id} v{a.outcome.version}: R1@0.7 {100 * a.metrics['R1@0.7']:.2f}")


@board.command("rank")
@handles_errors
def rank(
    dataset: str | None = typer.Option(None, "--dataset", help="Benchmark name (castella/test); all if omitted."),
    metric: str = typer.Option("R1@0.7", "--metric"),
    baseline: str | None = typer.Option(None, "--baseline", help="TEAM/SYSTEM (or SYSTEM) to test against."),
    seed: int = typer.Option(0, "--seed"),
    resamples: int = typer.Option(1000, "--resamples"),
    test: str = typer.Option("bootstrap", "--test", help="bootstrap or signflip"),
    fmt: str = typer.Option(
        "table", "--format", help="table (terminal), json, csv, markdown or latex: the data the site exports."
    ),
    db: Path = DB_OPTION,
) -> None:
    """Print the ranking of every group (benchmark x ground-truth hash x metric signature).

    Example: amr-bench leaderboard rank --dataset castella/val --baseline QD-DETR --format markdown
    """
    from amr_bench.leaderboard.exports import FORMATS, baseline_problem, render_rankings
    from amr_bench.leaderboard.ranking import rank_store
    from amr_bench.leaderboard.store import Store

    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")
    if not db.is_file():
        raise UsageError(f"no result store at {db}; add results first (amr-bench leaderboard add)")
    settings = _settings(metric, seed, resamples, baseline, test)
    with Store(db) as store:
        rankings = rank_store(store, settings, dataset)
    if not rankings:
        raise UsageError(f"no results for {dataset!r} in {db}")
    problem = baseline_problem(rankings, baseline)
    if problem:
        raise UsageError(problem)
    sys.stdout.write(render_rankings(rankings, settings, fmt))
    for r in rankings:
        for note in r.notes:
            err(f"{r.group.benchmark}: {note}")


@board.command("render")
@handles_errors
def render(
    out: Path = typer.Option(Path("leaderboard-site"), "--out", help="Folder for the HTML pages."),
    metric: str = typer.Option("R1@0.7", "--metric"),
    baseline: str | None = typer.Option(None, "--baseline"),
    seed: int = typer.Option(0, "--seed"),
    resamples: int = typer.Option(1000, "--resamples"),
    truths: list[Path] = typer.Option(
        [],
        "--gt",
        exists=True,
        dir_okay=False,
        help="Ground-truth file whose query texts and windows the per-query explorer shows (matched by hash; "
        "bundled splits are found without it). Repeatable.",
    ),
    db: Path = DB_OPTION,
) -> None:
    """Write the static site: the cross-dataset index, a page per benchmark and per system, results.json, CSVs.

    Example: amr-bench leaderboard render --db leaderboard.sqlite --out site --gt eval_gt.jsonl
    """
    from amr_bench.leaderboard.render import render_site
    from amr_bench.leaderboard.store import Store

    if not db.is_file():
        raise UsageError(f"no result store at {db}; add results first (amr-bench leaderboard add)")
    with Store(db) as store:
        files = render_site(store, out, _settings(metric, seed, resamples, baseline, "bootstrap"), ground_truths=truths)
    print(f"wrote {len(files)} files (pages, results.json, one CSV per benchmark); open {files[0]}")


@app.command()
@handles_errors
def compare(
    a: Path = typer.Argument(..., exists=True, dir_okay=False, help="System A's submission."),
    b: Path = typer.Argument(..., exists=True, dir_okay=False, help="System B's submission."),
    gt: str = typer.Option(..., "--gt", help="Ground truth: bundled DATASET/SPLIT or a file."),
    metric: str = typer.Option("R1@0.7", "--metric"),
    seed: int = typer.Option(0, "--seed"),
    resamples: int = typer.Option(1000, "--resamples"),
    permutations: int = typer.Option(10000, "--permutations"),
) -> None:
    """Paired significance between two systems: bootstrap CIs, paired bootstrap and sign-flip tests."""
    from amr_bench.leaderboard.compare import compare_files, format_comparison

    _settings(metric, seed, resamples, None, "bootstrap")
    truth, _ = _load_gt(gt)
    print(format_comparison(compare_files(a, b, truth, metric, seed, resamples, permutations)))


@app.command()
@handles_errors
def demo(
    out: Path = typer.Argument(Path("amr-bench-demo"), help="Output folder (store + site)."),
    quick: bool = typer.Option(False, "--quick", help="Fewer generated systems (for tests)."),
    force: bool = typer.Option(
        False, "--force", help="If OUT already holds a store, keep a backup copy of it and start a new one."
    ),
) -> None:
    """Build a new leaderboard offline: reference run, generated systems, a DCASE package; ranked and rendered.

    An existing OUT/leaderboard.sqlite is never touched: the demo refuses, or with --force keeps a
    backup copy first. Example: amr-bench demo amr-bench-demo
    """
    from amr_bench.leaderboard.demo import run_demo

    run_demo(out, quick=quick, echo=print, force=force)
