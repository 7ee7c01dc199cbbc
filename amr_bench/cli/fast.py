"""The fast path of the two commands run most often, without typer, click or rich.

``amr-bench score RUN --gt GT -q [-o OUT] [--tie-order later|earlier]`` and
``amr-bench validate RUN --gt GT [-q]`` are
run here when the command line has exactly that plain form and the submission is valid (and, for
``validate`` without ``-q``, has no warning): the output is the one the full command prints.
Anything else (another option, ``--help``, a missing file, an output the full command refuses,
any problem with the input) returns None, and ``main`` hands the same command line
to the full application, which words every message. The fast path writes nothing before it has
succeeded, so handing over is always safe; a differential test keeps both paths' outputs equal.
``AMR_BENCH_NO_FAST_PATH=1`` turns it off.

The options are not copied here: :func:`declared_options` reads them from the one declaration of
each command (the ``typer.Option(...)`` defaults of ``score`` and ``validate`` in
``amr_bench/cli/scoring.py``, parsed with :mod:`ast`, without importing typer). The fast path runs
only the options in :data:`FAST_PARAMS`; any other declared option on the command line (one added
later included) hands the command to the full application, so a new option can never be dropped
silently.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from amr_bench.metrics import TieOrder

COMMANDS = ("score", "validate")
#: The parameters of each command that the fast path runs itself (by their Python names).
FAST_PARAMS = {"score": frozenset({"gt", "output", "quiet", "tie_order"}), "validate": frozenset({"gt", "quiet"})}
_DECLARATIONS = Path(__file__).with_name("scoring.py")


@dataclass
class FastArgs:
    command: str
    submission: str
    gt: str
    quiet: bool = False
    output: str | None = None
    tie_order: str = "later"


@cache
def declared_options(command: str) -> dict[str, tuple[str, bool]] | None:
    """Every option spelling of ``amr-bench COMMAND`` as declared: ``{"-o": ("output", True), ...}``.

    The value is the parameter's name and whether the option takes a value (a ``bool`` parameter
    is a flag). Spellings are the string arguments of ``typer.Option(...)`` that start with ``-``,
    or, when none is given, typer's own ``--param-name`` (and ``--no-param-name`` for a flag).
    None when the declaration cannot be read (the caller then hands over to the full app).
    """
    try:
        tree = ast.parse(_DECLARATIONS.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == command:
            return _options_of(node)
    return None


def _options_of(func: ast.FunctionDef) -> dict[str, tuple[str, bool]]:
    args = func.args.args
    out: dict[str, tuple[str, bool]] = {}
    for arg, default in zip(args[len(args) - len(func.args.defaults) :], func.args.defaults, strict=True):
        if not (isinstance(default, ast.Call) and isinstance(default.func, ast.Attribute)):
            continue
        if default.func.attr != "Option":
            continue
        is_flag = isinstance(arg.annotation, ast.Name) and arg.annotation.id == "bool"
        spellings = [a.value for a in default.args[1:] if isinstance(a, ast.Constant) and str(a.value).startswith("-")]
        if not spellings:
            dashed = arg.arg.replace("_", "-")
            spellings = [f"--{dashed}", *([f"--no-{dashed}"] if is_flag else [])]
        out.update({str(s): (arg.arg, not is_flag) for s in spellings})
    return out


def parse_args(argv: list[str]) -> FastArgs | None:
    """The plain ``score``/``validate`` command line, or None for anything else."""
    if not argv or argv[0] not in COMMANDS or os.environ.get("AMR_BENCH_NO_FAST_PATH"):
        return None
    command = argv[0]
    options = declared_options(command)
    if options is None:
        return None
    values: dict[str, str] = {}
    positional: list[str] = []
    quiet = False
    i = 1
    while i < len(argv):
        arg = argv[i]
        flag, eq, inline = arg.partition("=")
        declared = options.get(arg) or (options.get(flag) if eq and flag.startswith("--") else None)
        if declared is not None and declared[0] not in FAST_PARAMS[command]:
            return None  # an option the full command runs
        if declared is not None and not declared[1]:
            if arg not in options or arg.startswith("--no-"):
                return None  # --quiet=..., --no-quiet: the full command words or runs them
            quiet = True
        elif declared is not None:
            key = declared[0]
            if eq:
                value = inline
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
            else:
                return None
            if key in values or not value or (value.startswith("-") and value != "-"):
                return None
            values[key] = value
        elif arg.startswith("-") or positional:
            return None
        else:
            positional.append(arg)
        i += 1
    if not positional or "gt" not in values or (values.get("output") == "-" and command != "score"):
        return None
    tie_order = values.get("tie_order", FastArgs.tie_order)
    if "tie_order" in values:  # numpy is loaded only when the option is given (scoring loads it anyway)
        from amr_bench.metrics import TIE_ORDERS

        if tie_order not in TIE_ORDERS:
            return None  # the full command words the refusal
    return FastArgs(command, positional[0], values["gt"], quiet, values.get("output"), tie_order)


def run_fast(argv: list[str]) -> int | None:
    """Run a plain ``score``/``validate``; the exit status, or None to hand over to the full app."""
    args = parse_args(argv)
    if args is None or (args.command == "score" and not args.quiet and args.output != "-"):
        return None  # the score table is drawn by rich in the full command
    submission = Path(args.submission)
    if not submission.is_file():
        return None
    try:
        return _run(args, submission)
    except Exception:  # every error is worded by the full application, which runs next
        return None


def _run(args: FastArgs, submission: Path) -> int | None:
    from amr_bench.groundtruth import load_ground_truth
    from amr_bench.jsonl import no_cyclic_gc

    with no_cyclic_gc():
        gt = load_ground_truth(args.gt)
        if args.command == "validate":
            from amr_bench.validation import validate

            report = validate(submission, gt)
            if report.errors or (report.problems and not args.quiet):
                return None
            if not args.quiet:
                print(f"{submission}: valid ({len(report.submission.qids)} queries, 0 warning(s))")
            return 0
        out = None if args.output in (None, "-") else Path(args.output)
        if out is not None:  # the full command's own output checks; a refusal hands over to it
            from amr_bench.outputs import check_output_file

            check_output_file(out, "--output", [("submission", submission), ("ground truth", gt.path)])
        from amr_bench.scoring import score

        result = score(submission, gt, tie_order=cast("TieOrder", args.tie_order))  # checked in parse_args
        text = result.to_json()
    if result.warnings and not args.quiet:
        return None  # printed one by one by the full command (nothing has been written yet)
    if args.output == "-":
        print(text)
    elif out is not None:
        from amr_bench.outputs import write_text_atomic

        write_text_atomic(out, text + "\n")
    from amr_bench.terminal import note  # never on stdout, even with stderr closed

    tie_warning = result.tie_warning()
    if tie_warning:
        note(tie_warning)
    if result.warnings:
        note(f"{len(result.warnings)} warning(s); run `amr-bench validate` to see them")
    return 0
