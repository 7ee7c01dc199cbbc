"""Ragged per-query windows stored flat (CSR style), and padding them to dense arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RaggedWindows:
    """Windows of ``n`` queries: query ``i`` owns rows ``offsets[i]:offsets[i+1]``.

    ``has_score`` tells which windows came with a score (``score`` is NaN where not).
    """

    start: np.ndarray
    end: np.ndarray
    score: np.ndarray
    offsets: np.ndarray
    has_score: np.ndarray

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row_of_window(self) -> np.ndarray:
        """For every flat window, the index of the query it belongs to."""
        return np.repeat(np.arange(self.n), self.counts)

    def take(self, rows: np.ndarray) -> RaggedWindows:
        """The windows of the queries ``rows`` (in that order)."""
        rows = np.asarray(rows, dtype=np.int64)
        counts = self.counts[rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        flat = _flat_index(self.offsets[rows], counts, int(offsets[-1]))
        return RaggedWindows(self.start[flat], self.end[flat], self.score[flat], offsets, self.has_score[flat])

    def select_windows(self, keep: np.ndarray) -> RaggedWindows:
        """Keep the flat windows where ``keep`` is true (queries may become empty)."""
        counts = np.bincount(self.row_of_window()[keep], minlength=self.n)
        offsets = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return RaggedWindows(self.start[keep], self.end[keep], self.score[keep], offsets, self.has_score[keep])

    def padded(self, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Dense ``(n, width)`` start, end, score and validity mask of each query's first windows."""
        cols = np.arange(width)
        counts = self.counts
        valid = cols[None, :] < counts[:, None]
        idx = self.offsets[:-1, None] + cols[None, :]
        if len(self.start):
            idx = np.where(valid, idx, 0)
            return self.start[idx], self.end[idx], self.score[idx], valid
        z = np.zeros(valid.shape)
        return z, z, z, valid


def _flat_index(starts: np.ndarray, counts: np.ndarray, total: int) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for every (s, c), without a Python loop."""
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    first_pos = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=first_pos[1:])
    return starts[owner] + (np.arange(total) - first_pos[owner])
