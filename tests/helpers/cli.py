"""What the CLI tests share: a small ground truth and submission, running the app, refusing to score."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from amr_bench.cli import app

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


def invoke(args: list[Any]) -> Any:
    """Run ``amr-bench ARGS`` in-process; never a traceback, never an exception but ``SystemExit``."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def refuse_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any call of ``amr_bench.scoring.score`` fail: what must be refused is refused first."""
    import amr_bench.scoring

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("scored before the output was checked")

    monkeypatch.setattr(amr_bench.scoring, "score", refuse)


def make_fifo(tmp_path: Path) -> Path:
    """A named pipe (a special file that no command may replace or read as a regular file)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    return fifo
