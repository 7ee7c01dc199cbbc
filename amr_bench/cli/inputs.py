"""What the commands share about their inputs: the ground truth a submission is scored on (given
or found from the qids), first-line hints when a validation fails, and the numeric options."""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from amr_bench.cli.app import err
from amr_bench.errors import InputError, Problem, UsageError

if TYPE_CHECKING:
    from amr_bench.metrics import TieOrder

QID_PROBLEMS = {"unknown-qid", "no-qid-matches", "missing-qid"}
MAX_RESAMPLES = 100_000
MAX_PERMUTATIONS = 1_000_000
MIN_RESAMPLES = 100


def readable_input(path: Path, what: str) -> Path:
    """Refuse a device given as an input file (``/dev/zero``, ``/dev/full``, a terminal): reading one
    never ends. Named pipes (``<(zcat run.jsonl.gz)``) stay allowed."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise UsageError(f"{what} {path}: cannot read ({exc.strerror})") from None
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise UsageError(f"{what} {path}: is a device, not a file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{what} {path}: not readable (permission denied)")
    return path


def ground_truth_for(submission: Path, gt: str | None, quiet: bool = False) -> str:
    """``--gt`` as given, or the one known split whose qids are exactly the submission's (the
    choice and its reason are printed on stderr unless ``quiet``)."""
    if gt is not None:
        return gt
    from amr_bench.datasets.autodetect import detect_split, swapped_files_hint

    try:
        found = detect_split(submission)
    except UsageError:
        hint = swapped_files_hint(submission, None)
        if hint:
            err(f"hint: {hint}")
        raise
    if not quiet:
        err(f"ground truth: {found.spec} ({found.reason})")
    return found.spec


def _gt_path(gt: str) -> Path | None:
    from amr_bench.datasets.registry import resolve_ground_truth

    try:
        return resolve_ground_truth(gt.split("=", 1)[1] if "=" in gt and not Path(gt).exists() else gt)[0]
    except UsageError:
        return None


def input_hints(submission: Path, gt: str, problems: list[Problem]) -> list[str]:
    """Likely causes of a failed validation, said before the per-line errors: the two files
    swapped, or the submission written for another split."""
    from amr_bench.datasets.autodetect import swapped_files_hint, wrong_split_hint

    path = _gt_path(gt)
    hints = []
    swapped = swapped_files_hint(submission, path)
    if swapped:
        hints.append(swapped)
    elif path is not None and any(p.code in QID_PROBLEMS for p in problems):
        wrong = wrong_split_hint(submission, path, gt)
        if wrong:
            hints.append(wrong)
    return hints


def print_hints(submission: Path, gt: str, problems: list[Problem]) -> None:
    for hint in input_hints(submission, gt, problems):
        err(f"hint: {hint}")


@contextlib.contextmanager
def hints_on_failure(submission: Path, gt: str) -> Iterator[None]:
    """Print :func:`input_hints` first when the block raises ``InputError``."""
    try:
        yield
    except InputError as exc:
        print_hints(submission, gt, exc.problems)
        raise


def parse_length_edges(text: str) -> list[float]:
    """``--length-edges 10,30``: strictly increasing positive finite seconds, at least one."""
    hint = "takes strictly increasing positive seconds separated by commas, like 10,30"
    parts = [x.strip() for x in text.split(",")]
    if not text.strip() or any(not x for x in parts):
        raise UsageError(f"--length-edges {hint}; got {text!r}")
    try:
        edges = [float(x) for x in parts]
    except ValueError:
        raise UsageError(f"--length-edges {hint}; got {text!r}") from None
    bad = [x for x, e in zip(parts, edges, strict=True) if not math.isfinite(e) or e <= 0]
    if bad:
        raise UsageError(f"--length-edges {hint}; {bad[0]!r} is not a positive finite number")
    for a, b in itertools.pairwise(edges):
        if b <= a:
            raise UsageError(f"--length-edges {hint}; {b:g} does not follow {a:g}")
    return edges


TIE_ORDER_HELP = (
    "Which of two unmatched ground-truth windows of exactly equal IoU a prediction takes in the mAP "
    "matching: 'later' (the official scorer with numpy 1.26 on a CPU without AVX-512, the default) or "
    "'earlier'. The official number depends on the machine there; see docs/scorer.md, 'Equal IoU'."
)


def parse_tie_order(text: str) -> TieOrder:
    """``--tie-order later|earlier`` (metrics is imported here, not at start-up: it loads numpy)."""
    from amr_bench.metrics import TIE_ORDERS

    if text not in TIE_ORDERS:
        raise UsageError(f"--tie-order must be one of {', '.join(TIE_ORDERS)}; got {text!r}")
    return text  # narrowed to TieOrder by the membership test
