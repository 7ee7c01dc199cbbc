"""From a submission (file or records) to a stored result: score, flatten metrics, add to the store.

Metric names used across the leaderboard: ``R1@0.5`` ... ``R1@0.95``, ``mAP@0.5`` ...
``mAP@0.95``, ``mAP`` (average over θ), ``R5@θ``, ``mIoU@1``; per moment length
``len.<bucket>.<metric>`` (from the scorer's breakdown) and ``len.<bucket>.queries``.
Aggregates are recomputed from the per-query columns with ``math.fsum``: the sum is exactly
rounded, so it does not depend on query order, and for 0/1 columns it is the exact hit count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from amr_bench.errors import Problem, UsageError
from amr_bench.leaderboard.store import AddOutcome, Store

# per-query columns kept in the store (everything numeric the scorer gives, minus line numbers)
SKIP_COLUMNS = ("qid", "gt_line", "submission_line")


@dataclass
class Added:
    outcome: AddOutcome
    status: str
    problems: list[Problem]
    metrics: dict[str, float]


def per_query_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {c: frame[c].to_numpy(dtype=np.float64) for c in frame.columns if c not in SKIP_COLUMNS}


def exact_mean(values: np.ndarray) -> float:
    return math.fsum(values.tolist()) / len(values) if len(values) else float("nan")


def metrics_from_per_query(columns: Mapping[str, np.ndarray]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, values in columns.items():
        if name.startswith(("R1@", "R5@")) or name == "mAP":
            out[name] = exact_mean(values)
        elif name.startswith("AP@"):
            out["mAP@" + name[3:]] = exact_mean(values)
        elif name == "IoU@1":
            out["mIoU@1"] = exact_mean(values)
    return out


def breakdown_metrics(breakdown: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for bucket, entry in (breakdown.get("moment_length") or {}).items():
        out[f"len.{bucket}.queries"] = float(entry.get("queries", 0))
        if entry.get("queries"):
            out[f"len.{bucket}.mAP"] = float(entry["mAP"]["average"])
            for k, v in entry["R1"].items():
                out[f"len.{bucket}.R1@{k}"] = float(v)
        lo, hi = entry.get("range_s", [None, None])
        out[f"len.{bucket}.lo"] = float(lo) if lo is not None else 0.0
        out[f"len.{bucket}.hi"] = float(hi) if hi is not None else math.inf
    return out


@dataclass(frozen=True)
class PreparedResult:
    """A scored submission in the store's terms, computed before any row is written."""

    sha256: str
    size: int
    file_name: str
    gt_sha256: str
    signature: dict[str, Any]
    qids: list[Any]
    columns: dict[str, np.ndarray]
    metrics: dict[str, float]


def prepare_result(
    result: Any, *, file_name: str, size: int, extra_columns: Mapping[str, np.ndarray] | None = None
) -> PreparedResult:
    """Flatten a ``ScoreResult`` (from ``amr_bench.scoring``) into what :meth:`Store.add` takes.

    ``extra_columns`` (e.g. the top windows the site's per-query explorer draws) are stored, not scored.
    """
    columns = per_query_columns(result.per_query)
    metrics = metrics_from_per_query(columns)
    metrics.update(breakdown_metrics(result.breakdown))
    columns.update(extra_columns or {})
    sig = result.signature
    return PreparedResult(
        sha256=sig["submission_sha256"],
        size=size,
        file_name=file_name,
        gt_sha256=sig["ground_truth_sha256"],
        signature=sig,
        qids=[_qid(q) for q in result.per_query["qid"].tolist()],
        columns=columns,
        metrics=metrics,
    )


def store_prepared(
    store: Store, prepared: PreparedResult, *, team: str, system: str, benchmark: str, **kw: Any
) -> Added:
    """Write a :class:`PreparedResult` (no scoring happens here)."""
    outcome = store.add(
        team=team,
        system=system,
        benchmark=benchmark,
        sha256=prepared.sha256,
        size=prepared.size,
        file_name=prepared.file_name,
        gt_sha256=prepared.gt_sha256,
        signature=prepared.signature,
        qids=prepared.qids,
        per_query=prepared.columns,
        metrics=prepared.metrics,
        **kw,
    )
    return Added(outcome, "ok", [], prepared.metrics)


def add_result(
    store: Store,
    result: Any,
    *,
    team: str,
    system: str,
    benchmark: str,
    file_name: str,
    size: int,
    extra_columns: Mapping[str, np.ndarray] | None = None,
    **kw: Any,
) -> Added:
    """Store a ``ScoreResult`` (from ``amr_bench.scoring``); ``extra_columns`` are stored, not scored."""
    prepared = prepare_result(result, file_name=file_name, size=size, extra_columns=extra_columns)
    return store_prepared(store, prepared, team=team, system=system, benchmark=benchmark, **kw)


