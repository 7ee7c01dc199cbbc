"""``amr-bench codabench bundle|score``: a Codabench competition bundle that scores with amr-bench."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from amr_bench.cli.app import app, err, handles_errors
from amr_bench.errors import UsageError

codabench = typer.Typer(
    help="Codabench: write a competition bundle (a permanent evaluation server); run its scoring program.",
    no_args_is_help=True,
)
app.add_typer(codabench, name="codabench")


def _pairs(values: list[str], option: str, repeat: bool = False) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for v in values:
        if "=" not in v:
            raise UsageError(f"{option} {v!r}: expected NAME=PATH (e.g. dcase2026-eval=gt.jsonl)")
        name, path = v.split("=", 1)
        if name in out and not repeat:
            raise UsageError(f"{option}: {name!r} given twice")
        out.setdefault(name, []).append(Path(path))
    return out


@codabench.command(
    "bundle",
    epilog="Example: amr-bench codabench bundle --gt dcase2026-eval=gt.jsonl --wheels wheels/ --out bundle.zip",
)
@handles_errors
def bundle(
    gt: list[str] = typer.Option(
        ..., "--gt", help="NAME=PATH: a benchmark and the ground truth the organisers hold (repeatable)."
    ),
    wheels: Path = typer.Option(
        ..., "--wheels", help="Folder of wheels for the image's Python: amr-bench (this version) and its dependencies."
    ),
    out: Path = typer.Option(..., "--out", help="The bundle zip to write."),
    example: list[str] = typer.Option(
        [], "--example", help="NAME=FILE: the starting kit's valid submission (default: the prior-only control)."
    ),
    baseline: list[str] = typer.Option(
        [],
        "--baseline",
        help="NAME=FILE: a baseline system's run on that benchmark, scored onto the pages (repeatable).",
    ),
    title: str | None = typer.Option(None, "--title", help="The competition's title."),
    python: str = typer.Option("3.12", "--python", help="Python of the image python:X.Y-slim (the wheels' Python)."),
    start: str | None = typer.Option(None, "--start", help="First phase's start date, YYYY-MM-DD (default: today)."),
    days_per_phase: int = typer.Option(
        365, "--days-per-phase", min=1, help="Length of every phase but the last (Codabench runs phases in turn)."
    ),
    per_day: int = typer.Option(5, "--max-per-day", min=1, help="Submissions per participant per day."),
) -> None:
    """Write a Codabench bundle: pages, one task and phase per benchmark, hidden ground truth, scorer, starting kit."""
    from amr_bench.cli.inputs import readable_input
    from amr_bench.codabench.bundle import BenchmarkSpec, BundleOptions, build_bundle
    from amr_bench.outputs import check_output_file

    truths = {n: p[0] for n, p in _pairs(gt, "--gt").items()}
    examples = {n: p[0] for n, p in _pairs(example, "--example").items()}
    baselines = _pairs(baseline, "--baseline", repeat=True)
    for option, given in (("--example", examples), ("--baseline", baselines)):
        unknown = sorted(set(given) - set(truths))
        if unknown:
            raise UsageError(f"{option} {unknown[0]}: no such benchmark among --gt ({', '.join(truths)})")
    if python.count(".") != 1 or not all(p.isdigit() for p in python.split(".")):
        raise UsageError(f"--python {python!r}: expected MAJOR.MINOR, e.g. 3.12")
    for option, name, path in [
        *(("--gt", n, p) for n, p in truths.items()),
        *(("--example", n, p) for n, p in examples.items()),
        *(("--baseline", n, p) for n, ps in baselines.items() for p in ps),
    ]:
        readable_input(path, f"{option} {name}:")
        if not path.is_file():
            raise UsageError(f"{option} {name}={path}: not a file")
    check_output_file(out, "--out", [(f"--gt {n}", p) for n, p in truths.items()])
    try:
        first = dt.date.fromisoformat(start) if start else None
    except ValueError:
        raise UsageError(f"--start {start!r}: expected YYYY-MM-DD") from None
    options = BundleOptions(python=python, start=first, days_per_phase=days_per_phase, max_submissions_per_day=per_day)
    if title:
        options = BundleOptions(**{**options.__dict__, "title": title})
    specs = [BenchmarkSpec(n, p, examples.get(n), tuple(baselines.get(n, []))) for n, p in truths.items()]
    written = build_bundle(specs, wheels, out, options)
    for name, scores in written.examples.items():
        shown = ", ".join(f"{k} {v:.2f}" for k, v in scores.items())
        print(f"{name}: example submission scores {shown}")
    print(
        f"{out}: Codabench bundle written ({len(written.files)} files); upload it at Benchmarks > Management > Upload"
    )


@codabench.command("score", epilog="Example: amr-bench codabench score /app/input /app/output")
@handles_errors
def score(
    input_dir: Path = typer.Argument(..., help="Holds ref/ (the bundle's reference data) and res/ (the submission)."),
    output_dir: Path = typer.Argument(..., help="Where scores.json and detailed_results.html go."),
) -> None:
    """Run the bundle's scoring program on a worker's folders (what the bundle's score.py runs)."""
    from amr_bench.codabench.worker import run
    from amr_bench.outputs import check_output_folder

    check_output_folder(output_dir, "OUTPUT_DIR", [("INPUT_DIR", input_dir)])
    for sub in ("ref", "res"):
        if not (input_dir / sub).is_dir():
            err(f"error: {input_dir / sub}: no such folder (a Codabench worker's input has ref/ and res/)")
            raise typer.Exit(2)
    code = run(input_dir, output_dir)
    if code:
        raise typer.Exit(code)
