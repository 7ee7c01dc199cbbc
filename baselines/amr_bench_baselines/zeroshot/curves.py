"""What the zero-shot baselines share: reading a split's features, similarity curves, records.

Speed matters here (a Clotho-Moment test split: 6,649 queries over ~5,500 recordings, ~330k
frames) and the work is dominated by embedding every frame (JointProj: two 1024-d matmuls per
frame). So:

* every recording's frames are read and embedded exactly once, however many queries it has;
* recordings are processed in chunks of ~``CHUNK_FRAMES`` frames (bounded memory, one large
  matmul per chunk, torch's BLAS on all its threads), and a chunk's curves are one matmul of its
  embedded frames with the vectors of the queries on those recordings, from which each query's
  own frames are gathered (no Python loop over queries or frames);
* feature files are read by :func:`read_feature_file`, a fast path for the uncompressed ``.npz``
  files of the official layout that falls back to the feature store for anything else (and the
  feature store gives the errors).

Curves come back as one flat array with per-query offsets (``Curves``); localisation then works
per query on a curve of ``ceil(duration)`` samples at most.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from amr_bench.errors import InputError, UsageError, did_you_mean
from amr_bench.groundtruth import GroundTruth, load_ground_truth
from amr_bench_baselines.zeroshot.submission import submission_records as submission_records  # re-exported
from amr_bench_baselines.zeroshot.submission import write_submission as write_submission  # re-exported

SPLITS = ("train", "val", "test")
CHUNK_FRAMES = 2048


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
        raise UsageError(f"the dataset folder {root} does not exist (or is not a folder)")
    if not path.is_file():
        present = sorted(p.stem for p in root.glob("*.jsonl"))
        raise UsageError(
            f"no split {split!r} in {root} (no {path.name}){did_you_mean(split, present)}; "
            f"splits there: {', '.join(present) or 'none'}"
        )
    return SplitData(root, split, load_ground_truth(path))


def require_features(data: SplitData, text: bool = True, audio: bool = True) -> None:
    """Raise one ``InputError`` listing every missing feature file (never a silent skip)."""
    store = data.store
    records = [{"qid": q, "vid": v} for q, v in zip(data.gt.qids, data.gt.vids, strict=True)]
    problems = [
        p
        for p in store.missing(records)
        if (text or "text features" not in p.message) and (audio or "audio features" not in p.message)
    ]
    if problems:
        raise InputError(problems, f"{len(problems)} feature file(s) missing under {data.root}")


# --- reading feature files ---------------------------------------------------------------------

_HEADERS: dict[bytes, tuple[tuple[int, ...], np.dtype] | None] = {}


def _parse_npy_header(raw: bytes) -> tuple[tuple[int, ...], np.dtype] | None:
    """``(shape, dtype)`` of a C-ordered plain array from a ``.npy`` header dict, else None."""
    if raw not in _HEADERS:
        try:
            d = ast.literal_eval(raw.decode("latin1"))
            dtype = np.dtype(d["descr"])
            ok = isinstance(d, dict) and not d["fortran_order"] and not dtype.hasobject
            _HEADERS[raw] = (tuple(int(n) for n in d["shape"]), dtype) if ok else None
        except Exception:
            _HEADERS[raw] = None
    return _HEADERS[raw]


def _fast_npz_member(path: Path, key: str) -> np.ndarray | None:
    """Array ``key`` when it is the FIRST member of ``path``, stored (not compressed), as every
    ``.npz`` of the official layout is; ``None`` for anything else (the caller falls back)."""
    try:
        buf = path.read_bytes()
    except OSError:
        return None
    if len(buf) < 40 or buf[:4] != b"PK\x03\x04":
        return None
    flags = int.from_bytes(buf[6:8], "little")
    method = int.from_bytes(buf[8:10], "little")
    name_len = int.from_bytes(buf[26:28], "little")
    extra_len = int.from_bytes(buf[28:30], "little")
    if method != 0 or flags & 1 or buf[30 : 30 + name_len] != f"{key}.npy".encode():
        return None
    at = 30 + name_len + extra_len
    if buf[at : at + 6] != b"\x93NUMPY":
        return None
    major = buf[at + 6]
    if major == 1:
        hlen, at = int.from_bytes(buf[at + 8 : at + 10], "little"), at + 10
    elif major in (2, 3):
        hlen, at = int.from_bytes(buf[at + 8 : at + 12], "little"), at + 12
    else:
        return None
    parsed = _parse_npy_header(buf[at : at + hlen])
    if parsed is None:
        return None
    shape, dtype = parsed
    count = math.prod(shape)
    if len(buf) < at + hlen + count * dtype.itemsize:
        return None
    return np.frombuffer(buf, dtype=dtype, count=count, offset=at + hlen).reshape(shape)


def read_feature_file(store: Any, kind: str, name: Any) -> np.ndarray:
    """``store.audio(name)`` (kind "audio") or ``store.text(name)``, float32 (n>0, 768), fast.

    The same array as the feature store's; anything the fast path does not recognise (a
    compressed or odd file, a wrong shape, a missing file) goes through the store, which raises
    the ``InputError`` naming the file.
    """
    from amr_bench.datasets.features import AUDIO_KEY, TEXT_KEY

    path, key = (store.audio_path(name), AUDIO_KEY) if kind == "audio" else (store.text_path(name), TEXT_KEY)
    array = _fast_npz_member(path, key)
    if (
        array is None
        or array.ndim != 2
        or array.shape[0] == 0
        or array.shape[1] != store.dim
        or array.dtype != np.float32
    ):
        return store.audio(name) if kind == "audio" else store.text(name)
    return array


# --- audio banks and curves --------------------------------------------------------------------


@dataclass
class AudioBank:
    """Frames of some recordings: ``frames[offsets[r]:offsets[r+1]]`` is recording ``vids[r]``."""

    vids: list[str]
    offsets: np.ndarray
    frames: np.ndarray  # (N, 768) float32

    def row(self) -> dict[str, int]:
        return {v: i for i, v in enumerate(self.vids)}

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def chunks(self, max_frames: int = CHUNK_FRAMES) -> Iterator[AudioBank]:
        """Consecutive groups of whole recordings of about ``max_frames`` frames each."""
        r = 0
        while r < len(self.vids):
            stop = max(r + 1, int(np.searchsorted(self.offsets, self.offsets[r] + max_frames, side="right")) - 1)
            lo, hi = self.offsets[r], self.offsets[stop]
            yield AudioBank(self.vids[r:stop], self.offsets[r : stop + 1] - lo, self.frames[lo:hi])
            r = stop


def make_bank(vids: list[str], arrays: list[np.ndarray]) -> AudioBank:
    offsets = np.zeros(len(vids) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(a) for a in arrays])
    frames = np.concatenate(arrays).astype(np.float32, copy=False) if arrays else np.zeros((0, 768), np.float32)
    return AudioBank(list(vids), offsets, frames)


def split_vids(data: SplitData) -> list[str]:
    """The split's recordings, each once, in order of first appearance."""
    return list(dict.fromkeys(data.gt.vids))


