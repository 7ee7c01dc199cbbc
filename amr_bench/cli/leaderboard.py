"""``amr-bench leaderboard add|ingest|rank|render``, ``amr-bench compare`` and ``amr-bench demo``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from amr_bench.cli.app import (
    GT_AUTO_HELP,
    GT_HELP,
    METRIC_HELP,
    RESAMPLES_HELP,
    SEED_HELP,
    app,
    err,
    handles_errors,
    say,
)
from amr_bench.cli.inputs import ground_truth_for, hints_on_failure, readable_input
from amr_bench.errors import InputError, UsageError, did_you_mean
from amr_bench.stats import MAX_PERMUTATIONS, MAX_RESAMPLES, MIN_RESAMPLES

if TYPE_CHECKING:
    from amr_bench.leaderboard.ranking import RankSettings

board = typer.Typer(help="The result store, DCASE package intake, ranking and the static site.", no_args_is_help=True)
app.add_typer(board, name="leaderboard")

DEFAULT_DB = Path("leaderboard.sqlite")
DB_ENV = "AMR_BENCH_DB"
DB_OPTION = typer.Option(
    DEFAULT_DB, "--db", envvar=DB_ENV, help=f"The SQLite result store (created on first use; or set {DB_ENV})."
)
STORED_DB_OPTION = typer.Option(
    None,
    "--db",
    envvar=DB_ENV,
    show_default=False,
    help=f"The SQLite result store (an existing one). Default: ${DB_ENV}, else ./{DEFAULT_DB}, else the one "
    f"store in a subfolder of this folder (amr-bench-demo/{DEFAULT_DB} after amr-bench demo).",
)
BENCH_GT_HELP = GT_HELP + " NAME=PATH names the benchmark of a file (dcase2026-eval=gt.jsonl)."
TESTS = ("bootstrap", "signflip")


def _seed_option() -> Any:
    return typer.Option(0, "--seed", min=0, help=SEED_HELP)


def _resamples_option() -> Any:
    return typer.Option(1000, "--resamples", min=MIN_RESAMPLES, max=MAX_RESAMPLES, help=RESAMPLES_HELP)


def _load_gt(spec: str) -> tuple[Any, str | None]:
    """``--gt castella/test`` or ``--gt NAME=PATH``; returns the ground truth and the name."""
    from amr_bench.groundtruth import load_ground_truth
    from amr_bench.names import check_benchmark_name

    name = None
    if "=" in spec and not Path(spec).exists():
        name, spec = spec.split("=", 1)
        check_benchmark_name(name, "--gt NAME=PATH: the benchmark name")
    return load_ground_truth(spec), name


def _settings(metric: str, seed: int, resamples: int, baseline: str | None, test: str) -> RankSettings:
    from amr_bench.leaderboard.ranking import RankSettings
    from amr_bench.metrics import THRESHOLD_KEYS

    known = [f"R1@{k}" for k in THRESHOLD_KEYS] + [f"mAP@{k}" for k in THRESHOLD_KEYS] + ["mAP"]
    if metric not in known:
        raise UsageError(
            f"--metric: unknown metric {metric!r}{did_you_mean(metric, known)}; "
            "use R1@0.5..R1@0.95, mAP@0.5..mAP@0.95 or mAP"
        )
    if test not in TESTS:
        raise UsageError(f"--test is 'bootstrap' or 'signflip', not {test!r}{did_you_mean(test, TESTS)}")
    if seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {seed}")
    if not MIN_RESAMPLES <= resamples <= MAX_RESAMPLES:
        raise UsageError(f"--resamples must be between {MIN_RESAMPLES} and {MAX_RESAMPLES:,}, got {resamples}")
    breaks = tuple(m for m in ("R1@0.5", "mAP") if m != metric)
    return RankSettings(metric=metric, tie_breaks=breaks, seed=seed, resamples=resamples, baseline=baseline, test=test)  # type: ignore[arg-type]


def _require_baseline(baseline: str | None, rankings: list[Any]) -> None:
    """``--baseline`` must name a stored system (with a "did you mean" when it does not)."""
    if not baseline:
        return
    names = {row.label for r in rankings for row in r.rows} | {row.entry.system for r in rankings for row in r.rows}
    if baseline not in names:
        raise UsageError(f"--baseline {baseline!r}: no such system in the store{did_you_mean(baseline, sorted(names))}")


def existing_store(db: Path | None) -> Path:
    """The store a reading command uses: ``--db`` (or ``$AMR_BENCH_DB``), else ``./leaderboard.sqlite``,
    else the only ``*/leaderboard.sqlite`` one folder down (the demo's); an error naming the way out otherwise."""
    if db is not None:
        if not db.is_file():
            raise UsageError(f"--db {db}: no result store there; add results first (amr-bench leaderboard add)")
        return db
    if DEFAULT_DB.is_file():
        return DEFAULT_DB
    try:
        found = sorted(p for p in Path().glob(f"*/{DEFAULT_DB}") if p.is_file())
    except OSError:
        found = []
    if len(found) == 1:
        err(f"note: using the result store {found[0]} (the only one here; --db or ${DB_ENV} chooses another)")
        return found[0]
    if found:
        listed = ", ".join(str(p) for p in found[:10]) + (f" and {len(found) - 10} more" if len(found) > 10 else "")
        raise UsageError(
            f"no ./{DEFAULT_DB} and {len(found)} stores in subfolders ({listed}): pass --db PATH or set ${DB_ENV}"
        )
    raise UsageError(
        f"no result store: ./{DEFAULT_DB} does not exist and no subfolder holds one. Pass --db PATH or set "
        f"${DB_ENV}; after `amr-bench demo DIR` the store is DIR/{DEFAULT_DB} "
        f"(amr-bench leaderboard rank --db amr-bench-demo/{DEFAULT_DB})"
    )


def _store_path(db: Path) -> None:
    """A store to write: an existing regular file, or a new file in an existing writable folder."""
    from amr_bench.outputs import check_output_file

    check_output_file(db, "--db")


@board.command(
    "add",
    epilog="Example: amr-bench leaderboard add run.jsonl --team kuleuven --system am-detr --db leaderboard.sqlite",
)
@handles_errors
def add(
    submission: Path = typer.Argument(..., exists=True, dir_okay=False, help="Submission JSON Lines file."),
    gt: str | None = typer.Option(
        None, "--gt", help=GT_AUTO_HELP + " NAME=PATH names the benchmark of a file (dcase2026-eval=gt.jsonl)."
    ),
    team: str = typer.Option(..., "--team", help="Team name (printable text, no '/', at most 100 characters)."),
    system: str = typer.Option(..., "--system", help="System name (printable text, no '/', at most 100 characters)."),
    baseline: bool = typer.Option(False, "--baseline", help="Mark the system as the baseline."),
    db: Path = DB_OPTION,
) -> None:
    """Score a submission and store it (the same file again is a no-op; a changed one a new version)."""
    from amr_bench.leaderboard.results import add_file, benchmark_name, confirmation
    from amr_bench.leaderboard.store import Store
    from amr_bench.names import check_name

    check_name(team, "--team")
    check_name(system, "--system")
    readable_input(submission, "SUBMISSION")
    _store_path(db)
    detected = gt is None
    gt = ground_truth_for(submission, gt)
    with hints_on_failure(submission, gt):
        truth, name = _load_gt(gt)
        if detected and truth.split is None:
            name = gt  # a registered NAME/SPLIT: the benchmark is named after it
        bench = benchmark_name(truth, name)
        with Store(db) as store:
            added = add_file(store, submission, truth, team=team, system=system, benchmark=bench, baseline=baseline)
        if added.status != "ok":
            raise InputError(added.problems, f"{submission}: invalid; recorded as a failed attempt in {db}")
    say(confirmation(added, team=team, system=system, benchmark=bench))


@board.command(
    "ingest",
    epilog="Example: amr-bench leaderboard ingest Team_KUL_task6.zip --gt dcase2026-eval=gt.jsonl --check-only",
)
@handles_errors
def ingest(
    package: Path = typer.Argument(..., exists=True, dir_okay=False, help="DCASE package zip."),
    gt: str = typer.Option(..., "--gt", help=BENCH_GT_HELP),
    check_only: bool = typer.Option(
        False, "--check-only", help="Run every check of a real ingest (scoring included); store nothing."
    ),
    db: Path = DB_OPTION,
) -> None:
    """Check, validate, score and store every system of a DCASE Task 6 package (all or nothing)."""
    from amr_bench.leaderboard import intake
    from amr_bench.leaderboard.results import benchmark_name
    from amr_bench.leaderboard.store import Store

    readable_input(package, "PACKAGE")
    if not check_only:
        _store_path(db)
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
        say(line)


@board.command(
    "rank",
    epilog="Example: amr-bench leaderboard rank --dataset castella/test --format latex --compact --exclude-synthetic",
)
@handles_errors
def rank(
    dataset: str | None = typer.Option(None, "--dataset", help="Benchmark name (castella/test); all if omitted."),
    metric: str = typer.Option("R1@0.7", "--metric", help=METRIC_HELP),
    baseline: str | None = typer.Option(None, "--baseline", help="TEAM/SYSTEM (or SYSTEM) to test against."),
    seed: int = _seed_option(),
    resamples: int = _resamples_option(),
    test: str = typer.Option("bootstrap", "--test", help="Paired test between neighbours: bootstrap or signflip."),
    fmt: str = typer.Option(
        "table", "--format", help="table (terminal), json, csv, markdown or latex: the data the site exports."
    ),
    compact: bool = typer.Option(
        False, "--compact", help="With --format latex: rank, system, the metric with its interval, tie-breaks."
    ),
    exclude_invalid: bool = typer.Option(False, "--exclude-invalid", help="Leave out entries that failed validation."),
    exclude_synthetic: bool = typer.Option(
        False, "--exclude-synthetic", help="Leave out synthetic entries before ranking (the rest is re-ranked)."
    ),
    db: Path | None = STORED_DB_OPTION,
) -> None:
    """Print the ranking of every group (benchmark x ground-truth hash x metric signature)."""
    from amr_bench.leaderboard.exports import FORMATS, baseline_problem, render_rankings, tests_note
    from amr_bench.leaderboard.ranking import rank_store
    from amr_bench.leaderboard.store import Store

    if fmt not in FORMATS:
        raise UsageError(
            f"--format: unknown format {fmt!r}; use one of {', '.join(FORMATS)}{did_you_mean(fmt, FORMATS)}"
        )
    if compact and fmt != "latex":
        raise UsageError(f"--compact is a form of --format latex, not of --format {fmt}")
    settings = _settings(metric, seed, resamples, baseline, test)
    db = existing_store(db)
    with Store(db, readonly=True) as store:
        rankings = rank_store(store, settings, dataset, exclude_invalid, exclude_synthetic)
        if not rankings:
            known = sorted({g.benchmark for g in store.groups()})
            if dataset is None:
                raise UsageError(
                    f"--db {db}: nothing to rank: no valid result that is not withdrawn "
                    f"(amr-bench leaderboard versions --db {db} lists what is stored)"
                )
            raise UsageError(
                f"--dataset: no results for {dataset!r} in {db}{did_you_mean(dataset, known)}"
                + (f"; stored: {', '.join(known)}" if known else "")
            )
    problem = baseline_problem(rankings, baseline)
    if problem:
        raise UsageError(problem)
    sys.stdout.write(render_rankings(rankings, settings, fmt, compact))
    if fmt == "table":  # what the tier and p(next) columns test, beside the table (stdout stays the table)
        for note in dict.fromkeys(tests_note(r) for r in rankings):
            err(f"note: {note}")
    for r in rankings:
        for note in r.notes:
            err(f"{r.group.benchmark}: {note}")


@board.command("render", epilog="Example: amr-bench leaderboard render --out site --gt eval_gt.jsonl")
@handles_errors
def render(
    out: Path = typer.Option(Path("leaderboard-site"), "--out", help="Folder for the HTML pages."),
    metric: str = typer.Option("R1@0.7", "--metric", help=METRIC_HELP),
    baseline: str | None = typer.Option(None, "--baseline", help="TEAM/SYSTEM (or SYSTEM) to test against."),
    seed: int = _seed_option(),
    resamples: int = _resamples_option(),
    truths: list[Path] = typer.Option(
        [],
        "--gt",
        exists=True,
        dir_okay=False,
        help="Ground-truth file whose query texts and windows the per-query explorer shows (matched by hash; "
        "bundled splits are found without it). Repeatable.",
    ),
    db: Path | None = STORED_DB_OPTION,
) -> None:
    """Write the static site: the cross-dataset index, a page per benchmark and per system, results.json, CSVs."""
    from amr_bench.leaderboard.ranking import rank_store
    from amr_bench.leaderboard.render import render_site
    from amr_bench.leaderboard.store import Store
    from amr_bench.outputs import check_output_folder, refuse_inputs_inside, staged_folder

    settings = _settings(metric, seed, resamples, baseline, "bootstrap")
    db = existing_store(db)
    inputs: list[tuple[str, str | Path | None]] = [("--db store", db)]
    inputs += [("--db store's write-ahead log", Path(f"{db}{s}")) for s in ("-wal", "-shm")]
    inputs += [("--gt ground truth", t) for t in truths]
    check_output_folder(out, "--out", inputs)
    refuse_inputs_inside(out, "--out", inputs)
    with Store(db, readonly=True) as store:
        rankings = rank_store(store, settings)
        _require_baseline(baseline, rankings)
        with staged_folder(out, "--out") as stage:  # a new folder, swapped in whole: never a half-written site
            staged = render_site(store, stage, settings, rankings, ground_truths=truths)
        files = [out / f.relative_to(stage) for f in staged]
    print(f"wrote {len(files)} files (pages, results.json, one CSV per benchmark); open {files[0]}")


@app.command(epilog="Example: amr-bench compare run_a.jsonl run_b.jsonl --gt castella/test --metric mAP")
@handles_errors
def compare(
    a: Path = typer.Argument(..., exists=True, dir_okay=False, help="System A's submission."),
    b: Path = typer.Argument(..., exists=True, dir_okay=False, help="System B's submission."),
    gt: str | None = typer.Option(None, "--gt", help=GT_AUTO_HELP),
    metric: str = typer.Option("R1@0.7", "--metric", help=METRIC_HELP),
    seed: int = _seed_option(),
    resamples: int = _resamples_option(),
    permutations: int = typer.Option(
        10000,
        "--permutations",
        min=MIN_RESAMPLES,
        max=MAX_PERMUTATIONS,
        help=f"Sign-flip permutations ({MIN_RESAMPLES} to {MAX_PERMUTATIONS:,}).",
    ),
) -> None:
    """Paired significance between two systems: bootstrap CIs, paired bootstrap and sign-flip tests."""
    from amr_bench.leaderboard.compare import compare_files, format_comparison

    _settings(metric, seed, resamples, None, "bootstrap")
    readable_input(a, "A")
    readable_input(b, "B")
    gt = ground_truth_for(a, gt)
    truth, _ = _load_gt(gt)
    print(format_comparison(compare_files(a, b, truth, metric, seed, resamples, permutations)))


@app.command(epilog="Example: amr-bench demo demo-site --quick")
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
    from amr_bench.outputs import check_output_folder

    check_output_folder(out, "OUT")
    run_demo(out, quick=quick, echo=print, force=force)
