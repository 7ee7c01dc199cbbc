"""``amr-bench leaderboard add|ingest|rank|render``, ``amr-bench compare`` and ``amr-bench demo``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from amr_bench.cli.app import app, err, handles_errors
from amr_bench.errors import InputError, UsageError

if TYPE_CHECKING:
    from amr_bench.leaderboard.ranking import RankSettings

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


def _settings(metric: str, seed: int, resamples: int, baseline: str | None, test: str) -> RankSettings:
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
    from amr_bench.leaderboard.results import add_file, benchmark_name, confirmation
    from amr_bench.leaderboard.store import Store

    truth, name = _load_gt(gt)
    bench = benchmark_name(truth, name)
    with Store(db) as store:
        added = add_file(store, submission, truth, team=team, system=system, benchmark=bench, baseline=baseline)
    if added.status != "ok":
        raise InputError(added.problems, f"{submission}: invalid; recorded as a failed attempt in {db}")
    print(confirmation(added, team=team, system=system, benchmark=bench))


@board.command("ingest")
@handles_errors
def ingest(
    package: Path = typer.Argument(..., exists=True, dir_okay=False, help="DCASE package zip."),
    gt: str = typer.Option(..., "--gt", help="NAME=PATH (e.g. dcase2026-eval=gt.jsonl) or DATASET/SPLIT."),
    check_only: bool = typer.Option(
        False, "--check-only", help="Run every check of a real ingest (scoring included); store nothing."
    ),
    db: Path = DB_OPTION,
) -> None:
    """Check, validate, score and store every system of a DCASE Task 6 package (all or nothing)."""
    from amr_bench.leaderboard import intake
    from amr_bench.leaderboard.results import benchmark_name
    from amr_bench.leaderboard.store import Store

    truth, name = _load_gt(gt)
    bench = benchmark_name(truth, name)
    checked = intake.check_package(package, truth)  # the same checks with or without --check-only
    stored = []
    if not check_only:
        with Store(db) as store:
            stored = intake.store_package(store, checked, bench)
    for note in checked.package.notes + [str(w) for w in checked.package.warnings]:
        err(note)
    for line in intake.confirmations(checked, stored, bench):
        print(line)


@board.command("rank")
@handles_errors
def rank(
    dataset: str | None = typer.Option(None, "--dataset", help="Benchmark name (castella/test); all if omitted."),
    metric: str = typer.Option("R1@0.7", "--metric"),
    baseline: str | None = typer.Option(None, "--baseline", help="TEAM/SYSTEM (or SYSTEM) to test against."),
    seed: int = typer.Option(0, "--seed"),
    resamples: int = typer.Option(1000, "--resamples"),
    test: str = typer.Option("bootstrap", "--test", help="bootstrap or signflip"),
    db: Path = DB_OPTION,
) -> None:
    """Print the ranking of every group (benchmark x ground-truth hash x metric signature)."""
    from amr_bench.leaderboard.ranking import format_table, rank_store
    from amr_bench.leaderboard.store import Store

    if not db.is_file():
        raise UsageError(f"no result store at {db}; add results first (amr-bench leaderboard add)")
    with Store(db, readonly=True) as store:
        rankings = rank_store(store, _settings(metric, seed, resamples, baseline, test), dataset)
    if not rankings:
        raise UsageError(f"no results for {dataset!r} in {db}")
    for r in rankings:
        print(f"== {r.group.benchmark}  (ground truth {r.group.gt_sha256[:12]}, {r.n_queries} queries)")
        print(format_table(r))
        for note in r.notes:
            err(note)


@board.command("render")
@handles_errors
def render(
    out: Path = typer.Option(Path("leaderboard-site"), "--out", help="Folder for the HTML pages."),
    metric: str = typer.Option("R1@0.7", "--metric"),
    baseline: str | None = typer.Option(None, "--baseline"),
    seed: int = typer.Option(0, "--seed"),
    resamples: int = typer.Option(1000, "--resamples"),
    db: Path = DB_OPTION,
) -> None:
    """Write the static site (index.html + one page per benchmark)."""
    from amr_bench.leaderboard.render import render_site
    from amr_bench.leaderboard.store import Store

    if not db.is_file():
        raise UsageError(f"no result store at {db}; add results first (amr-bench leaderboard add)")
    with Store(db, readonly=True) as store:
        files = render_site(store, out, _settings(metric, seed, resamples, baseline, "bootstrap"))
    print(f"wrote {len(files)} pages; open {files[0]}")


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
) -> None:
    """Build a fresh leaderboard offline: reference run + generated systems, ranked and rendered."""
    from amr_bench.leaderboard.demo import run_demo

    run_demo(out, quick=quick, echo=print)