def load_audio_bank(data: SplitData) -> AudioBank:
    store = data.store
    vids = split_vids(data)
    return make_bank(vids, [read_feature_file(store, "audio", v) for v in vids])


def iter_audio_chunks(data: SplitData, max_frames: int = CHUNK_FRAMES) -> Iterator[AudioBank]:
    """The split's recordings read lazily, in groups of about ``max_frames`` frames."""
    store = data.store
    vids, arrays, n = [], [], 0
    for v in split_vids(data):
        a = read_feature_file(store, "audio", v)
        vids.append(v)
        arrays.append(a)
        n += len(a)
        if n >= max_frames:
            yield make_bank(vids, arrays)
            vids, arrays, n = [], [], 0
    if vids:
        yield make_bank(vids, arrays)


def load_text_features(data: SplitData) -> list[np.ndarray]:
    store = data.store
    return [read_feature_file(store, "text", q) for q in data.gt.qids]


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
        return self.values[self.offsets[q] : self.offsets[q + 1]]


def _caps(durations: np.ndarray) -> np.ndarray:
    """Per query the most samples its curve may have: ``ceil(duration)`` (>= 1; no cap if <= 0)."""
    d = np.asarray(durations, dtype=np.float64)
    return np.where(d > 0, np.maximum(1, np.ceil(d)), 1 << 30).astype(np.int64)


