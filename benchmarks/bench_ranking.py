"""Speed of ranking with uncertainty: 60 systems x 1,347 queries (CASTELLA test size), 1,000 resamples.

Measures, on random per-query matrices shaped like a real leaderboard:
- the shared resample matrix + bootstrap intervals for 5 metrics of every system (one matrix product),
- the full ``rank_matrices`` (ordering, exact ties, CIs, Holm-corrected neighbour/baseline tests, tiers),
- for contrast, a naive bootstrap that loops over systems and resamples (fancy indexing per resample).

Run: ``python benchmarks/bench_ranking.py [--systems 60 --queries 1347 --resamples 1000]``
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from amr_bench import stats
from amr_bench.leaderboard.ranking import RankSettings, rank_matrices
from amr_bench.leaderboard.store import Entry, GroupKey


def _best_of(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--systems", type=int, default=60)
    ap.add_argument("--queries", type=int, default=1347)
    ap.add_argument("--resamples", type=int, default=1000)
    args = ap.parse_args()
    s, q, b = args.systems, args.queries, args.resamples
    rng = np.random.default_rng(0)
    rates = np.linspace(0.05, 0.5, s)
    matrices = {
        "R1@0.7": (rng.random((s, q)) < rates[:, None]).astype(np.float64),
        "R1@0.5": (rng.random((s, q)) < (rates[:, None] + 0.1)).astype(np.float64),
        "mAP": rng.random((s, q)) * rates[:, None],
        "mAP@0.5": rng.random((s, q)) * rates[:, None],
        "mAP@0.75": rng.random((s, q)) * rates[:, None],
    }
    group = GroupKey("bench", "g", "m")
    base = Entry(
        submission_id=0,
        team="t",
        system="s",
        synthetic=False,
        baseline=False,
        meta={},
        group=group,
        version=1,
        sha256="",
        size=0,
        file_name="",
        added_at="",
        status="ok",
        problems=[],
        signature={},
    )
    entries = [replace(base, submission_id=i, system=f"s{i}", baseline=(i == 0)) for i in range(s)]
    settings = RankSettings(resamples=b)

    stacked = np.concatenate(list(matrices.values()))

    def vectorised_ci() -> None:
        stats.bootstrap_ci(stacked, n_resamples=b, seed=0)

    def full_ranking() -> None:
        rank_matrices(group, entries, [], matrices, settings)

    def naive_ci() -> None:  # one system at a time, one resample at a time
        r = np.random.default_rng(0)
        for row in matrices["R1@0.7"]:
            means = np.array([row[r.integers(0, q, q)].mean() for _ in range(b)])
            np.quantile(means, [0.025, 0.975])

    t_vec = _best_of(vectorised_ci)
    t_rank = _best_of(full_ranking)
    t_naive = _best_of(naive_ci, repeat=1)
    print(f"{s} systems x {q} queries, {b} resamples")
    print(f"  bootstrap CIs, 5 metrics x {s} systems (vectorised): {t_vec:.3f} s")
    print(f"  full ranking (order, ties, CIs, Holm tests, tiers):   {t_rank:.3f} s")
    print(f"  naive loop, 1 metric x {s} systems:                   {t_naive:.3f} s")
    print(f"  speed-up per metric, vectorised vs naive: {t_naive / (t_vec / 5):.0f}x")


if __name__ == "__main__":
    main()
