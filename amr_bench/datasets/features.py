"""The feature store: pre-extracted MS-CLAP features in the DCASE 2026 / lighthouse layout.

Layout of a dataset folder ``ROOT``::

    ROOT/clap/<vid>.npz             key "features",          float32 (T, 768)
    ROOT/clap_text/qid<qid>.npz     key "last_hidden_state", float32 (L, 768)

Time convention: audio frame ``i`` is the 768-d HTSAT embedding of the one-second window
``[i, i + 1)`` seconds (1 s window, 1 s hop). A moment ``[s, e]`` in seconds therefore covers
frames ``floor(s) .. ceil(e) - 1`` (:func:`seconds_to_frames`), and a run of frames ``a .. b``
(inclusive) maps back to the window ``[a, b + 1]`` seconds (:func:`frames_to_seconds`). A
recording of ``duration`` seconds has ``ceil(duration)`` frames; real feature files may differ by
one frame from that, so consumers should clip to ``len(features)`` rather than assert.

The text file holds the GPT-2 hidden states of the query tokens; its LAST row is the
``<|endoftext|>`` token that MS-CLAP pools and projects.

Files are opened only when asked for, and (for stored, uncompressed ``.npz`` members, which is
what this package writes) memory-mapped rather than read, so a store over thousands of
recordings costs nothing until used.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from amr_bench.datasets.npzio import read_npz_member, write_npz
from amr_bench.errors import InputError, Problem

AUDIO_DIR = "clap"
TEXT_DIR = "clap_text"
AUDIO_KEY = "features"
TEXT_KEY = "last_hidden_state"
FEATURE_DIM = 768


def seconds_to_frames(start: float, end: float) -> tuple[int, int]:
    """Frames ``(first, last_exclusive)`` overlapping the window ``[start, end)`` seconds."""
    return int(math.floor(start)), int(math.ceil(end))


def frames_to_seconds(first: int, last_inclusive: int) -> tuple[float, float]:
    """The window in seconds covered by frames ``first .. last_inclusive``."""
    return float(first), float(last_inclusive + 1)


class FeatureStore:
    """Lazy access to ``ROOT/clap`` and ``ROOT/clap_text``; see the module docstring."""

    def __init__(self, root: str | Path, mmap: bool = True, dim: int = FEATURE_DIM) -> None:
        self.root = Path(root)
        self.mmap = mmap
        self.dim = dim

    def audio_path(self, vid: str) -> Path:
        return self.root / AUDIO_DIR / f"{vid}.npz"

    def text_path(self, qid: str | int) -> Path:
        return self.root / TEXT_DIR / f"qid{qid}.npz"

    def has_audio(self, vid: str) -> bool:
        return self.audio_path(vid).is_file()

    def has_text(self, qid: str | int) -> bool:
        return self.text_path(qid).is_file()

    def audio(self, vid: str) -> np.ndarray:
        """Audio features of recording ``vid``: float32 (T, 768), frame i = [i, i+1) s."""
        return self._read(self.audio_path(vid), AUDIO_KEY, f"audio features of vid {vid!r}")

    def text(self, qid: str | int) -> np.ndarray:
        """Token features of query ``qid``: float32 (L, 768), last row = pooled token."""
        return self._read(self.text_path(qid), TEXT_KEY, f"text features of qid {qid!r}")

    def write_audio(self, vid: str, features: np.ndarray) -> Path:
        return write_npz(self.audio_path(vid), {AUDIO_KEY: self._checked(features, "audio")})

    def write_text(self, qid: str | int, hidden: np.ndarray) -> Path:
        return write_npz(self.text_path(qid), {TEXT_KEY: self._checked(hidden, "text")})

    def missing(self, records: list[dict]) -> list[Problem]:
        """One problem per vid/qid of ``records`` whose feature file is absent."""
        problems: list[Problem] = []
        seen: set[str] = set()
        for rec in records:
            vid = str(rec.get("vid"))
            if vid not in seen and not self.has_audio(vid):
                problems.append(Problem(str(self.audio_path(vid)), None, f"missing audio features for vid {vid!r}"))
            seen.add(vid)
            if not self.has_text(rec.get("qid")):
                problems.append(
                    Problem(
                        str(self.text_path(rec.get("qid"))), None, f"missing text features for qid {rec.get('qid')!r}"
                    )
                )
        return problems

    def _checked(self, array: np.ndarray, what: str) -> np.ndarray:
        array = np.asarray(array, dtype=np.float32)
        if array.ndim != 2 or array.shape[1] != self.dim or array.shape[0] == 0:
            raise ValueError(f"{what} features must have shape (n>0, {self.dim}), got {array.shape}")
        return array

    def _read(self, path: Path, key: str, what: str) -> np.ndarray:
        if not path.is_file():
            folder = path.parent
            hint = "" if folder.is_dir() else f" (the folder {folder} does not exist)"
            raise InputError(
                [Problem(str(path), None, f"missing {what}; searched the feature root {self.root}{hint}")],
                f"feature file not found: {path}",
            )
        try:
            array = read_npz_member(path, key, mmap=self.mmap)
        except (KeyError, ValueError) as exc:
            msg = exc.args[0] if exc.args else str(exc)
            raise InputError([Problem(str(path), None, f"{what}: {msg}")], f"unreadable feature file: {path}") from None
        if array.ndim != 2 or array.shape[1] != self.dim or array.shape[0] == 0:
            raise InputError(
                [
                    Problem(
                        str(path), None, f"{what}: array {key!r} has shape {array.shape}, expected (n>0, {self.dim})"
                    )
                ],
                f"bad feature file: {path}",
            )
        if array.dtype != np.float32:
            array = array.astype(np.float32)
        return array