@torch.inference_mode()
def split_curves(
    data: SplitData,
    query_vectors: torch.Tensor | np.ndarray,
    embed: Callable[[AudioBank], torch.Tensor],
    chunks: Iterator[AudioBank] | None = None,
) -> Curves:
    """Per query q (ground-truth order): ``embed(frames) @ query_vectors[q]`` over the frames of
    its recording, at most ``ceil(duration)`` of them (cosines when both sides are unit vectors).

    ``embed`` maps a chunk of whole recordings to one vector per frame; ``chunks`` defaults to
    the split's recordings read lazily (:func:`iter_audio_chunks`). Each recording is embedded
    once; a chunk's curves are one matmul with the vectors of the queries on its recordings.
    """
    qv = torch.as_tensor(query_vectors, dtype=torch.float32)
    n_q = len(data.gt.qids)
    row_of = {v: i for i, v in enumerate(split_vids(data))}
    rows = np.array([row_of[v] for v in data.gt.vids], dtype=np.int64)
    order = np.argsort(rows, kind="stable")  # queries grouped by recording
    sorted_rows = rows[order]
    caps = _caps(data.gt.durations)
    vids = list(row_of)
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    lengths = np.zeros(n_q, dtype=np.int64)
    first = 0  # row of the chunk's first recording
    for chunk in iter_audio_chunks(data) if chunks is None else chunks:
        last = first + len(chunk.vids)
        if chunk.vids != vids[first:last]:
            raise ValueError("audio chunks must hold the split's recordings in order")
        lo, hi = np.searchsorted(sorted_rows, [first, last])
        qs = order[lo:hi]
        if len(qs):
            local = rows[qs] - first
            n = np.minimum(chunk.lengths()[local], caps[qs])
            lengths[qs] = n
            sims = embed(chunk) @ qv[torch.from_numpy(qs)].T  # (frames of chunk, queries)
            col = np.repeat(np.arange(len(qs)), n)
            starts = np.repeat(chunk.offsets[local] - np.cumsum(n) + n, n)
            frame = starts + np.arange(n.sum())
            pieces.append((sims.numpy()[frame, col], qs, n))
        first = last
    offsets = np.zeros(n_q + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    values = np.empty(offsets[-1], dtype=np.float32)
    for vals, qs, n in pieces:
        dest = np.repeat(offsets[qs] - np.cumsum(n) + n, n) + np.arange(n.sum())
        values[dest] = vals
    return Curves(values, offsets)


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def localise_curves(
    curves: Curves,
    durations: np.ndarray,
    prepare: Callable[[np.ndarray], np.ndarray],
    localise: Callable[[np.ndarray, float], list[list[float]]],
) -> list[list[list[float]]]:
    """``prepare`` runs vectorised on all curves of one length at once (standardise, smooth);
    ``localise`` runs per query (peak finding), returning its ``[start, end, score]`` windows."""
    return localise_blocks(
        curves,
        durations,
        lambda block, durs: [localise(row, float(d)) for row, d in zip(prepare(block), durs, strict=True)],
    )


def localise_blocks(
    curves: Curves, durations: np.ndarray, localise: Callable[[np.ndarray, np.ndarray], list[list[list[float]]]]
) -> list[list[list[float]]]:
    """``localise(block, durations)`` on all curves of one length at once (a (Q, n) block),
    returning each row's windows; the result is in query order."""
    lengths = curves.lengths()
    durations = np.asarray(durations, dtype=np.float64)
    out: list[list[list[float]]] = [[] for _ in range(len(curves))]
    for n in np.unique(lengths):
        idx = np.flatnonzero(lengths == n)
        block = curves.values[curves.offsets[idx][:, None] + np.arange(n)]
        for q, windows in zip(idx, localise(block, durations[idx]), strict=True):
            out[q] = windows
    return out
