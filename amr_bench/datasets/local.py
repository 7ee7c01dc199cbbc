"""Dataset folders on disk: ``ROOT/<split>.jsonl`` plus features (see ``features``; docs/data-formats.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amr_bench.errors import InputError, Problem
from amr_bench.jsonl import read_jsonl


def split_path(root: str | Path, split: str) -> Path:
    return Path(root) / f"{split}.jsonl"


def load_split(root: str | Path, split: str) -> list[dict[str, Any]]:
    """The ground-truth records of ``ROOT/<split>.jsonl``; unreadable lines raise ``InputError``."""
    path = split_path(root, split)
    if not path.is_file():
        present = sorted(p.stem for p in Path(root).glob("*.jsonl")) if Path(root).is_dir() else []
        hint = f"splits present: {', '.join(present)}" if present else "no <split>.jsonl there"
        raise InputError(
            [Problem(str(path), None, f"no split {split!r} in {root} ({hint})")], f"split not found: {path}"
        )
    jf = read_jsonl(path)
    errors = [p for p in jf.problems if p.is_error]
    bad = [
        Problem(str(path), line, "not a JSON object")
        for rec, line in zip(jf.records, jf.lines, strict=True)
        if not isinstance(rec, dict)
    ]
    if errors or bad:
        raise InputError(errors + bad, f"{path}: unreadable ground truth")
    return jf.records


def local_splits(root: str | Path) -> list[str]:
    """The split names present in a dataset folder."""
    return sorted(p.stem for p in Path(root).glob("*.jsonl"))
