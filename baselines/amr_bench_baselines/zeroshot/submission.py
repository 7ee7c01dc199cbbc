"""Submission records and files of the baselines (no torch: the prior-only control uses them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amr_bench.groundtruth import GroundTruth


def submission_records(gt: GroundTruth, windows: list[list[list[float]]]) -> list[dict[str, Any]]:
    """Submission lines in ground-truth order: ``{qid, query, vid, pred_relevant_windows}``."""
    return [
        {"qid": q, "query": text, "vid": vid, "pred_relevant_windows": w}
        for q, text, vid, w in zip(gt.qids, gt.queries, gt.vids, windows, strict=True)
    ]


def write_submission(records: list[dict[str, Any]], path: str | Path) -> Path:
    """Write a submission atomically: ``path`` is replaced only once every line is written (a
    failure leaves the previous file as it was; a folder or a device is never replaced)."""
    import orjson

    from amr_bench.outputs import atomic_writer

    with atomic_writer(path, "wb") as f:
        for r in records:
            f.write(orjson.dumps(r) + b"\n")
    return Path(path)
