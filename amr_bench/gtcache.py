"""A cache of parsed bundled ground truths, as arrays, keyed by the sha256 of the file's bytes.

A bundled split is parsed and checked once; later runs load its arrays instead (no JSON parsing,
no schema check). The cache lives in ``$AMR_BENCH_CACHE`` if set, else
``$XDG_CACHE_HOME/amr-bench`` (default ``~/.cache/amr-bench``); ``AMR_BENCH_CACHE=off`` turns
it off. An entry is an ``.npz`` file (no pickled objects) written atomically; it is used only when
it names the same sha256 and format version and reads back intact (zip CRCs), otherwise it is
ignored and rewritten. An unwritable cache only costs the parse.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from amr_bench.errors import Problem
from amr_bench.ragged import RaggedWindows

FORMAT = "amr-bench-gt-cache-1"
_ARRAYS = ("durations", "start", "end", "score", "offsets", "has_score", "lines")


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is turned off."""
    env = os.environ.get("AMR_BENCH_CACHE")
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "no", "false") else Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "amr-bench"


def _entry(sha256: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / f"gt-{sha256}.npz"


def load(sha256: str, path: Path) -> dict[str, Any] | None:
    """The cached fields of the ground truth whose bytes hash to ``sha256`` (None if absent or unusable)."""
    entry = _entry(sha256)
    if entry is None or not entry.is_file():
        return None
    try:
        with np.load(entry, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            if meta.get("format") != FORMAT or meta.get("sha256") != sha256:
                return None
            a = {k: z[k] for k in _ARRAYS}
    except Exception:  # a corrupt, truncated or foreign file: parse the ground truth again
        return None
    name = str(path)
    return {
        "qids": meta["qids"],
        "lines": a["lines"].tolist(),
        "queries": meta["queries"],
        "vids": meta["vids"],
        "durations": a["durations"],
        "windows": RaggedWindows(a["start"], a["end"], a["score"], a["offsets"], a["has_score"]),
        "has_windows": meta["has_windows"],
        "problems": [
            Problem(name, line, message, severity, code) for line, message, severity, code in meta["problems"]
        ],
    }


def store(sha256: str, fields: dict[str, Any]) -> None:
    """Write an entry atomically (a temporary file renamed into place); any failure is ignored."""
    entry = _entry(sha256)
    if entry is None:
        return
    w: RaggedWindows = fields["windows"]
    meta = {
        "format": FORMAT,
        "sha256": sha256,
        "qids": fields["qids"],
        "queries": fields["queries"],
        "vids": fields["vids"],
        "has_windows": fields["has_windows"],
        "problems": [[p.line, p.message, p.severity, p.code] for p in fields["problems"]],
    }
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez(
                f,
                meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
                durations=fields["durations"],
                start=w.start,
                end=w.end,
                score=w.score,
                offsets=w.offsets,
                has_score=w.has_score,
                lines=np.asarray(fields["lines"], dtype=np.int64),
            )
        os.replace(tmp, entry)
    except (OSError, ValueError, TypeError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
