"""Helpers for the DETR tests: a tiny dataset in the official on-disk layout (no tests here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from amr_bench.datasets.features import FeatureStore


def write_toy_dataset(root: Path, recordings: dict[str, int] | None = None, seed: int = 0, frames: int = 40) -> Path:
    """Recordings whose in-moment frames lean towards their query's text vector; one query each.

    ``recordings`` maps split -> number of recordings (default train 24, val 8, test 8).
    """
    recordings = recordings or {"train": 24, "val": 8, "test": 8}
    rng = np.random.default_rng(seed)
    store = FeatureStore(root)
    n_topics = 6
    topics = rng.normal(size=(n_topics, 768)).astype(np.float32)
    qid = 0
    for split, n in recordings.items():
        lines = []
        for r in range(n):
            vid = f"{split}_{r}"
            audio = rng.normal(size=(frames, 768)).astype(np.float32)
            k = int(rng.integers(n_topics))
            length = int(rng.integers(4, frames // 2))
            start = int(rng.integers(0, frames - length))
            audio[start : start + length] += 1.5 * topics[k]
            store.write_audio(vid, audio)
            text = (topics[k] + 0.3 * rng.normal(size=(6, 768))).astype(np.float32)
            store.write_text(qid, text)
            lines.append(
                {
                    "qid": qid,
                    "query": f"topic {k}",
                    "duration": float(frames),
                    "vid": vid,
                    "relevant_windows": [[float(start), float(start + length)]],
                }
            )
            qid += 1
        (root / f"{split}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return root
