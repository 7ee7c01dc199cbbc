"""What the zero-shot baselines share: a split's features in memory, similarity curves, records.

A split is read once: every recording's frames stacked into one array (``AudioBank``), every
query's text features; similarity curves for all queries are computed in chunks with torch
(a gather of each query's frames and a dot product, no Python loop over queries), and come back
as one flat array with per-query offsets (``Curves``). Localisation then works per query on a
curve of ``ceil(duration)`` samples at most.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from amr_bench.errors import InputError, Problem, UsageError
from amr_bench.groundtruth import GroundTruth, load_ground_truth

SPLITS = ("train", "val", "test")


@dataclass
class SplitData:
    """The ground truth of ``ROOT/<split>.jsonl`` and the feature store over ``ROOT``."""

    root: Path
    split: str
    gt: GroundTruth

    @property
    def store(self) -> Any:
        from amr_bench.datasets.features import FeatureStore

        return FeatureStore(self.root)


def load_split_data(root: str | Path, split: str) -> SplitData:
    root = Path(root)
    path = root / f"{split}.jsonl"
    if not root.is_dir():
        raise UsageError(f"the dataset folder {root} does not exist")
    if not path.is_file():
        present = sorted(p.stem for p in root.glob("*.jsonl"))
        raise UsageError(f"no split {split!r} in {root} (no {path.name}); splits there: "
                         f"{', '.join(present) or 'none'}")
    return SplitData(root, split, load_ground_truth(path))


def require_features(data: SplitData, text: bool = True, audio: bool = True) -> None:
    """Raise one ``InputError`` listing every missing feature file (never a silent skip)."""
    store = data.store
    records = [{"qid": q, "vid": v} for q, v in zip(data.gt.qids, data.gt.vids)]
    problems = [p for p in store.missing(records)
                if (text or "text features" not in p.message)
                and (audio or "audio features" not in p.message)]
    if problems:
        raise InputError(problems, f"{len(problems)} feature file(s) missing under {data.root}")


@dataclass
class AudioBank:
    """All frames of a split's recordings: ``frames[offsets[r]:offsets[r+1]]`` is recording r."""

    vids: list[str]
    offsets: np.ndarray
    frames: np.ndarray  # (N, 768) float32

    def row(self) -> dict[str, int]:
        return {v: i for i, v in enumerate(self.vids)}

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def load_audio_bank(data: SplitData) -> AudioBank:
    store = data.store
    vids = list(dict.fromkeys(data.gt.vids))
    arrays = [store.audio(v) for v in vids]
    offsets = np.zeros(len(vids) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(a) for a in arrays])
    frames = np.concatenate(arrays).astype(np.float32, copy=False) if arrays else np.zeros((0, 768), np.float32)
    return AudioBank(vids, offsets, frames)


def load_text_features(data: SplitData) -> list[np.ndarray]:
    store = data.store
    return [store.text(q) for q in data.gt.qids]


@dataclass
class Curves:
    """Ragged per-query curves: ``values[offsets[q]:offsets[q+1]]`` is query q's curve."""

    values: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def curve(self, q: int) -> np.ndarray:
        return self.values[self.offsets[q]:self.offsets[q + 1]]


def curve_lengths(data: SplitData, bank: AudioBank) -> np.ndarray:
    """Per query: the recording's frames, at most ``ceil(duration)`` (at least 1)."""
    rows = bank.row()
    n_frames = bank.lengths()[[rows[v] for v in data.gt.vids]]
    cap = np.array([max(1, math.ceil(d)) if d > 0 else 1 << 30 for d in data.gt.durations])
    return np.minimum(n_frames, cap).astype(np.int64)


@torch.inference_mode()
def cosine_curves(frame_vectors: torch.Tensor | np.ndarray, frame_offsets: np.ndarray,
                  query_vectors: torch.Tensor | np.ndarray, query_rows: np.ndarray,
                  lengths: np.ndarray, chunk: int = 16384) -> Curves:
    """Per query q: dot products of frames ``frame_offsets[query_rows[q]] + 0..lengths[q]-1``
    with ``query_vectors[q]`` (cosines when both sides are L2-normalised)."""
    a = torch.as_tensor(frame_vectors, dtype=torch.float32)
    qv = torch.as_tensor(query_vectors, dtype=torch.float32)
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    q_of = np.repeat(np.arange(len(lengths)), lengths)
    frame_idx = np.asarray(frame_offsets)[np.asarray(query_rows)][q_of] + (
        np.arange(offsets[-1]) - offsets[:-1][q_of])
    out = np.empty(offsets[-1], dtype=np.float32)
    fi = torch.from_numpy(frame_idx)
    qi = torch.from_numpy(q_of)
    for i in range(0, len(out), chunk):
        sl = slice(i, i + chunk)
        out[sl] = (a[fi[sl]] * qv[qi[sl]]).sum(-1).numpy()
    return Curves(out, offsets)


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def localise_curves(curves: Curves, durations: np.ndarray,
                    prepare: Callable[[np.ndarray], np.ndarray],
                    localise: Callable[[np.ndarray, float], list[list[float]]]) -> list[list[list[float]]]:
    """``prepare`` runs vectorised on all curves of one length at once (standardise, smooth);
    ``localise`` runs per query (peak finding), returning its ``[start, end, score]`` windows."""
    lengths = curves.lengths()
    out: list[list[list[float]]] = [[] for _ in range(len(curves))]
    for n in np.unique(lengths):
        idx = np.flatnonzero(lengths == n)
        block = curves.values[curves.offsets[idx][:, None] + np.arange(n)]
        block = prepare(block)
        for row, q in enumerate(idx):
            out[q] = localise(block[row], float(durations[q]))
    return out


def submission_records(gt: GroundTruth, windows: list[list[list[float]]]) -> list[dict[str, Any]]:
    """Submission lines in ground-truth order: ``{qid, query, vid, pred_relevant_windows}``."""
    return [{"qid": q, "query": text, "vid": vid, "pred_relevant_windows": w}
            for q, text, vid, w in zip(gt.qids, gt.queries, gt.vids, windows)]


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

