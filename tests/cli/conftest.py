"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import GT_LINES, RUN_LINES, write_jsonl


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    """``{"gt": ..., "run": ...}``: the small ground truth and a valid submission for it."""
    return {"gt": write_jsonl(tmp_path / "gt.jsonl", GT_LINES), "run": write_jsonl(tmp_path / "run.jsonl", RUN_LINES)}
