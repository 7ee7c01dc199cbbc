"""A tiny dataset in the official feature layout with planted moments, for the zero-shot tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from amr_bench.datasets.features import FeatureStore
from amr_bench.datasets.npzio import write_npz


def make_dataset(root: Path, n_rec: int = 6, seed: int = 0) -> Path:
    """Random projection heads, two splits of ``n_rec`` recordings, two planted queries each."""
    rng = np.random.default_rng(seed)
    store = FeatureStore(root)
    w1 = rng.normal(0, 768**-0.5, (1024, 768)).astype(np.float32)
    w2 = rng.normal(0, 1024**-0.5, (1024, 1024)).astype(np.float32)
    head = {
        "linear1.weight": w1,
        "linear2.weight": w2,
        "layer_norm.weight": np.ones(1024, np.float32),
        "layer_norm.bias": np.zeros(1024, np.float32),
    }
    write_npz(
        root / "clap_projection.npz",
        {f"{side}.projection.{k}": v for side in ("audio_encoder", "caption_encoder") for k, v in head.items()},
    )
    qid = 0
    for split, n in (("val", n_rec), ("test", n_rec)):
        lines = []
        for r in range(n):
            vid = f"{split}_rec{r}"
            duration = int(rng.integers(30, 50))
            frames = rng.normal(0, 1, (duration, 768)).astype(np.float32)
            for _ in range(2):
                token = rng.normal(0, 1, 768).astype(np.float32)
                start = int(rng.integers(0, duration - 10))
                stop = start + int(rng.integers(4, 10))
                frames[start:stop] = token + rng.normal(0, 0.3, (stop - start, 768))
                store.write_text(qid, np.vstack([rng.normal(0, 1, (3, 768)), token]))
                lines.append(
                    {
                        "qid": qid,
                        "query": f"sound {qid}",
                        "duration": duration - 0.4,
                        "vid": vid,
                        "relevant_windows": [[start, stop]],
                    }
                )
                qid += 1
            store.write_audio(vid, frames)
        (root / f"{split}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return root
