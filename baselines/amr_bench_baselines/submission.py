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
    import orjson

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        for r in records:
            f.write(orjson.dumps(r) + b"\n")
    tmp.replace(path)
    return path
