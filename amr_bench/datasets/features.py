"""The feature store: pre-extracted MS-CLAP features in the DCASE 2026 / lighthouse layout.

Layout of a dataset folder ``ROOT``::

    ROOT/clap/<vid>.npz             key "features",          float32 (T, 768)
    ROOT/clap_text/qid<qid>.npz     key "last_hidden_state", float32 (L, 768)

Time convention: audio frame ``i`` is the 768-d HTSAT embedding of the one-second window
``[i, i + 1)`` seconds (1 s window, 1 s hop). A moment ``[s, e]`` in seconds therefore covers
frames ``floor(s) .. ceil(e) - 1`` (:func:`seconds_to_frames`), and a run of frames ``a .. b``
(inclusive) maps back to the window ``[a, b + 1]`` seconds (:func:`frames_to_seconds`).

How many frames a recording of ``duration`` seconds has depends on the extractor's framing:
``T = floor(duration)`` (lighthouse's extractor), ``T + 1`` (the Lighthouse-Wrapper script, windows
centred on each second) or ``ceil(duration)`` (a 7-s repeat of each second's clip); consumers clip
to ``len(features)`` rather than assert, and :func:`framing_census` tells which framing a folder's
frame counts imply.

The text file holds the GPT-2 hidden states of the query tokens; when trimmed to the query's
tokens its LAST row is the ``<|endoftext|>`` token that MS-CLAP pools and projects. Files padded to
77 tokens carry (or need) an ``attention_mask`` array beside the hidden states.

Files are opened only when asked for, and (for stored, uncompressed ``.npz`` members, which is
what this package writes) memory-mapped rather than read, so a store over thousands of
recordings costs nothing until used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from amr_bench.datasets.npzio import read_npz_member, write_npz
from amr_bench.errors import InputError, Problem

AUDIO_DIR = "clap"
TEXT_DIR = "clap_text"
AUDIO_KEY = "features"
TEXT_KEY = "last_hidden_state"
TEXT_MASK_KEY = "attention_mask"
FEATURE_DIM = 768


def seconds_to_frames(start: float, end: float) -> tuple[int, int]:
    """Frames ``(first, last_exclusive)`` overlapping the window ``[start, end)`` seconds."""
    return math.floor(start), math.ceil(end)


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

    def write_text(self, qid: str | int, hidden: np.ndarray, mask: np.ndarray | None = None) -> Path:
        """Hidden states ``(L, 768)`` and, when given, their ``(L,)`` attention mask beside them."""
        arrays = {TEXT_KEY: self._checked(hidden, "text")}
        if mask is not None:
            if np.shape(mask) != (len(arrays[TEXT_KEY]),):
                raise ValueError(f"the mask must have shape ({len(arrays[TEXT_KEY])},), got {np.shape(mask)}")
            arrays[TEXT_MASK_KEY] = np.asarray(mask)
        return write_npz(self.text_path(qid), arrays)

    def audio_frames(self, vid: str) -> int:
        """Number of frames of recording ``vid`` (reads the array header only, memory-mapped)."""
        return len(self.audio(vid))

    def missing(self, records: list[dict]) -> list[Problem]:
        """One problem per vid/qid of ``records`` whose feature file is absent."""
        problems: list[Problem] = []
        seen: set[str] = set()
        for rec in records:
            vid = str(rec.get("vid"))
            if vid not in seen and not self.has_audio(vid):
                problems.append(Problem(str(self.audio_path(vid)), None, f"missing audio features for vid {vid!r}"))
            seen.add(vid)
            qid: Any = rec.get("qid")
            if not self.has_text(qid):
                problems.append(Problem(str(self.text_path(qid)), None, f"missing text features for qid {qid!r}"))
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


# --- which framing made the frames -----------------------------------------------------------

FRAME_RULES = {
    "T": "floor(duration) frames: lighthouse's extractor (unpadded 1-s clips)",
    "T+1": "floor(duration) + 1 frames: the Lighthouse-Wrapper script (centred, half-window padding)",
}


def frame_rule(frames: int, duration: float) -> str:
    """``"T"``, ``"T+1"`` or ``"other"`` for a recording of ``duration`` s with ``frames`` frames."""
    whole = math.floor(duration)
    return "T" if frames == whole else "T+1" if frames == whole + 1 else "other"


@dataclass
class FramingCensus:
    """How many recordings have ``floor(duration)`` (T), T + 1 or other frame counts."""

    counts: dict[str, int] = field(default_factory=lambda: {"T": 0, "T+1": 0, "other": 0})
    examples: list[str] = field(default_factory=list)  # a few "other" recordings
    whole_seconds: int = 0  # recordings of a whole number of seconds (ceil = floor)

    def verdict(self) -> str:
        """One line: the framing the counts imply, and how sure that is."""
        total = sum(self.counts.values())
        if not total:
            return "no recordings with a duration to compare the frame counts with"
        rule, n = max(self.counts.items(), key=lambda kv: kv[1])
        others = ", ".join(f"{k}: {v}" for k, v in self.counts.items() if k != rule and v)
        examples = f" (other: e.g. {', '.join(self.examples)})" if self.examples else ""
        if rule == "other":
            return f"frame counts match neither T = floor(duration) nor T + 1 for {n} of {total} recordings{examples}"
        text = FRAME_RULES[rule]
        if rule == "T" and self.whole_seconds == total:
            text += " (or a 7-s repeat: every duration is whole, so ceil = floor)"
        if rule == "T+1" and self.whole_seconds == 0:
            text += " (or a 7-s repeat: no duration is whole, so ceil = floor + 1)"
        return f"{n} of {total} recordings have {text}" + (f"; {others}{examples}" if others else "")


def framing_census(frames: Mapping[str, int], durations: Mapping[str, float], max_examples: int = 3) -> FramingCensus:
    """Classify each recording's frame count against its duration (:func:`frame_rule`)."""
    census = FramingCensus()
    for vid, n in frames.items():
        duration = float(durations[vid])
        rule = frame_rule(n, duration)
        census.counts[rule] += 1
        census.whole_seconds += duration == math.floor(duration)
        if rule == "other" and len(census.examples) < max_examples:
            census.examples.append(f"{vid} ({n} frames, {duration:g} s)")
    return census


def store_framing_census(store: FeatureStore, records: Iterable[Mapping[str, object]]) -> FramingCensus:
    """:func:`framing_census` of the recordings of ground-truth ``records`` (their ``duration``)."""
    durations: dict[str, float] = {}
    for rec in records:
        duration = rec.get("duration")
        if isinstance(duration, (int, float)) and not isinstance(duration, bool):
            durations.setdefault(str(rec.get("vid")), float(duration))
    return framing_census({vid: store.audio_frames(vid) for vid in durations}, durations)
