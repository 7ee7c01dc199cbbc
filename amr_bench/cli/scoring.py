"""``amr-bench validate``, ``score`` and ``check``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from amr_bench.cli.app import PER_KIND_SHOWN, app, err, handles_errors, print_problems
from amr_bench.errors import UsageError


def _edges(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--length-edges takes comma-separated seconds like 10,30; got {text!r}") from None


@app.command()
@handles_errors
def validate(
    submission: Path = typer.Argument(..., help="Submission JSON Lines file.", exists=True, dir_okay=False),
    gt: str = typer.Option(..., "--gt", help="Ground truth: a file or a bundled DATASET/SPLIT (castella/val)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only errors."),
    show_all: bool = typer.Option(False, "--all", help="Every problem, not 10 of each kind."),
) -> None:
    """Check a submission against a ground truth; exit 1 if it has errors."""
    from amr_bench.validation import validate as run_validate

    report = run_validate(submission, gt)
    print_problems(
        report.errors if quiet else report.problems, limit=len(report.problems) if show_all else PER_KIND_SHOWN
    )
    n_lines = len(report.submission.qids)
    if report.ok:
        if not quiet:
            print(f"{submission}: valid ({n_lines} queries, {len(report.warnings)} warning(s))")
        return
    err(f"{submission}: INVALID: {len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    raise typer.Exit(1)


@app.command()
@handles_errors
def score(
    submission: Path = typer.Argument(..., help="Submission JSON Lines file.", exists=True, dir_okay=False),
    gt: str = typer.Option(..., "--gt", help="Ground truth: a file or a bundled DATASET/SPLIT (castella/val)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the metrics JSON here ('-': to stdout, no table)."
    ),
    per_query: Path | None = typer.Option(None, "--per-query", help="Write per-query scores (CSV) here."),
    length_edges: str = typer.Option("10,30", help="Moment-length bucket edges in seconds."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No table; warnings count only."),
) -> None:
    """Validate, then compute R1@θ and mAP exactly as the official scorer (plus breakdowns)."""
    from amr_bench.scoring import score as run_score

    result = run_score(submission, gt, _edges(length_edges))
    to_stdout = output is not None and str(output) == "-"
    if to_stdout:
        print(result.to_json())
    elif output:
        output.write_text(result.to_json() + "\n", encoding="utf-8")
    if per_query:
        result.per_query.to_csv(per_query, index=False, float_format="%.10g")
    if result.warnings:
        if quiet:
            err(f"{len(result.warnings)} warning(s); run `amr-bench validate` to see them")
        else:
            for w in result.warnings[:PER_KIND_SHOWN]:
                err(w)
            if len(result.warnings) > PER_KIND_SHOWN:
                err(f"... and {len(result.warnings) - PER_KIND_SHOWN} more warning(s) (in --output)")
    if not quiet and not to_stdout:
        _print_result(result)


def _print_result(result: ScoreResult) -> None:  # type: ignore[name-defined]  # noqa: F821
    console = Console(highlight=False)
    table = Table(title=f"{result.signature['ground_truth']}: {result.counts['scored_queries']} queries")
    table.add_column("IoU θ", justify="right")
    table.add_column("R1", justify="right")
    table.add_column("R5", justify="right")
    table.add_column("mAP", justify="right")
    for k in result.full["MR-R1"]:
        table.add_row(
            k, f"{result.full['MR-R1'][k]:.2f}", f"{100 * result.raw['R5'][k]:.2f}", f"{result.full['MR-mAP'][k]:.2f}"
        )
    table.add_row("avg", "", "", f"{result.full['MR-mAP']['average']:.2f}", style="bold")
    console.print(table)
    b = Table(title="Breakdown (R1@0.7 / mAP, queries)")
    b.add_column("subset")
    b.add_column("queries", justify="right")
    b.add_column("R1@0.7", justify="right")
    b.add_column("mAP", justify="right")
    for group, entries in result.breakdown.items():
        for name, entry in entries.items():
            if entry.get("queries"):
                b.add_row(
                    f"{group}: {name}",
                    str(entry["queries"]),
                    f"{100 * entry['R1']['0.7']:.2f}",
                    f"{100 * entry['mAP']['average']:.2f}",
                )
            else:
                b.add_row(f"{group}: {name}", "0", "-", "-")
    console.print(b)
    console.print(f"mean IoU of the first window: {100 * result.raw['mIoU@1']:.2f}")


@app.command()
@handles_errors
def check(
    metrics: Path = typer.Argument(..., help="A metrics JSON written by `amr-bench score --output`."),
    expect: Path = typer.Option(..., "--expect", help="Expected values (any JSON with the same keys)."),
    tolerance: float = typer.Option(0.01, "--tolerance", min=0.0, help="Allowed absolute difference."),
    key: list[str] = typer.Option([], "--key", help="Compare only these dotted keys (repeatable)."),
    allow_improvement: bool = typer.Option(False, help="Fail only when a value goes down."),
) -> None:
    """Compare a result with expected values; exit 1 naming every metric that moved."""
    from amr_bench.check import compare, load_json

    report = compare(load_json(metrics), load_json(expect), tolerance, allow_improvement, key or None, str(expect))
    for c in report.moved:
        if c.actual is None:
            err(f"MISSING {c.key}: expected {c.expected:g}, not in {metrics}")
        else:
            err(
                f"MOVED   {c.key}: expected {c.expected:g}, got {c.actual:g} "
                f"(delta {c.delta:+.6g}, tolerance {tolerance:g})"
            )
    if not report.ok:
        err(f"check failed: {len(report.moved)} of {len(report.compared)} value(s) moved")
        raise typer.Exit(1)
    print(f"check passed: {len(report.compared)} value(s) within {tolerance:g}")
