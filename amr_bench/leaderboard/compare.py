"""Paired comparison of two submissions on the same ground truth (``amr-bench compare``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from amr_bench import stats
from amr_bench.leaderboard.ranking import per_query_column


@dataclass
class Comparison:
    names: tuple[str, str]
    metric: str
    n_queries: int
    means: tuple[float, float]
    cis: tuple[tuple[float, float], tuple[float, float]]
    delta: float
    delta_ci: tuple[float, float]
    p_bootstrap: float
    p_signflip: float
    wins: tuple[int, int]  # queries where A > B, B > A
    settings: dict[str, Any]


def compare_matrices(
    a: np.ndarray,
    b: np.ndarray,
    names: tuple[str, str],
    metric: str,
    seed: int = stats.DEFAULT_SEED,
    resamples: int = stats.DEFAULT_RESAMPLES,
    permutations: int = stats.DEFAULT_PERMUTATIONS,
    level: float = 0.95,
) -> Comparison:
    x = np.stack([a, b, a - b])
    q = x.shape[1]
    w = stats.resample_counts(q, resamples, seed)
    sums = stats.resampled_sums(x, w)
    tail = (1 - level) / 2
    low, high = np.quantile(sums / q, [tail, 1 - tail], axis=0)
    observed = x[:2].sum(axis=1)
    p_boot = float(stats.paired_bootstrap_pvalues(sums[:, :2], observed, [(0, 1)])[0])
    p_flip = float(stats.signflip_pvalues(x[:2], [(0, 1)], permutations, seed)[0])
    return Comparison(
        names=names,
        metric=metric,
        n_queries=q,
        means=(float(a.mean()), float(b.mean())),
        cis=((float(low[0]), float(high[0])), (float(low[1]), float(high[1]))),
        delta=float((a - b).mean()),
        delta_ci=(float(low[2]), float(high[2])),
        p_bootstrap=p_boot,
        p_signflip=p_flip,
        wins=(int(np.sum(a > b)), int(np.sum(b > a))),
        settings={"resamples": resamples, "permutations": permutations, "seed": seed, "level": level},
    )


def compare_files(
    a: Path,
    b: Path,
    gt: Any,
    metric: str,
    seed: int = stats.DEFAULT_SEED,
    resamples: int = stats.DEFAULT_RESAMPLES,
    permutations: int = stats.DEFAULT_PERMUTATIONS,
) -> Comparison:
    """Score both files against ``gt`` (a loaded ground truth) and compare them query by query."""
    from amr_bench.scoring import score

    col = per_query_column(metric)
    ra, rb = score(a, gt), score(b, gt)
    return compare_matrices(
        ra.per_query[col].to_numpy(np.float64),
        rb.per_query[col].to_numpy(np.float64),
        (str(a), str(b)),
        metric,
        seed,
        resamples,
        permutations,
    )


def format_comparison(c: Comparison) -> str:
    lv = int(c.settings["level"] * 100)
    lines = [
        f"{c.metric} on {c.n_queries} queries ({lv}% bootstrap intervals, "
        f"{c.settings['resamples']} resamples, seed {c.settings['seed']})"
    ]
    for name, m, (lo, hi) in zip(c.names, c.means, c.cis, strict=True):
        lines.append(f"  {name}: {100 * m:.2f} [{100 * lo:.2f}, {100 * hi:.2f}]")
    lines.append(
        f"  A - B: {100 * c.delta:+.2f} [{100 * c.delta_ci[0]:+.2f}, {100 * c.delta_ci[1]:+.2f}]"
        f"; A better on {c.wins[0]} queries, B on {c.wins[1]}"
    )
    boot = _p_text(c.p_bootstrap, c.settings["resamples"])
    flip = _p_text(c.p_signflip, c.settings["permutations"])
    lines.append(
        f"  paired bootstrap p {boot}; sign-flip randomisation p {flip} ({c.settings['permutations']} permutations)"
    )
    verdict = "significant" if max(c.p_bootstrap, c.p_signflip) < 0.05 else "not significant"
    lines.append(f"  difference {verdict} at alpha = 0.05 (both tests)")
    return "\n".join(lines)


def _p_text(p: float, draws: int) -> str:
    """``= 0.0123``, or ``< 0.0010`` at the floor 1/(draws + 1): no draw was as extreme, the true p is smaller."""
    if p <= (1 + 1e-9) / (draws + 1):
        return f"< {math.ceil(p * 10_000 - 1e-9) / 10_000:.4f}"
    return f"= {p:.4f}"
