"""The registry of datasets and splits, kept as data in ``registry.json`` beside this module.

A split is addressed as ``DATASET/SPLIT`` (``castella/val``) wherever a ground-truth path is
accepted; anything that is an existing file path is used as a file instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from amr_bench.errors import UsageError

GROUND_TRUTH_DIR = Path(str(resources.files("amr_bench") / "data" / "ground_truth"))


@dataclass(frozen=True)
class SplitEntry:
    dataset: str
    split: str
    file: str
    sha256: str
    queries: int
    has_windows: bool
    info: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.split}"

    @property
    def path(self) -> Path:
        return GROUND_TRUTH_DIR / self.file


@lru_cache(maxsize=1)
def registry() -> dict[str, Any]:
    text = (resources.files("amr_bench.datasets") / "registry.json").read_text("utf-8")
    return json.loads(text)


def splits() -> list[SplitEntry]:
    out = []
    for ds_name, ds in registry()["datasets"].items():
        for split_name, s in ds["splits"].items():
            out.append(
                SplitEntry(ds_name, split_name, s["file"], s["sha256"], s["queries"],
                           s.get("has_windows", True), ds)
            )
    return out


def find_split(name: str) -> SplitEntry | None:
    for entry in splits():
        if entry.name == name:
            return entry
    return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def resolve_ground_truth(spec: str | Path) -> tuple[Path, SplitEntry | None]:
    """Turn a ``--gt`` value into a file: an existing path, or a bundled ``DATASET/SPLIT``."""
    path = Path(spec)
    if path.is_file():
        return path, None
    entry = find_split(str(spec))
    if entry is not None:
        return entry.path, entry
    known = ", ".join(e.name for e in splits())
    raise UsageError(
        f"ground truth {str(spec)!r} is neither a file nor a bundled split; bundled splits: {known}"
    )
