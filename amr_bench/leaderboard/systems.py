"""What a system page shows beyond the rankings: version history with the organisers' actions, per-query views.

The DCASE metadata and the technical report come from the store's own API
(:meth:`Store.systems_with_metadata`, :func:`amr_bench.leaderboard.dcase_meta.summarise`,
:meth:`Store.package_report`); this module adds the version history (:meth:`Store.versions`
with who withdrew what, when and why from :meth:`Store.audit_log`) and the per-query explorer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from amr_bench.leaderboard.explorer import END, START, TOP_WINDOWS, window_column_names
from amr_bench.leaderboard.store import AuditEntry, Entry, Store, VersionInfo
from amr_bench.metrics import THRESHOLD_KEYS

REPORTS_DIR = "reports"  # in the site: reports/report-<slug>-<hash>.pdf
THRESHOLDS = THRESHOLD_KEYS  # "0.5" ... "0.95", as the metrics name them (the site reads them here)


# ---- version history ---------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    """One stored version of a system, with what became of it.

    ``state``: ``ranked`` (the version the leaderboard shows), ``superseded`` (an earlier valid
    version), ``failed`` (a failed attempt: kept, never hiding the valid one) or ``withdrawn``
    (the version or the whole system; ``withdrawal`` says who, when and why).
    """

    version: VersionInfo
    state: str
    withdrawal: AuditEntry | None = None


def version_history(store: Store, team: str, system: str, ranked: Iterable[int]) -> list[HistoryRow]:
    """Every stored version of ``team/system``, newest first per benchmark (``ranked``: submission ids shown ranked)."""
    shown = set(ranked)
    actions = system_actions(store, team, system)
    out = []
    for v in sorted(store.versions(team, system), key=lambda v: (v.benchmark, -v.version, -v.submission_id)):
        withdrawal = None
        if v.withdrawn_at is not None:
            withdrawal = _last_withdrawal(actions, v.benchmark, v.version)
        elif v.system_withdrawn_at is not None:
            withdrawal = _last_withdrawal(actions, None, None)
        if v.withdrawn_at is not None or v.system_withdrawn_at is not None:
            state = "withdrawn"
        elif v.status != "ok":
            state = "failed"
        else:
            state = "ranked" if v.submission_id in shown else "superseded"
        out.append(HistoryRow(v, state, withdrawal))
    return out


def system_actions(store: Store, team: str, system: str) -> list[AuditEntry]:
    """The organisers' withdraw / restore / remove actions on ``team/system``, oldest first."""
    return [a for a in store.audit_log() if a.team == team and a.system == system]


def _last_withdrawal(actions: Sequence[AuditEntry], benchmark: str | None, version: int | None) -> AuditEntry | None:
    return next(
        (a for a in reversed(actions) if a.action == "withdraw" and a.benchmark == benchmark and a.version == version),
        None,
    )


# ---- the per-query explorer --------------------------------------------------------------


class GroundTruths:
    """Ground truths by file hash (the bundled splits, plus any files the caller names), as explorer rows."""

    def __init__(self, extra: Sequence[Path] = ()) -> None:
        self.extra = list(extra)
        self.cache: dict[str, dict[Any, tuple[str, float, list[list[float]]]] | None] = {}
        self.index: dict[str, Path] | None = None

    def _build(self) -> dict[str, Path]:
        from amr_bench.datasets.registry import sha256_file, splits

        found = {e.sha256: e.path for e in splits() if e.has_windows}
        for p in self.extra:
            if p.is_file():
                found[sha256_file(p)] = p
        return found

    def get(self, sha256: str) -> dict[Any, tuple[str, float, list[list[float]]]] | None:
        """``qid -> (query, duration, windows)`` of the ground truth with that hash, or ``None``."""
        if self.index is None:
            self.index = self._build()
        if sha256 not in self.cache:
            path = self.index.get(sha256)
            view = None
            if path is not None:
                from amr_bench.groundtruth import load_ground_truth

                gt = load_ground_truth(path)
                if gt.sha256 == sha256:
                    view = _gt_view(gt)
            self.cache[sha256] = view
        return self.cache[sha256]


