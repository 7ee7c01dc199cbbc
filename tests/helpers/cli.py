"""The small ground truth and submission the CLI hardening tests run every command on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GT_LINES: list[dict[str, Any]] = [
    {"qid": 1, "query": "a dog barks", "duration": 30, "vid": "v1", "relevant_windows": [[1, 5]]},
    {"qid": 2, "query": "rain", "duration": 30, "vid": "v2", "relevant_windows": [[0, 10], [20, 25]]},
    {"qid": "x3", "query": "a car", "duration": 30, "vid": "v3", "relevant_windows": [[3, 9]]},
]
RUN_LINES: list[dict[str, Any]] = [
    {"qid": 1, "pred_relevant_windows": [[1, 5, 0.9], [0, 2, 0.5]]},
    {"qid": 2, "pred_relevant_windows": [[0, 10, 0.8]]},
    {"qid": "x3", "pred_relevant_windows": [[3, 9, 1.0]]},
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path
