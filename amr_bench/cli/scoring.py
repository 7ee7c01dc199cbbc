"""``amr-bench validate``, ``score`` and ``check``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from amr_bench.cli.app import GT_AUTO_HELP, PER_KIND_SHOWN, app, err, handles_errors, print_problems
from amr_bench.cli.inputs import (
    TIE_ORDER_HELP,
    ground_truth_for,
    hints_on_failure,
    parse_length_edges,
    parse_tie_order,
    print_hints,
    readable_input,
)


@app.command(
    epilog="Example: amr-bench validate run.jsonl   (or: amr-bench validate run.jsonl --gt castella/test --all)"
)
@handles_errors
def validate(
    submission: Path = typer.Argument(..., help="Submission JSON Lines file.", exists=True, dir_okay=False),
    gt: str | None = typer.Option(None, "--gt", help=GT_AUTO_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only errors."),
    show_all: bool = typer.Option(False, "--all", help="Every problem, not 10 of each kind."),
) -> None:
    """Check a submission against a ground truth; exit 1 if it has errors."""
    from amr_bench.validation import validate as run_validate

    readable_input(submission, "SUBMISSION")
    gt = ground_truth_for(submission, gt, quiet)
    with hints_on_failure(submission, gt):
        report = run_validate(submission, gt)
    if not report.ok:
        print_hints(submission, gt, report.problems)
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


@app.command(
    epilog="Example: amr-bench score run.jsonl -o metrics.json --per-query pq.csv  (--gt castella/test: name the split)"
)
@handles_errors
def score(
    submission: Path = typer.Argument(..., help="Submission JSON Lines file.", exists=True, dir_okay=False),
    gt: str | None = typer.Option(None, "--gt", help=GT_AUTO_HELP),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the metrics JSON here ('-': to stdout, no table)."
    ),
    per_query: Path | None = typer.Option(
        None, "--per-query", help="Write per-query scores here (CSV; text cells spreadsheet-safe)."
    ),
    length_edges: str = typer.Option(
        "10,30", help="Moment-length bucket edges: strictly increasing positive seconds, comma-separated."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No table; warnings count only (the equal-IoU tie warning is always shown)."
    ),
    tie_order: str = typer.Option("later", "--tie-order", help=TIE_ORDER_HELP),
) -> None:
    """Validate, then compute R1@θ and mAP exactly as the official scorer (plus breakdowns)."""
    from amr_bench.outputs import check_output_file, output_group, write_csv_atomic, write_text_atomic
    from amr_bench.scoring import score as run_score

    edges = parse_length_edges(length_edges)
    order = parse_tie_order(tie_order)
    to_stdout = output is not None and str(output) == "-"
    readable_input(submission, "SUBMISSION")
    gt = ground_truth_for(submission, gt, quiet)
    inputs = [("submission", submission), ("ground truth", _gt_file(gt))]
    if output is not None and not to_stdout:
        check_output_file(output, "--output", inputs)
    if per_query is not None:
        check_output_file(per_query, "--per-query", [*inputs, ("--output file", output)])
    with hints_on_failure(submission, gt):
        result = run_score(submission, gt, edges, order)
    with output_group() as outputs:  # the metrics and the per-query CSV are replaced together or not at all
        if output and not to_stdout:
            write_text_atomic(output, result.to_json() + "\n", group=outputs)
        if per_query:
            frame = result.per_query
            rows = frame.itertuples(index=False, name=None)
            write_csv_atomic(per_query, list(frame.columns), rows, group=outputs)
    if to_stdout:
        print(result.to_json())
    tie_warning = result.tie_warning()
    if tie_warning:
        err(tie_warning)
    if result.warnings:
        if quiet:
            err(f"{len(result.warnings)} warning(s); run `amr-bench validate` to see them")
        else:
            for w in result.warnings[:PER_KIND_SHOWN]:
                err(w)
            if len(result.warnings) > PER_KIND_SHOWN:
                err(more_warnings(len(result.warnings) - PER_KIND_SHOWN, submission, gt, output))
    if not quiet and not to_stdout:
        _print_result(result)


def more_warnings(n: int, submission: Path, gt: str, output: Path | None) -> str:
    """The line after the first warnings: how many are left and where to read them (no --output, no mention of it)."""
    every = f"`amr-bench validate {submission} --gt {gt} --all` lists every one"
    if output is None or str(output) == "-":
        return f"... and {n} more warning(s); {every}"
    return f'... and {n} more warning(s) (in {output}, under "warnings"); {every}'


def _gt_file(gt: str) -> Path | None:
    from amr_bench.datasets.registry import resolve_ground_truth

    return resolve_ground_truth(gt)[0]


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


TOLERANCE_HELP = (
    "Allowed absolute difference, in the unit of each compared key: percentage points for brief.* and "
    "full.* (the official scorer's numbers), fractions in [0, 1] for raw.* and breakdown.*."
)


@app.command(
    epilog="Example: amr-bench check metrics.json --expect expected.json --key brief.MR-full-R1@0.7 --tolerance 0.01"
)
@handles_errors
def check(
    metrics: Path = typer.Argument(..., help="A metrics JSON written by `amr-bench score --output`."),
    expect: Path = typer.Option(..., "--expect", help="Expected values (any JSON with the same keys)."),
    tolerance: float = typer.Option(0.01, "--tolerance", min=0.0, help=TOLERANCE_HELP),
    key: list[str] = typer.Option([], "--key", help="Compare only these dotted keys (repeatable)."),
    allow_improvement: bool = typer.Option(False, help="Fail only when a value goes down."),
) -> None:
    """Compare a result with expected values; exit 1 naming every metric that moved."""
    from amr_bench.regression_gate import compare, load_json, tolerance_unit

    report = compare(
        load_json(metrics, "metrics"),
        load_json(expect, "--expect"),
        tolerance,
        allow_improvement,
        key or None,
        str(expect),
        str(metrics),
    )
    for c in report.moved:
        if c.actual is None:
            err(f"MISSING {c.key}: expected {c.expected:g}, not in {metrics}")
        else:
            err(
                f"MOVED   {c.key}: expected {c.expected:g}, got {c.actual:g} "
                f"(delta {c.delta:+.6g}, tolerance {tolerance:g} {tolerance_unit(c.key)})"
            )
    units = sorted({tolerance_unit(c.key) for c in report.compared})
    unit = units[0] if len(units) == 1 else "in each key's unit: " + ", ".join(units)
    if not report.ok:
        err(f"check failed: {len(report.moved)} of {len(report.compared)} value(s) moved")
        raise typer.Exit(1)
    print(f"check passed: {len(report.compared)} value(s) within {tolerance:g} {unit}")