def _gt_view(gt: Any) -> dict[Any, tuple[str, float, list[list[float]]]]:
    w = gt.windows
    pairs = np.stack([np.round(w.start, 2), np.round(w.end, 2)], axis=1).tolist()
    offsets = w.offsets.tolist()
    durations = np.asarray(gt.durations, dtype=np.float64).tolist()
    return {q: (gt.queries[r], durations[r], pairs[offsets[r] : offsets[r + 1]]) for q, r in gt.index.items()}


def iou_text_value(iou: float) -> float:
    """An IoU for display: rounded *down* to 3 decimals, so a miss at θ = 0.7 (IoU 0.6993) never
    reads 0.70 or 0.700; the tiny tolerance keeps an exact 0.7 stored as 0.69999999 at 0.7."""
    return math.floor(iou * 1000 + 1e-6) / 1000


def explorer_rows(
    store: Store, entry: Entry, gt: Mapping[Any, tuple[str, float, list[list[float]]]] | None
) -> list[list[Any]] | None:
    """Compact rows ``[qid, query, duration, gt windows, top windows, IoU, R1 hits bitmask]``.

    ``None`` when the stored entry predates the stored windows. Queries and ground-truth windows
    come from ``gt`` (see :meth:`GroundTruths.get`; ``None`` when the ground truth is not
    available: then only the scores and the system's windows are shown).
    """
    present = set(store.per_query_columns(entry.submission_id))
    if not set(window_column_names()) <= present:
        return None
    sid = [entry.submission_id]
    qids = store.qids(entry.group.gt_sha256)
    bits = np.zeros(len(qids), dtype=np.int64)
    for j, t in enumerate(THRESHOLDS):
        if f"R1@{t}" in present:
            bits |= (store.matrix(sid, f"R1@{t}")[0] > 0.5).astype(np.int64) << j
    iou = store.matrix(sid, "IoU@1")[0] if "IoU@1" in present else np.full(len(qids), np.nan)
    starts = np.stack([store.matrix(sid, START.format(j))[0] for j in range(TOP_WINDOWS)], axis=1)
    ends = np.stack([store.matrix(sid, END.format(j))[0] for j in range(TOP_WINDOWS)], axis=1)
    counts = np.isfinite(starts).sum(axis=1).tolist()
    pairs = np.stack([np.round(starts, 2), np.round(ends, 2)], axis=2).tolist()
    ious = [None if not math.isfinite(v) else iou_text_value(v) for v in iou.tolist()]
    out: list[list[Any]] = []
    for i, qid in enumerate(qids):
        top = pairs[i][: counts[i]]
        query, duration, gt_wins = (gt or {}).get(qid, ("", math.nan, []))
        if not math.isfinite(duration):
            duration = max([w[1] for w in top] or [1.0])
        out.append([str(qid), query, round(duration, 2), gt_wins, top, ious[i], int(bits[i])])
    return out


def count_breakdown(store: Store, entry: Entry) -> list[dict[str, Any]]:
    """R1@0.5, R1@0.7 and mAP over the queries with one ground-truth moment and with several.

    Exact means of the stored per-query scores (``n_gt`` counts the moments the scorer kept).
    """
    present = set(store.per_query_columns(entry.submission_id))
    names = ("R1@0.5", "R1@0.7", "mAP")
    if "n_gt" not in present or not set(names) <= present:
        return []
    sid = [entry.submission_id]
    n_gt = store.matrix(sid, "n_gt")[0]
    cols = {n: store.matrix(sid, n)[0] for n in names}
    out = []
    for label, mask in (("one moment", n_gt == 1), ("several moments", n_gt > 1)):
        n = int(mask.sum())
        values: dict[str, float | None] = {k: (math.fsum(v[mask].tolist()) / n if n else None) for k, v in cols.items()}
        out.append({"name": label, "n": n, "r05": values["R1@0.5"], "r07": values["R1@0.7"], "map": values["mAP"]})
    return out