def confirmation(added: Added, *, team: str, system: str, benchmark: str) -> str:
    """The one line ``leaderboard add`` and ``leaderboard ingest`` print per stored system."""
    what = "stored" if added.outcome.created else "already stored (same file), nothing changed"
    head = f"{team}/{system} on {benchmark} v{added.outcome.version}: {what}"
    if added.status != "ok":
        return f"{head}; {added.status.upper()}: recorded as a failed attempt"
    r1 = added.metrics.get("R1@0.7")
    return head if r1 is None else f"{head}; R1@0.7 {100 * r1:.2f}"


def add_invalid(
    store: Store,
    problems: list[Problem],
    *,
    team: str,
    system: str,
    benchmark: str,
    gt: Any,
    sha256: str,
    size: int,
    file_name: str,
    **kw: Any,
) -> Added:
    """Record a submission that could not be scored, with its problems (it is listed last)."""
    outcome = store.add(
        team=team,
        system=system,
        benchmark=benchmark,
        sha256=sha256,
        size=size,
        file_name=file_name,
        gt_sha256=gt.sha256,
        signature=invalid_signature(gt, sha256),
        status="invalid",
        problems=[str(p) for p in problems if p.is_error][:50],
        **kw,
    )
    return Added(outcome, "invalid", problems, {})


def invalid_signature(gt: Any, sha256: str) -> dict[str, Any]:
    """The signature the scorer would have stamped, so the entry lands in the same group."""
    from amr_bench.scoring import result_signature

    return dict(result_signature(gt.name, gt.sha256, sha256))


def add_file(
    store: Store,
    path: str | Path,
    gt: Any,
    *,
    team: str,
    system: str,
    benchmark: str,
    display: str | None = None,
    **kw: Any,
) -> Added:
    """Validate and score ``path`` against the loaded ground truth ``gt``; store either way (see :func:`add_bytes`)."""
    path = Path(path)
    data = path.read_bytes()
    return add_bytes(store, data, gt, team=team, system=system, benchmark=benchmark, display=display or path.name, **kw)


def score_bytes(data: bytes, gt: Any, display: str) -> tuple[Any, Any]:
    """Validate a JSON Lines submission held in memory; returns (``ValidationReport``, ``ScoreResult`` or None)."""
    from amr_bench.jsonl import parse_jsonl_bytes
    from amr_bench.scoring import score_report
    from amr_bench.validation import validate_file

    report = validate_file(parse_jsonl_bytes(data, Path(display)), gt)
    return report, (score_report(report) if report.ok else None)


def add_bytes(
    store: Store, data: bytes, gt: Any, *, team: str, system: str, benchmark: str, display: str, **kw: Any
) -> Added:
    """Validate and score a submission's bytes; store either way.

    An invalid file is stored with status ``invalid`` and its problems, and returned with them
    (the caller decides whether that is an error).
    """
    report, result = score_bytes(data, gt, display)
    if result is None:
        return add_invalid(
            store,
            report.problems,
            team=team,
            system=system,
            benchmark=benchmark,
            gt=gt,
            sha256=report.submission.sha256,
            size=len(data),
            file_name=display,
            **kw,
        )
    from amr_bench.leaderboard.explorer import window_columns

    windows = window_columns(report, result.per_query["qid"].tolist())  # for the site's per-query explorer
    added = add_result(
        store,
        result,
        team=team,
        system=system,
        benchmark=benchmark,
        file_name=display,
        size=len(data),
        extra_columns=windows,
        **kw,
    )
    added.problems = list(report.warnings)
    return added


def add_records(
    store: Store,
    records: list[dict[str, Any]],
    gt: Any,
    *,
    team: str,
    system: str,
    benchmark: str,
    file_name: str,
    **kw: Any,
) -> Added:
    """Store in-memory predictions (a baseline's or a generated system's) as a JSONL-equivalent."""
    import orjson

    data = b"".join(orjson.dumps(r, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n" for r in records)
    return add_bytes(store, data, gt, team=team, system=system, benchmark=benchmark, display=file_name, **kw)


def benchmark_name(gt: Any, explicit: str | None = None) -> str:
    """``castella/val`` for a bundled split; otherwise the name the user gave."""
    if explicit:
        return explicit
    if gt.split is not None:
        return str(gt.split.name)
    raise UsageError(
        f"the ground truth {gt.path} is not a bundled split: name the benchmark with "
        "--gt NAME=PATH (e.g. dcase2026-eval=gt.jsonl)"
    )


def _qid(q: Any) -> Any:
    return q if isinstance(q, (int, str)) else str(q)
