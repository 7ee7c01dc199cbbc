"""What a system page shows: the stored DCASE metadata, the technical report, versions, per-query views.

Reading a system's metadata and report out of the store is isolated in :func:`read_stored_system`
(the only function here that knows how intake keeps them), so a change of the store layout
touches one place. Metadata is shown as stored, whatever the template year: missing fields are
simply absent from the page, unknown task-specific keys are listed as they are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from amr_bench.leaderboard.explorer import END, START, TOP_WINDOWS, window_column_names
from amr_bench.leaderboard.store import Entry, GroupKey, Store

REPORTS_DIR = "reports"  # beside the store: reports/<sha256>.pdf (see read_stored_system)
THRESHOLDS = ("0.5", "0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9", "0.95")


@dataclass
class StoredSystem:
    team: str
    system: str
    meta: dict[str, Any]
    package: dict[str, Any] | None = None  # file_name, sha256, report_name, report_sha256, added_at
    report: bytes | None = None  # the technical report PDF, when a copy is available


def read_stored_system(store: Store, team: str, system: str) -> StoredSystem:
    """The metadata intake stored for ``team/system`` and its package's technical report.

    Intake keeps the DCASE ``.meta.yaml`` (plus ``package`` and ``report`` names) in
    ``systems.meta_json`` and the report's name and hash in ``packages``. The PDF itself comes
    from a ``packages.report`` column where the store has one, else from
    ``reports/<report sha256>.pdf`` beside the store file (the demo puts it there); either is
    used only when its hash matches the one recorded at intake.
    """
    import hashlib
    import json

    row = store.db.execute(
        "SELECT y.meta_json FROM systems y JOIN teams t ON t.id = y.team_id WHERE t.name=? AND y.name=?",
        (team, system),
    ).fetchone()
    meta = json.loads(row[0]) if row else {}
    found = StoredSystem(team, system, meta if isinstance(meta, dict) else {})
    columns = {r[1] for r in store.db.execute("PRAGMA table_info(packages)")}
    blob = "p.report" if "report" in columns else "NULL"
    pkg = store.db.execute(
        f"SELECT p.file_name, p.sha256, p.report_name, p.report_sha256, p.added_at, {blob} FROM packages p"
        " JOIN submissions s ON s.package_id = p.id JOIN systems y ON y.id = s.system_id"
        " JOIN teams t ON t.id = y.team_id WHERE t.name=? AND y.name=? ORDER BY p.added_at DESC, p.id DESC LIMIT 1",
        (team, system),
    ).fetchone()
    if pkg is not None:
        keys = ("file_name", "sha256", "report_name", "report_sha256", "added_at")
        found.package = dict(zip(keys, pkg[:5], strict=True))
        data = pkg[5]
        beside = store.path.parent / REPORTS_DIR / f"{pkg[3]}.pdf"
        if data is None and beside.is_file():
            data = beside.read_bytes()
        if data is not None and hashlib.sha256(data).hexdigest() == pkg[3]:
            found.report = bytes(data)
    return found


# ---- metadata, as the page shows it ------------------------------------------------------


@dataclass
class Author:
    name: str
    email: str
    corresponding: bool
    affiliations: list[str]


@dataclass
class MetaView:
    name: str | None = None
    abbreviation: str | None = None
    label: str | None = None
    authors: list[Author] = field(default_factory=list)
    description: list[tuple[str, str]] = field(default_factory=list)
    complexity: list[tuple[str, str]] = field(default_factory=list)
    external_data: list[list[tuple[str, str]]] = field(default_factory=list)
    source_code: str | None = None
    source_code_is_link: bool = False
    results: list[tuple[str, str]] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)


def text(value: Any) -> str:
    """A metadata value as one line of text (``null`` is 'not applicable', lists are comma-joined)."""
    if value is None:
        return "not applicable"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(text(v) for v in value) if value else "none"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {text(v)}" for k, v in value.items())
    return str(value)


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested mappings as ``key / sub-key`` rows."""
    if isinstance(value, Mapping):
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out += flatten(v, f"{prefix} / {k}" if prefix else str(k))
        return out
    if prefix == "":
        return [("", text(value))] if value not in (None, "", [], {}) else []
    return [(prefix.replace("_", " "), text(value))]


def affiliation_text(aff: Any) -> list[str]:
    """Both DCASE spellings (``institute`` with ``abbreviation``, or ``institution``) and the list form."""
    if isinstance(aff, list):
        return [t for a in aff for t in affiliation_text(a)]
    if not isinstance(aff, Mapping):
        return [text(aff)] if aff else []
    head = aff.get("institute") or aff.get("institution") or aff.get("abbreviation") or ""
    abbr = aff.get("abbreviation")
    parts = [f"{head} ({abbr})" if abbr and abbr != head else str(head)]
    parts += [str(aff[k]) for k in ("department", "location") if aff.get(k)]
    return [", ".join(p for p in parts if p)]


def meta_view(meta: Mapping[str, Any]) -> MetaView:
    view = MetaView()
    sub = meta.get("submission") if isinstance(meta.get("submission"), Mapping) else {}
    assert isinstance(sub, Mapping)
    view.name = _str(sub.get("name"))
    view.abbreviation = _str(sub.get("abbreviation"))
    view.label = _str(sub.get("label"))
    for a in sub.get("authors") or []:
        if not isinstance(a, Mapping):
            continue
        name = " ".join(str(a[k]) for k in ("firstname", "lastname") if a.get(k)) or "(no name)"
        view.authors.append(
            Author(
                name, str(a.get("email") or ""), a.get("corresponding") is True, affiliation_text(a.get("affiliation"))
            )
        )
    system = meta.get("system") if isinstance(meta.get("system"), Mapping) else {}
    assert isinstance(system, Mapping)
    desc = system.get("description", meta.get("description"))
    view.description = flatten(desc) if isinstance(desc, Mapping) else ([("", text(desc))] if desc else [])
    view.complexity = flatten(system.get("complexity") or {})
    ext = system.get("external_datasets") or []
    view.external_data = [flatten(d) if isinstance(d, Mapping) else [("", text(d))] for d in _as_list(ext)]
    if "source_code" in system:
        code = system.get("source_code")
        view.source_code = str(code) if code not in (None, "") else "not given"
        view.source_code_is_link = isinstance(code, str) and code.startswith(("https://", "http://"))
    view.results = flatten(meta.get("results") or {})
    known = {"submission", "system", "results", "description", "package", "report"}  # the last two: intake's
    view.other = [(k, text(v)) for k, v in meta.items() if k not in known]
    return view


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


# ---- versions ----------------------------------------------------------------------------


def versions(store: Store, groups: Iterable[GroupKey], team: str, system: str) -> list[Entry]:
    """Every stored version (valid or failed) of ``team/system``, newest first per benchmark."""
    out = []
    for g in groups:
        out += [e for e in store.entries(g, all_versions=True) if e.team == team and e.system == system]
    return sorted(out, key=lambda e: (e.group.benchmark, -e.version, -e.submission_id))


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
    ious = [None if not math.isfinite(v) else round(v, 4) for v in iou.tolist()]
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
