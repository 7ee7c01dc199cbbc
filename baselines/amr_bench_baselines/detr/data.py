"""Tensors for AM-DETR / LCS-DETR from a dataset folder in the DCASE 2026 / lighthouse layout.

One item = one query: its recording's audio frames (each L2-normalised, at most
``max_audio_frames``; frame i = [i, i+1) s) with the 2-d endpoint feature ``[i/T, (i+1)/T]``
appended, its text tokens (L2-normalised, the first ``max_text_tokens``), its moments as
(center, width) fractions of T (clipped to [0, T]; optionally jittered by +-``jitter`` of each
moment's length per endpoint; in training at most ``max_windows`` randomly chosen ones, as
lighthouse keeps 5), per-frame saliency labels (frames ``floor(s) .. ceil(e) - 1`` of every moment,
or of the first one only as lighthouse does: ``saliency_labels="first"``) and two sampled
in-moment / out-of-moment frames for the hinge loss (without replacement when
``pairs_without_replacement``, as QD-DETR samples them).

``data.targets="qd-detr"`` (the ``dcase2026`` preset) builds the targets as the official DCASE code
does instead (``official_targets``), and ``normalize_text=False`` / ``max_text_tokens=0`` feed every
stored text row as stored.

Negative pairs: each query is also paired with the text of the NEXT query of its global batch (the
batch rolled by one). ``PairedBatchSampler`` fixes the pairing and per-item randomness from
(seed, epoch, index) alone and hands every process a contiguous slice of each global batch, so
training under DistributedDataParallel sees exactly the batches of a single process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from amr_bench_baselines.detr.config import DataConfig
from amr_bench_baselines.detr.losses import Targets


def read_split(root: str | Path, split: str) -> list[dict]:
    """Ground-truth records of ``ROOT/<split>.jsonl`` (``InputError`` naming file:line if bad)."""
    from amr_bench.datasets import load_split

    return load_split(root, split)


def open_store(root: str | Path) -> Store:
    from amr_bench.datasets.features import FeatureStore

    return FeatureStore(root)


class Store(Protocol):
    def audio(self, vid: str) -> np.ndarray: ...
    def text(self, qid: Any) -> np.ndarray: ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def endpoint_feature(n: int) -> np.ndarray:
    i = np.arange(n, dtype=np.float32)
    return np.stack([i / n, (i + 1) / n], 1).astype(np.float32)


def frame_labels(windows: np.ndarray, n: int) -> np.ndarray:
    """(G,2) windows in seconds -> (n,) 1.0 on frames floor(s) .. ceil(e) - 1 of any window."""
    frames = np.arange(n)[:, None]
    if len(windows) == 0:
        return np.zeros(n, np.float32)
    inside = (frames >= np.floor(windows[:, 0])[None]) & (frames < np.ceil(windows[:, 1])[None])
    return inside.any(1).astype(np.float32)


def clip_windows(windows: np.ndarray, length: float) -> np.ndarray:
    w = np.clip(np.asarray(windows, np.float64).reshape(-1, 2), 0.0, length)
    return w[w[:, 1] > w[:, 0]]


def jitter_windows(windows: np.ndarray, fraction: float, length: float, rng: np.random.Generator) -> np.ndarray:
    if fraction <= 0 or len(windows) == 0:
        return windows
    span = (windows[:, 1] - windows[:, 0])[:, None]
    moved = windows + rng.uniform(-fraction, fraction, size=windows.shape) * span
    moved = np.clip(moved, 0.0, length)
    bad = moved[:, 1] <= moved[:, 0]
    moved[bad] = windows[bad]
    return moved


class MomentDataset:
    """Queries of one split; ``item(index, negative_index, epoch)`` builds one training example."""

    def __init__(
        self, records: list[dict], store: Store, cfg: DataConfig, train: bool, seed: int = 0, cache: bool = True
    ) -> None:
        self.records = records
        self.store = store
        self.cfg = cfg
        self.train = train
        self.seed = seed
        self.cache = cache
        self._audio: dict[str, np.ndarray] = {}
        self._text: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: tuple[int, int | None, int]) -> dict[str, Any]:
        """``(index, negative_index, epoch)`` from ``PairedBatchSampler`` (DataLoader protocol)."""
        return self.item(*key)

    def audio(self, vid: str, cap: int | None) -> np.ndarray:
        key = str(vid)
        a = self._audio.get(key)
        if a is None:
            a = (
                l2_normalise(np.asarray(self.store.audio(key), np.float32))
                if self.cfg.normalize
                else np.asarray(self.store.audio(key), np.float32)
            )
            if self.cache:
                self._audio[key] = a
        return a[:cap] if cap else a

    def text(self, qid: Any) -> np.ndarray:
        key = str(qid)
        t = self._text.get(key)
        if t is None:
            t = np.asarray(self.store.text(qid), np.float32)[: self.cfg.max_text_tokens or None]
            t = l2_normalise(t) if self.cfg.normalize and self.cfg.normalize_text else t
            if self.cache:
                self._text[key] = t
        return t

    def hinge_frames(self, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
        """Two in-moment and two out-of-moment frames for the hinge loss, and whether both exist."""
        inside, outside = np.flatnonzero(labels > 0), np.flatnonzero(labels == 0)
        if len(inside) == 0 or len(outside) == 0:
            return np.zeros(2, np.int64), np.zeros(2, np.int64), False
        once = self.cfg.pairs_without_replacement
        return sample_frames(inside, 2, once, rng), sample_frames(outside, 2, once, rng), True

    def item(self, index: int, negative: int | None = None, epoch: int = 0, cap: int | None = -1) -> dict[str, Any]:
        rec = self.records[index]
        audio = self.audio(rec["vid"], self.cfg.max_audio_frames if cap == -1 else cap)
        n = len(audio)
        rng = np.random.default_rng([self.seed, epoch, index])
        if self.cfg.targets == "qd-detr":
            raw = np.asarray(rec.get("relevant_windows") or np.zeros((0, 2)), np.float64).reshape(-1, 2)
            spans, labels, pos, neg, pair_ok = official_targets(raw, n, self.cfg.max_windows if self.train else 0, rng)
            return self.example(rec, audio, negative, spans, labels, pos, neg, pair_ok)
        windows = clip_windows(np.asarray(rec.get("relevant_windows") or np.zeros((0, 2))), float(n))
        if self.train:
            windows = jitter_windows(windows, self.cfg.jitter, float(n), rng)
        labels = frame_labels(windows[:1] if self.cfg.saliency_labels == "first" else windows, n)
        if self.train and 0 < self.cfg.max_windows < len(windows):
            windows = windows[np.sort(rng.permutation(len(windows))[: self.cfg.max_windows])]
        pos, neg, pair_ok = self.hinge_frames(labels, rng)
        spans = (
            np.stack([(windows[:, 0] + windows[:, 1]) / 2, windows[:, 1] - windows[:, 0]], 1) / n
            if len(windows)
            else np.zeros((0, 2))
        )
        return self.example(rec, audio, negative, spans, labels, pos, neg, pair_ok)

    def example(
        self,
        rec: dict,
        audio: np.ndarray,
        negative: int | None,
        spans: np.ndarray,
        labels: np.ndarray,
        pos: np.ndarray,
        neg: np.ndarray,
        pair_ok: bool,
    ) -> dict[str, Any]:
        n = len(audio)
        return {
            "audio": np.concatenate([audio, endpoint_feature(n)], 1),
            "text": self.text(rec["qid"]),
            "negative_text": self.text(self.records[negative]["qid"]) if negative is not None else None,
            "spans": spans.astype(np.float32),
            "labels": labels,
            "pos": pos,
            "neg": neg,
            "pair_ok": pair_ok,
            "record": rec,
            "frames": n,
        }


def official_targets(
    windows: np.ndarray, n: int, max_windows: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """The official ``StartEndDataset`` targets of one query (``data.targets="qd-detr"``).

    ``windows`` (G, 2) seconds as stored; ``n`` frames. Returns (spans, labels, pos, neg, pair_ok):

    - spans: at most ``max_windows`` windows (a random subset, in random order, when there are
      more; 0 = all, in file order), NOT clipped to the recording, as (centre, width) / n in float32;
    - labels: 1 on frames ``int(s) .. min(int(e), n) - 1`` of the FIRST of those windows (the first
      of the random order when there were more than ``max_windows``: the official code shuffles
      the record's list in place before it reads window 0), at least its last frame;
    - pos: two distinct frames of that run (the same frame twice when it is one frame long);
    - neg: two distinct frames outside it, or ``pos`` again when fewer than two exist (the hinge
      then still counts, as the official loss does); pair_ok is True whenever there is a window.
    """
    if len(windows) == 0:
        zeros = np.zeros(2, np.int64)
        return np.zeros((0, 2), np.float32), np.zeros(n, np.float32), zeros, zeros, False
    if 0 < max_windows < len(windows):
        windows = windows[rng.permutation(len(windows))[:max_windows]]
    xx = windows.astype(np.float32) / np.float32(n)
    spans = np.stack([(xx[:, 0] + xx[:, 1]) * np.float32(0.5), xx[:, 1] - xx[:, 0]], 1)
    first, last = int(windows[0, 0]), max(0, min(int(windows[0, 1]), n) - 1)
    first = min(first, last)
    labels = np.zeros(n, np.float32)
    labels[first : last + 1] = 1
    one_frame = first == last
    pos = np.array([first, first]) if one_frame else rng.choice(np.arange(first, last + 1), 2, replace=False)
    pool = np.concatenate([np.arange(0, first), np.arange(last + 1, n)])
    neg = rng.choice(pool, 2, replace=False) if len(pool) >= 2 else pos.copy()
    return spans, labels, pos.astype(np.int64), neg.astype(np.int64), True


def sample_frames(pool: np.ndarray, k: int, without_replacement: bool, rng: np.random.Generator) -> np.ndarray:
    """``k`` frames of ``pool``; without replacement when asked and the pool is large enough."""
    return rng.choice(pool, k, replace=not (without_replacement and len(pool) >= k))


@dataclass
class Batch:
    audio: Tensor
    audio_mask: Tensor
    text: Tensor
    text_mask: Tensor
    targets: Targets
    records: list[dict]
    frames: list[int]
    negative_text: Tensor | None = None
    negative_text_mask: Tensor | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def to(self, device: torch.device | str) -> Batch:
        mv = lambda t: t.to(device, non_blocking=True)
        mv_opt = lambda t: mv(t) if t is not None else None
        tg = self.targets
        return Batch(
            mv(self.audio),
            mv(self.audio_mask),
            mv(self.text),
            mv(self.text_mask),
            Targets(
                [mv(s) for s in tg.spans],
                mv(tg.saliency),
                mv(tg.audio_mask),
                mv(tg.pos_idx),
                mv(tg.neg_idx),
                mv(tg.pair_ok),
            ),
            self.records,
            self.frames,
            mv_opt(self.negative_text),
            mv_opt(self.negative_text_mask),
        )

    def model_inputs(self) -> dict[str, Tensor | None]:
        return {
            "audio": self.audio,
            "audio_mask": self.audio_mask,
            "text": self.text,
            "text_mask": self.text_mask,
            "negative_text": self.negative_text,
            "negative_text_mask": self.negative_text_mask,
        }


def pad(arrays: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    n = max(len(a) for a in arrays)
    out = np.zeros((len(arrays), n, arrays[0].shape[1]), np.float32)
    mask = np.zeros((len(arrays), n), bool)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
        mask[i, : len(a)] = True
    return torch.from_numpy(out), torch.from_numpy(mask)


def collate(items: list[dict[str, Any]]) -> Batch:
    audio, audio_mask = pad([it["audio"] for it in items])
    text, text_mask = pad([it["text"] for it in items])
    labels = np.zeros(audio_mask.shape, np.float32)
    for i, it in enumerate(items):
        labels[i, : len(it["labels"])] = it["labels"]
    neg_text = neg_mask = None
    if all(it["negative_text"] is not None for it in items):
        neg_text, neg_mask = pad([it["negative_text"] for it in items])
    targets = Targets(
        spans=[torch.from_numpy(it["spans"]) for it in items],
        saliency=torch.from_numpy(labels),
        audio_mask=audio_mask,
        pos_idx=torch.from_numpy(np.stack([it["pos"] for it in items]).astype(np.int64)),
        neg_idx=torch.from_numpy(np.stack([it["neg"] for it in items]).astype(np.int64)),
        pair_ok=torch.tensor([it["pair_ok"] for it in items], dtype=torch.float32),
    )
    return Batch(
        audio,
        audio_mask,
        text,
        text_mask,
        targets,
        [it["record"] for it in items],
        [it["frames"] for it in items],
        neg_text,
        neg_mask,
    )


class PairedBatchSampler:
    """Global batches from a (seed, epoch) permutation; this process's slice of each, with partners.

    Yields lists of ``(index, negative_index, epoch)``. A final global batch smaller than the number of
    processes is dropped (every process must see the same number of steps).
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1, shuffle: bool = True) -> None:
        if batch_size < world:
            raise ValueError(f"batch size {batch_size} is smaller than the number of processes {world}")
        self.n, self.batch_size, self.seed, self.rank, self.world, self.shuffle = (
            n,
            batch_size,
            seed,
            rank,
            world,
            shuffle,
        )
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_batches(self) -> list[np.ndarray]:
        order = (
            np.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle else np.arange(self.n)
        )
        batches = [order[i : i + self.batch_size] for i in range(0, self.n, self.batch_size)]
        return [b for b in batches if len(b) >= self.world]

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        for batch in self.global_batches():
            partners = np.roll(batch, -1)
            mine = np.array_split(np.arange(len(batch)), self.world)[self.rank]
            yield [(int(batch[i]), int(partners[i]), self.epoch) for i in mine]

    def __len__(self) -> int:
        return len(self.global_batches())


def train_loader(dataset: MomentDataset, sampler: PairedBatchSampler, workers: int = 0) -> Any:
    """A ``torch.utils.data.DataLoader`` over the sampler's batches (workers optional)."""
    from torch.utils.data import DataLoader

    return DataLoader(
        dataset,  # type: ignore[arg-type]  # a map-style dataset keyed by the sampler's tuples
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=workers,
        persistent_workers=workers > 0,
    )


def iterate_eval(dataset: MomentDataset, batch_size: int, cap: int | None = None) -> Iterator[Batch]:
    """Sequential batches without negatives; ``cap=None`` keeps recordings of any length."""
    for start in range(0, len(dataset), batch_size):
        yield collate([dataset.item(i, None, 0, cap) for i in range(start, min(start + batch_size, len(dataset)))])
