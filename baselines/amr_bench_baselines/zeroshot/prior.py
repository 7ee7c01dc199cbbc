"""The prior-only control: windows that ignore the audio and the query.

Every table should show what a system that listens to nothing scores: the same windows for every
query, learned from the ground truth of a fitting split (train or val), clipped to each
recording's duration. Two methods:

``best-windows`` (default): on a grid of windows ``[s, e]`` (whole seconds up to the longest
fitting recording; a coarser whole-second step past 300 s), the first window is the one with
the highest R1@θ on the fitting split (ties: the higher mean best-IoU); each next one, up to
``k``, is the window that reaches IoU ≥ θ for the most fitting queries no earlier window reached
(greedy coverage, which is what a ranked list needs for mAP). Every query gets the same ``k``
windows, scores ``k .. 1`` divided by ``k``.

``sample``: for each query, ``k`` windows drawn at random (seeded) from the fitting split's
annotated windows, as fractions of their recording's duration, scaled to the query's duration:
the distribution of moments without any choice.

Only numpy; no features, no model.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from amr_bench.errors import UsageError
from amr_bench.groundtruth import GroundTruth
from amr_bench_baselines.zeroshot.submission import submission_records

METHODS = ("best-windows", "sample")
CHUNK = 256  # candidate windows per IoU block (a block is CHUNK x annotated windows)
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


@dataclass
class PriorFit:
    """The fitted windows (seconds) and what they scored on the fitting split."""

    method: str
    windows: list[list[float]] = field(default_factory=list)  # best-windows: the k windows, rank order
    relative: np.ndarray | None = None  # sample: (n, 2) fractions of the duration
    fit_r1: float = 0.0  # best-windows: R1@θ of the first window on the fitting split
    fit_recall: float = 0.0  # best-windows: share of fitting queries some window reaches

    def describe(self) -> str:
        if self.method == "sample":
            n = 0 if self.relative is None else len(self.relative)
            return f"sample: windows drawn from {n} annotated windows (fractions of the duration)"
        shown = ", ".join(f"[{s:g}, {e:g}]" for s, e in self.windows)
        return (
            f"best-windows: {shown}; on the fitting split R1 of the first {100 * self.fit_r1:.2f}, "
            f"reached by any {100 * self.fit_recall:.2f}%"
        )


def _gt_arrays(gt: GroundTruth) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flat annotated windows (start, end), each one's query row, and each query's duration."""
    w = gt.windows
    rows = np.repeat(np.arange(w.n), w.counts)
    return w.start.astype(np.float64), w.end.astype(np.float64), rows, np.asarray(gt.durations, np.float64)


