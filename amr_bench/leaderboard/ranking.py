"""Ranking one group of results (same benchmark, ground truth and metric signature).

- Order: by the chosen metric (default R1@0.7), then the DCASE tie-breaks R1@0.5 and mAP, all
  compared on exact per-query sums (``math.fsum``; for R1 the integer hit count, so 86/177 equals
  86/177 whatever the float rounding). Rows equal on every key share a rank (1, 1, 1, 4...);
  rows equal on the primary metric but separated by a tie-break say so (``tie_broken_by``).
- Uncertainty: one seeded bootstrap resample matrix for the group; 95% percentile intervals for
  every shown metric of every row from one matrix product.
- Tests on the primary metric: paired bootstrap over the same resamples (or sign-flip
  randomisation) between each row and the next, and between every row and the baseline, each
  family Holm-corrected; significance tiers (rows that cannot be told apart from a tier leader).
- Rows that failed validation come last, unranked, with their problems and version (a failed
  attempt after a valid version is listed there; the valid version keeps its rank).
- Equal-IoU ties (docs/scorer.md, "Equal IoU"): when some entry has queries whose AP depends on
  the order in which equal-IoU ground-truth windows are matched, the group is ranked again with
  every entry's AP columns scored in the other order; a row whose rank or interval differs there
  carries a note (``tie_note``) saying what would change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from amr_bench import stats
from amr_bench.leaderboard.store import Entry, GroupKey, Store
from amr_bench.metrics import OTHER_ORDER_PREFIX

RANKING_VERSION = "amr-bench-ranking-v1"
DEFAULT_METRIC = "R1@0.7"
DEFAULT_TIE_BREAKS = ("R1@0.5", "mAP")
CI_METRICS = ("R1@0.7", "R1@0.5", "mAP", "mAP@0.5", "mAP@0.75")
PValues = Callable[[list[tuple[int, int]]], np.ndarray]


@dataclass(frozen=True)
class RankSettings:
    metric: str = DEFAULT_METRIC
    tie_breaks: tuple[str, ...] = DEFAULT_TIE_BREAKS
    resamples: int = stats.DEFAULT_RESAMPLES
    seed: int = stats.DEFAULT_SEED
    level: float = stats.DEFAULT_LEVEL
    alpha: float = stats.DEFAULT_ALPHA
    test: stats.Test = "bootstrap"
    permutations: int = stats.DEFAULT_PERMUTATIONS
    baseline: str | None = None  # "team/system" or a system name
    ci_metrics: tuple[str, ...] = CI_METRICS

    def signature(self) -> dict[str, Any]:
        test: dict[str, Any] = {"alpha": self.alpha, "correction": "holm", "sided": "two"}
        if self.test == "bootstrap":
            test["kind"] = "paired-bootstrap(shared resamples, centred)"
        else:
            test.update(kind="sign-flip randomisation", permutations=self.permutations)
        return {
            "ranking": RANKING_VERSION,
            "metric": self.metric,
            "tie_breaks": list(self.tie_breaks),
            "bootstrap": {
                "resamples": self.resamples,
                "seed": self.seed,
                "level": self.level,
                "interval": "percentile",
            },
            "test": test,
            "baseline": self.baseline,
        }


@dataclass
class Row:
    entry: Entry
    rank: int | None = None
    shared_rank: bool = False
    tie_broken_by: str | None = None
    tier: int | None = None
    values: dict[str, float] = field(default_factory=dict)
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)  # exact R1 hit counts (out of n_queries)
    p_next: float | None = None  # Holm-adjusted, against the next ranked row
    p_baseline: float | None = None  # Holm-adjusted, against the baseline
    p_leader: float | None = None  # Holm-adjusted, against the leader of the row's tier
    p_tier_start: float | None = None  # a tier leader's Holm-adjusted p against the previous tier's leader
    # which of those p-values are at the resampling floor ("next", "baseline", "leader", "tier_start"):
    # no resample was as extreme, so the true p-value is below the one written
    p_floor: set[str] = field(default_factory=set)
    tie_note: str | None = None  # what would change under the other equal-IoU tie order

    @property
    def ok(self) -> bool:
        return self.entry.status == "ok"

    @property
    def label(self) -> str:
        return f"{self.entry.team}/{self.entry.system}"


@dataclass
class Ranking:
    group: GroupKey
    settings: RankSettings
    rows: list[Row]
    n_queries: int
    baseline_label: str | None
    notes: list[str] = field(default_factory=list)
    excluded_invalid: bool = False  # failed entries left out (``rank --exclude-invalid``)
    excluded_synthetic: bool = False  # synthetic entries left out before ranking (``--exclude-synthetic``)

    def signature(self) -> dict[str, Any]:
        return self.settings.signature()


def per_query_column(metric: str) -> str:
    """Per-query column whose mean is ``metric``."""
    if metric.startswith("mAP@"):
        return "AP@" + metric[4:]
    if metric == "mIoU@1":
        return "IoU@1"
    return metric


def rank_group(
    store: Store,
    group: GroupKey,
    settings: RankSettings = RankSettings(),
    exclude_invalid: bool = False,
    exclude_synthetic: bool = False,
) -> Ranking:
    """Rank one group; ``exclude_synthetic`` leaves synthetic entries out *before* ranking (ranks,
    intervals' rows, p-values and tiers are those of the rest), ``exclude_invalid`` drops failed rows."""
    entries = [e for e in store.entries(group) if not (exclude_synthetic and e.synthetic)]
    good = [e for e in entries if e.status == "ok"]
    bad = sorted((e for e in entries if e.status != "ok" and not exclude_invalid), key=lambda e: (e.team, e.system))
    keys = (settings.metric, *settings.tie_breaks)
    cells = tuple(dict.fromkeys((*keys, *settings.ci_metrics)))
    ids = [e.submission_id for e in good]
    matrices = {m: store.matrix(ids, per_query_column(m)) for m in cells} if good else {}
    ranking = rank_matrices(group, good, bad, matrices, settings)
    ranking.excluded_invalid, ranking.excluded_synthetic = exclude_invalid, exclude_synthetic
    columns = {sid: set(store.per_query_columns(sid)) for sid in ids}
    sensitive = _tie_sensitive_queries(store, ids, columns)
    if any(sensitive.values()):
        other = rank_matrices(group, good, [], _other_tie_order(store, ids, matrices, columns), settings)
        note_tie_order(ranking, other, sensitive)
    return ranking


def _tie_sensitive_queries(store: Store, ids: list[int], columns: dict[int, set[str]]) -> dict[int, int]:
    """Tie-sensitive queries per entry (0 for entries stored before they were recorded), one read."""
    flagged = [sid for sid in ids if "tie_sensitive" in columns[sid]]
    counts = store.matrix(flagged, "tie_sensitive").sum(axis=1) if flagged else []
    found = dict(zip(flagged, (int(c) for c in counts), strict=True))
    return {sid: found.get(sid, 0) for sid in ids}


def _other_tie_order(
    store: Store, ids: list[int], matrices: dict[str, np.ndarray], columns: dict[int, set[str]]
) -> dict[str, np.ndarray]:
    """The per-query matrices with every AP column taken from the other tie order where stored."""
    out = {}
    for m, x in matrices.items():
        column = per_query_column(m)
        if column != "mAP" and not column.startswith("AP@"):
            out[m] = x  # R1, R5 and IoU@1 never depend on the tie order
            continue
        other = OTHER_ORDER_PREFIX + column
        stored = [i for i, sid in enumerate(ids) if other in columns[sid]]
        y = x.copy()
        if stored:
            y[stored] = store.matrix([ids[i] for i in stored], other)
        out[m] = y
    return out


def note_tie_order(ranking: Ranking, other: Ranking, sensitive: dict[int, int]) -> None:
    """Note on each row of ``ranking`` whose rank or interval is different in ``other`` (the same
    entries ranked with the other equal-IoU tie order)."""
    by_id = {row.entry.submission_id: row for row in other.rows}
    for row in ranking.rows:
        alt = by_id.get(row.entry.submission_id)
        if not row.ok or alt is None:
            continue
        changes = []
        if alt.rank != row.rank:
            changes.append(f"rank {row.rank} -> {alt.rank}")
        for m, (lo, hi) in row.ci.items():
            if alt.ci.get(m) != (lo, hi):
                a_lo, a_hi = alt.ci[m]
                changes.append(f"{m} interval [{100 * lo:.2f}, {100 * hi:.2f}] -> [{100 * a_lo:.2f}, {100 * a_hi:.2f}]")
        if changes:
            n = sensitive.get(row.entry.submission_id, 0)
            row.tie_note = (
                f"with equal-IoU ground-truth windows matched in the other order ({n} tie-sensitive "
                f"quer{'y' if n == 1 else 'ies'} in this entry; docs/scorer.md, 'Equal IoU'): " + "; ".join(changes)
            )
            ranking.notes.append(f"{row.label}: {row.tie_note}")


def rank_matrices(
    group: GroupKey,
    good: Sequence[Entry],
    bad: Sequence[Entry],
    matrices: dict[str, np.ndarray],
    settings: RankSettings,
) -> Ranking:
    """Rank entries given their per-query matrices (``metric -> (len(good), queries)``)."""
    keys = (settings.metric, *settings.tie_breaks)
    n = len(good)
    q = next(iter(matrices.values())).shape[1] if matrices else 0
    sums = {m: np.array([math.fsum(row.tolist()) for row in x]) for m, x in matrices.items()}
    order = sorted(range(n), key=lambda i: (*(-sums[m][i] for m in keys), good[i].team, good[i].system))
    rows = [Row(entry=good[i]) for i in order]
    _assign_ranks(rows, [tuple(sums[m][i] for m in keys) for i in order], keys)
    for pos, i in enumerate(order):
        r = rows[pos]
        r.values = {m: sums[m][i] / q for m in matrices}
        r.values.update({k: v for k, v in good[i].metrics.items() if k not in r.values})
        r.hits = {m: int(np.rint(sums[m][i])) for m in matrices if m.startswith("R1@")}
    baseline_label: str | None = None
    notes: list[str] = []
    if n and q:
        pvalues = _uncertainty(rows, order, matrices, settings, q)
        baseline_label, notes = _baseline_tests(rows, pvalues, settings)
    rows += [Row(entry=e) for e in bad]
    return Ranking(group, settings, rows, q, baseline_label, notes)


def _assign_ranks(rows: list[Row], keyvals: list[tuple[float, ...]], keys: Sequence[str]) -> None:
    for pos, row in enumerate(rows):
        if pos and keyvals[pos] == keyvals[pos - 1]:
            row.rank = rows[pos - 1].rank
        else:
            row.rank = pos + 1
    for pos, row in enumerate(rows):
        same = [o for o in (pos - 1, pos + 1) if 0 <= o < len(rows) and keyvals[o] == keyvals[pos]]
        row.shared_rank = bool(same)
        if pos and not row.shared_rank and keyvals[pos][0] == keyvals[pos - 1][0]:
            k = next(j for j in range(1, len(keys)) if keyvals[pos][j] != keyvals[pos - 1][j])
            row.tie_broken_by = keys[k]
            if rows[pos - 1].tie_broken_by is None:
                rows[pos - 1].tie_broken_by = keys[k]


def _uncertainty(
    rows: list[Row], order: list[int], matrices: dict[str, np.ndarray], settings: RankSettings, q: int
) -> PValues:
    """Fill in intervals, neighbour p-values and tiers; return the p-value function used."""
    w = stats.resample_counts(q, settings.resamples, settings.seed)
    names = [m for m in settings.ci_metrics if m in matrices]
    if settings.metric not in names:
        names.insert(0, settings.metric)
    stacked = np.concatenate([matrices[m][order] for m in names])  # (metrics * systems, Q)
    resampled = stats.resampled_sums(stacked, w)  # (B, metrics * systems)
    tail = (1.0 - settings.level) / 2.0
    low, high = np.quantile(resampled / q, [tail, 1.0 - tail], axis=0)
    n = len(order)
    for k, m in enumerate(names):
        for pos, row in enumerate(rows[:n]):
            row.ci[m] = (float(low[k * n + pos]), float(high[k * n + pos]))
    primary = names.index(settings.metric)
    boot = resampled[:, primary * n : (primary + 1) * n]
    observed = stacked[primary * n : (primary + 1) * n].sum(axis=1)
    tested = _pvalue_fn(settings, boot, observed, matrices[settings.metric][order])
    raw: dict[tuple[int, int], float] = {}

    def pvalues(pairs: list[tuple[int, int]]) -> np.ndarray:
        p = tested(pairs)
        raw.update(zip(pairs, p.tolist(), strict=True))
        return p

    floor = resampling_floor(settings) * (1 + 1e-9)
    if n > 1:
        p_next = stats.holm(pvalues([(pos, pos + 1) for pos in range(n - 1)]))
        for pos in range(n - 1):
            rows[pos].p_next = float(p_next[pos])
            if raw[(pos, pos + 1)] <= floor:
                rows[pos].p_floor.add("next")
    tiers = stats.significance_tiers(n, pvalues, settings.alpha)
    leader = 0
    for pos in range(n):
        rows[pos].tier = int(tiers.tier[pos])
        lp = tiers.leader_p[pos]
        rows[pos].p_leader = None if np.isnan(lp) else float(lp)
        if pos and tiers.tier[pos] != tiers.tier[pos - 1]:
            # the test that started this tier: against the previous leader, Holm over the rows below it
            family = [(leader, k) for k in range(leader + 1, n)]
            adjusted = stats.holm([raw[pair] for pair in family])
            rows[pos].p_tier_start = float(adjusted[pos - leader - 1])
            if raw[(leader, pos)] <= floor:
                rows[pos].p_floor.add("tier_start")
            leader = pos
        elif pos and raw.get((leader, pos), 1.0) <= floor:
            rows[pos].p_floor.add("leader")
    return pvalues


def resampling_floor(settings: RankSettings) -> float:
    """The smallest p-value the test can give: 1 / (resamples + 1) (or permutations + 1)."""
    draws = settings.resamples if settings.test == "bootstrap" else settings.permutations
    return 1.0 / (draws + 1)


def _pvalue_fn(settings: RankSettings, boot: np.ndarray, observed: np.ndarray, x: np.ndarray) -> PValues:
    if settings.test == "signflip":
        return lambda pairs: stats.signflip_pvalues(x, pairs, settings.permutations, settings.seed)
    return lambda pairs: stats.paired_bootstrap_pvalues(boot, observed, pairs)


def _baseline_tests(rows: list[Row], pvalues: PValues, settings: RankSettings) -> tuple[str | None, list[str]]:
    if not settings.baseline:
        flagged = [pos for pos, r in enumerate(rows) if r.entry.baseline]
        if len(flagged) != 1:
            return None, []
        base = flagged[0]
    else:
        found = [pos for pos, r in enumerate(rows) if settings.baseline in (r.label, r.entry.system)]
        if len(found) != 1:
            what = "no entry" if not found else f"{len(found)} entries"
            return None, [f"baseline {settings.baseline!r}: {what} with that name in this group"]
        base = found[0]
    others = [pos for pos in range(len(rows)) if pos != base and rows[pos].ok]
    if others:
        raw = pvalues([(pos, base) for pos in others])
        p = stats.holm(raw)
        floor = resampling_floor(settings) * (1 + 1e-9)
        for pos, pk, rk in zip(others, p, raw, strict=True):
            rows[pos].p_baseline = float(pk)
            if rk <= floor:
                rows[pos].p_floor.add("baseline")
    return rows[base].label, []


def rank_store(
    store: Store,
    settings: RankSettings = RankSettings(),
    benchmark: str | None = None,
    exclude_invalid: bool = False,
    exclude_synthetic: bool = False,
) -> list[Ranking]:
    """Every group (optionally of one benchmark), ranked; sorted by group key (see :func:`rank_group`)."""
    ranked = [
        rank_group(store, g, settings, exclude_invalid, exclude_synthetic)
        for g in store.groups()
        if benchmark is None or g.benchmark == benchmark
    ]
    return [r for r in ranked if r.rows]