def candidate_grid(max_seconds: float, max_points: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """All windows ``[s, e]``, ``0 <= s < e <= ceil(max_seconds)``, on a grid of whole seconds
    (a coarser whole-second step when longer than ``max_points`` steps: at most ~45k windows)."""
    top = max(1, math.ceil(max_seconds))
    step = max(1, math.ceil(top / max_points))
    points = np.unique(np.minimum(np.arange(0, top + step, step), top)).astype(np.float64)
    s, e = np.triu_indices(len(points), k=1)
    return points[s], points[e]


def _candidate_hits(cs: np.ndarray, ce: np.ndarray, gt: GroundTruth, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate (clipped to each query's duration): the queries it reaches with IoU >= θ
    with one of their annotated windows (bit-packed rows), and its mean best IoU over queries."""
    gs, ge, rows, durations = _gt_arrays(gt)
    n_q = len(gt.qids)
    order = np.argsort(rows, kind="stable")
    gs, ge, rows = gs[order], ge[order], rows[order]
    d = durations[rows]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    hits = np.zeros((len(cs), (n_q + 7) // 8), dtype=np.uint8)
    mean_iou = np.zeros(len(cs))
    for lo in range(0, len(cs), CHUNK):
        s = np.minimum(cs[lo : lo + CHUNK, None], d[None])
        e = np.minimum(ce[lo : lo + CHUNK, None], d[None])
        inter = np.clip(np.minimum(e, ge[None]) - np.maximum(s, gs[None]), 0, None)
        union = np.maximum(e, ge[None]) - np.minimum(s, gs[None])
        iou = inter / np.where(union > 0, union, np.inf)
        best = np.zeros((len(s), n_q))
        best[:, rows[starts]] = np.maximum.reduceat(iou, starts, axis=1)
        hits[lo : lo + CHUNK] = np.packbits(best >= theta - 1e-9, axis=1)
        mean_iou[lo : lo + CHUNK] = best.mean(axis=1)
    return hits, mean_iou


def fit_best_windows(gt: GroundTruth, k: int = 10, theta: float = 0.7) -> PriorFit:
    """Greedy best fixed windows on ``gt`` (see the module docstring)."""
    durations = np.asarray(gt.durations, np.float64)
    cs, ce = candidate_grid(float(durations.max()) if len(durations) else 1.0)
    hits, mean_iou = _candidate_hits(cs, ce, gt, theta)
    counts = _POPCOUNT[hits].sum(axis=1)
    first = int(np.lexsort((-mean_iou, -counts))[0])
    chosen, covered = [first], hits[first].copy()
    while len(chosen) < min(k, len(cs)):
        gain = _POPCOUNT[hits & ~covered].sum(axis=1)
        gain[chosen] = -1
        nxt = int(np.lexsort((-mean_iou, -gain))[0])
        chosen.append(nxt)
        covered |= hits[nxt]
    n_q = max(1, len(gt.qids))
    return PriorFit(
        "best-windows",
        windows=[[float(cs[i]), float(ce[i])] for i in chosen],
        fit_r1=float(counts[first] / n_q),
        fit_recall=float(_POPCOUNT[covered].sum() / n_q),
    )


def fit_sample(gt: GroundTruth) -> PriorFit:
    """The annotated windows of ``gt`` as fractions of their recording's duration."""
    gs, ge, rows, durations = _gt_arrays(gt)
    d = durations[rows]
    keep = (d > 0) & (ge > gs)
    rel = np.clip(np.stack([gs[keep] / d[keep], ge[keep] / d[keep]], axis=1), 0.0, 1.0)
    rel = rel[rel[:, 1] > rel[:, 0]]
    if not len(rel):
        raise UsageError("the fitting split has no windows inside its recordings")
    return PriorFit("sample", relative=rel)


def fit_prior(gt: GroundTruth, method: str = "best-windows", k: int = 10, theta: float = 0.7) -> PriorFit:
    if method not in METHODS:
        raise UsageError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not gt.has_windows or not len(gt.windows.start):
        raise UsageError(f"the fitting ground truth {gt.name} has no relevant windows")
    return fit_best_windows(gt, k, theta) if method == "best-windows" else fit_sample(gt)


def _clipped(windows: list[list[float]], duration: float) -> list[list[float]]:
    """Windows clipped to ``[0, duration]`` (no clipping without a duration); empty ones dropped."""
    if not duration > 0:
        return [list(w) for w in windows]
    out = [[min(s, duration), min(e, duration), score] for s, e, score in windows]
    return [w for w in out if w[1] > w[0]]


def prior_records(fit: PriorFit, gt: GroundTruth, k: int = 10, seed: int = 0) -> list[dict[str, Any]]:
    """Submission records of the prior for every query of ``gt`` (ground-truth order)."""
    durations = np.asarray(gt.durations, np.float64)
    if fit.method == "best-windows":
        n = len(fit.windows)
        ranked = [[s, e, round((n - r) / n, 6)] for r, (s, e) in enumerate(fit.windows)]
        windows = [_clipped(ranked, float(d)) for d in durations]
    else:
        assert fit.relative is not None
        rng = np.random.default_rng(seed)
        draws = fit.relative[rng.integers(0, len(fit.relative), size=(len(durations), k))]
        scores = [round((k - r) / k, 6) for r in range(k)]
        windows = [
            [[round(float(a * d), 3), round(float(b * d), 3), sc] for (a, b), sc in zip(rows, scores, strict=True)]
            for rows, d in zip(draws, np.where(durations > 0, durations, 1.0), strict=True)
        ]
    return submission_records(gt, windows)


EXAMPLE_FIT = "castella/train"  # the DCASE 2026 Task 6 development training split


@functools.lru_cache(maxsize=1)
def example_fit() -> PriorFit:
    """The windows of :func:`example_submission` (fitted once per process: seconds on castella/train)."""
    from amr_bench.groundtruth import load_ground_truth

    return fit_prior(load_ground_truth(EXAMPLE_FIT), "best-windows", 10, 0.7)


def example_submission(gt: GroundTruth) -> tuple[list[dict[str, Any]], str]:
    """An example submission for the queries of ``gt`` and its label: the prior-only control (10 fixed
    windows fitted on castella/train), as ``amr-bench baseline prior --fit castella/train`` writes it.

    Registered under the ``amr_bench.example_submissions`` entry point group (Codabench starting kits).
    """
    return prior_records(example_fit(), gt, 10), f"prior-only control (10 fixed windows fitted on {EXAMPLE_FIT})"
