"""The result store: one SQLite file holding teams, systems, submissions, metrics and per-query scores.

Layout (schema version in ``PRAGMA user_version``, migrations in :data:`MIGRATIONS`, applied in
order inside one write transaction, so two processes opening a new file at once are safe):

- ``teams``, ``systems`` (unique per team; flags ``synthetic`` and ``baseline``, free metadata).
- ``ground_truths``: one row per ground-truth file hash, with its query ids in scoring order.
- ``submissions``: one scored (or rejected) file for one system on one benchmark: file sha256,
  size and name, time added, ground-truth hash, metric signature, status and problems. Unique on
  (system, benchmark, ground truth, metric signature, file hash): adding the same file again is a
  no-op; a different file for the same system and benchmark is the next ``version``.
- ``metrics``: every aggregate metric of a submission, unrounded.
- ``per_query``: the per-query score matrix, one zlib-compressed little-endian float64 BLOB per
  submission and column (``R1@0.7``, ``AP@0.5``, ``mAP``, ``gt_max_len``...). Why BLOBs: a row per
  (submission, query, column) would be ~45,000 rows per CASTELLA test run and slow to read back;
  a BLOB per column is read in one query and handed to numpy without a Python loop. Why float64:
  means recomputed from the stored matrix equal the scorer's unrounded metrics bit for bit (AP
  values would lose digits in float32); the 0/1 columns compress to a few hundred bytes anyway.

Results are only ever compared within a *group*: same benchmark, same ground-truth hash, same
metric signature (:class:`GroupKey`). Writers use ``BEGIN IMMEDIATE`` with a generous busy timeout,
so concurrent ``add`` calls from several processes serialise instead of losing rows.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

BUSY_TIMEOUT_S = 60.0

MIGRATIONS: tuple[str, ...] = (
    # 1: the core tables
    """
    CREATE TABLE teams (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE systems (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES teams(id),
        name TEXT NOT NULL,
        synthetic INTEGER NOT NULL DEFAULT 0,
        baseline INTEGER NOT NULL DEFAULT 0,
        meta_json TEXT NOT NULL DEFAULT '{}',
        UNIQUE (team_id, name)
    );
    CREATE TABLE ground_truths (
        sha256 TEXT PRIMARY KEY,
        n_queries INTEGER NOT NULL,
        qids BLOB NOT NULL
    );
    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        system_id INTEGER NOT NULL REFERENCES systems(id),
        benchmark TEXT NOT NULL,
        version INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        file_name TEXT NOT NULL,
        added_at TEXT NOT NULL,
        gt_sha256 TEXT NOT NULL,
        metric_signature TEXT NOT NULL,
        signature_json TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'invalid', 'failed')),
        problems_json TEXT NOT NULL DEFAULT '[]',
        UNIQUE (system_id, benchmark, gt_sha256, metric_signature, sha256)
    );
    CREATE INDEX submissions_group ON submissions (benchmark, gt_sha256, metric_signature);
    CREATE TABLE metrics (
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        name TEXT NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (submission_id, name)
    );
    CREATE TABLE per_query (
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        column_name TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (submission_id, column_name)
    );
    """,
    # 2: DCASE packages (technical report, package hash) that submissions came from
    """
    CREATE TABLE packages (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        file_name TEXT NOT NULL,
        team_id INTEGER NOT NULL REFERENCES teams(id),
        report_name TEXT NOT NULL,
        report_sha256 TEXT NOT NULL,
        added_at TEXT NOT NULL
    );
    ALTER TABLE submissions ADD COLUMN package_id INTEGER REFERENCES packages(id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True, order=True)
class GroupKey:
    """Results are ranked together only when all three agree."""

    benchmark: str
    gt_sha256: str
    metric_signature: str


@dataclass(frozen=True)
class Entry:
    """The latest submission of one system in one group, as the ranking and pages need it."""

    submission_id: int
    team: str
    system: str
    synthetic: bool
    baseline: bool
    meta: dict[str, Any]
    group: GroupKey
    version: int
    sha256: str
    size: int
    file_name: str
    added_at: str
    status: str
    problems: list[str]
    signature: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class AddOutcome:
    submission_id: int
    version: int
    created: bool  # False when the very same file was already stored (idempotent re-add)


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def pack(values: NDArray[Any]) -> bytes:
    return zlib.compress(np.ascontiguousarray(values, dtype="<f8").tobytes(), 6)


def unpack(blob: bytes) -> NDArray[np.float64]:
    return np.frombuffer(zlib.decompress(blob), dtype="<f8")


class Store:
    """A leaderboard database file (created with the current schema on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.migrate()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, target: int = SCHEMA_VERSION) -> None:
        if self.schema_version >= target:
            return
        with self.write():
            current = self.schema_version  # re-read under the lock: another process may have won
            for version in range(current, target):
                for statement in _statements(MIGRATIONS[version]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {version + 1}")

    def write(self) -> _WriteTransaction:
        return _WriteTransaction(self.db)

    # -- writing ----------------------------------------------------------------------------
    def add(
        self,
        *,
        team: str,
        system: str,
        benchmark: str,
        sha256: str,
        size: int,
        file_name: str,
        gt_sha256: str,
        signature: Mapping[str, Any],
        status: str = "ok",
        qids: Sequence[str] | None = None,
        per_query: Mapping[str, NDArray[Any]] | None = None,
        metrics: Mapping[str, float] | None = None,
        problems: Sequence[str] = (),
        synthetic: bool = False,
        baseline: bool = False,
        system_meta: Mapping[str, Any] | None = None,
        package_id: int | None = None,
        added_at: str | None = None,
    ) -> AddOutcome:
        """Store one submission; the same file for the same system and group is stored once."""
        metric_sig = metric_signature(signature)
        if status == "ok" and (qids is None or per_query is None):
            raise ValueError("a scored submission needs its qids and per-query scores")
        with self.write():
            team_id = self._upsert_team(team)
            system_id = self._upsert_system(team_id, system, synthetic, baseline, system_meta)
            row = self.db.execute(
                "SELECT id, version FROM submissions WHERE system_id=? AND benchmark=? AND "
                "gt_sha256=? AND metric_signature=? AND sha256=?",
                (system_id, benchmark, gt_sha256, metric_sig, sha256),
            ).fetchone()
            if row is not None:
                return AddOutcome(row[0], row[1], created=False)
            version = self._version_for(system_id, benchmark, sha256)
            if qids is not None:
                self._ensure_ground_truth(gt_sha256, list(qids))
            cur = self.db.execute(
                "INSERT INTO submissions (system_id, benchmark, version, sha256, size, file_name,"
                " added_at, gt_sha256, metric_signature, signature_json, status, problems_json,"
                " package_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    system_id,
                    benchmark,
                    version,
                    sha256,
                    size,
                    file_name,
                    added_at or utc_now(),
                    gt_sha256,
                    metric_sig,
                    canonical_json(dict(signature)),
                    status,
                    canonical_json(list(problems)),
                    package_id,
                ),
            )
            sid = int(cur.lastrowid or 0)
            if per_query:
                self.db.executemany(
                    "INSERT INTO per_query (submission_id, column_name, data) VALUES (?,?,?)",
                    [(sid, name, pack(np.asarray(v))) for name, v in sorted(per_query.items())],
                )
            if metrics:
                self.db.executemany(
                    "INSERT INTO metrics (submission_id, name, value) VALUES (?,?,?)",
                    [(sid, k, float(v)) for k, v in sorted(metrics.items())],
                )
            return AddOutcome(sid, version, created=True)

    def add_package(
        self,
        *,
        team: str,
        sha256: str,
        file_name: str,
        report_name: str,
        report_sha256: str,
        added_at: str | None = None,
    ) -> int:
        with self.write():
            team_id = self._upsert_team(team)
            row = self.db.execute("SELECT id FROM packages WHERE sha256=?", (sha256,)).fetchone()
            if row is not None:
                return int(row[0])
            cur = self.db.execute(
                "INSERT INTO packages (sha256, file_name, team_id, report_name, report_sha256,"
                " added_at) VALUES (?,?,?,?,?,?)",
                (sha256, file_name, team_id, report_name, report_sha256, added_at or utc_now()),
            )
            return int(cur.lastrowid or 0)

    def _upsert_team(self, name: str) -> int:
        self.db.execute("INSERT OR IGNORE INTO teams (name) VALUES (?)", (name,))
        return int(self.db.execute("SELECT id FROM teams WHERE name=?", (name,)).fetchone()[0])

    def _upsert_system(
        self,
        team_id: int,
        name: str,
        synthetic: bool,
        baseline: bool,
        meta: Mapping[str, Any] | None,
    ) -> int:
        self.db.execute(
            "INSERT OR IGNORE INTO systems (team_id, name, synthetic, baseline, meta_json) VALUES (?,?,?,?,?)",
            (team_id, name, int(synthetic), int(baseline), canonical_json(dict(meta or {}))),
        )
        if meta is not None:
            self.db.execute(
                "UPDATE systems SET meta_json=?, synthetic=?, baseline=? WHERE team_id=? AND name=?",
                (canonical_json(dict(meta)), int(synthetic), int(baseline), team_id, name),
            )
        return int(self.db.execute("SELECT id FROM systems WHERE team_id=? AND name=?", (team_id, name)).fetchone()[0])

    def _version_for(self, system_id: int, benchmark: str, sha256: str) -> int:
        row = self.db.execute(
            "SELECT version FROM submissions WHERE system_id=? AND benchmark=? AND sha256=?",
            (system_id, benchmark, sha256),
        ).fetchone()
        if row is not None:  # the same file re-scored under another ground truth or signature
            return int(row[0])
        top = self.db.execute(
            "SELECT MAX(version) FROM submissions WHERE system_id=? AND benchmark=?",
            (system_id, benchmark),
        ).fetchone()[0]
        return int(top or 0) + 1

    def _ensure_ground_truth(self, sha256: str, qids: list[str]) -> None:
        row = self.db.execute("SELECT qids FROM ground_truths WHERE sha256=?", (sha256,)).fetchone()
        blob = zlib.compress(canonical_json(qids).encode("utf-8"))
        if row is None:
            self.db.execute(
                "INSERT INTO ground_truths (sha256, n_queries, qids) VALUES (?,?,?)",
                (sha256, len(qids), blob),
            )
        elif json.loads(zlib.decompress(row[0])) != qids:
            raise ValueError(f"ground truth {sha256[:12]}: query ids differ from the stored ones")

    # -- reading ----------------------------------------------------------------------------
    def groups(self) -> list[GroupKey]:
        rows = self.db.execute(
            "SELECT DISTINCT benchmark, gt_sha256, metric_signature FROM submissions"
            " ORDER BY benchmark, gt_sha256, metric_signature"
        ).fetchall()
        return [GroupKey(*r) for r in rows]

    def entries(self, group: GroupKey, all_versions: bool = False) -> list[Entry]:
        """Every system's latest submission in ``group`` (sorted by team, system)."""
        rows = self.db.execute(
            "SELECT s.id, t.name, y.name, y.synthetic, y.baseline, y.meta_json, s.version,"
            " s.sha256, s.size, s.file_name, s.added_at, s.status, s.problems_json,"
            " s.signature_json FROM submissions s JOIN systems y ON y.id = s.system_id"
            " JOIN teams t ON t.id = y.team_id WHERE s.benchmark=? AND s.gt_sha256=?"
            " AND s.metric_signature=? ORDER BY t.name, y.name, s.version DESC, s.id DESC",
            (group.benchmark, group.gt_sha256, group.metric_signature),
        ).fetchall()
        out: list[Entry] = []
        seen: set[tuple[str, str]] = set()
        for r in rows:
            if not all_versions and (r[1], r[2]) in seen:
                continue
            seen.add((r[1], r[2]))
            out.append(
                Entry(
                    submission_id=r[0],
                    team=r[1],
                    system=r[2],
                    synthetic=bool(r[3]),
                    baseline=bool(r[4]),
                    meta=json.loads(r[5]),
                    group=group,
                    version=r[6],
                    sha256=r[7],
                    size=r[8],
                    file_name=r[9],
                    added_at=r[10],
                    status=r[11],
                    problems=json.loads(r[12]),
                    signature=json.loads(r[13]),
                    metrics=self.metrics(r[0]),
                )
            )
        return out

    def metrics(self, submission_id: int) -> dict[str, float]:
        rows = self.db.execute(
            "SELECT name, value FROM metrics WHERE submission_id=? ORDER BY name", (submission_id,)
        ).fetchall()
        return {k: v for k, v in rows}

    def qids(self, gt_sha256: str) -> list[str]:
        row = self.db.execute("SELECT qids FROM ground_truths WHERE sha256=?", (gt_sha256,)).fetchone()
        return [] if row is None else list(json.loads(zlib.decompress(row[0])))

    def per_query_columns(self, submission_id: int) -> list[str]:
        rows = self.db.execute(
            "SELECT column_name FROM per_query WHERE submission_id=? ORDER BY column_name",
            (submission_id,),
        ).fetchall()
        return [r[0] for r in rows]

    def matrix(self, submission_ids: Sequence[int], column: str) -> NDArray[np.float64]:
        """``(len(submission_ids), queries)`` per-query scores of one column."""
        placeholders = ",".join("?" * len(submission_ids))
        rows = dict(
            self.db.execute(
                f"SELECT submission_id, data FROM per_query WHERE column_name=? AND submission_id IN ({placeholders})",
                (column, *submission_ids),
            ).fetchall()
        )
        missing = [s for s in submission_ids if s not in rows]
        if missing:
            raise KeyError(f"no per-query column {column!r} for submissions {missing}")
        return np.stack([unpack(rows[s]) for s in submission_ids])

    def count_submissions(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0])


# Signature fields that name the inputs rather than the metric definition.
IDENTITY_KEYS = ("submission_sha256", "ground_truth_sha256", "ground_truth", "gt_sha256")


def metric_signature(signature: Mapping[str, Any]) -> str:
    """The part of a result signature that must agree for results to be comparable."""
    keep = {k: v for k, v in signature.items() if k not in IDENTITY_KEYS}
    return canonical_json(keep)


class _WriteTransaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error): takes the write lock up front."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _statements(script: str) -> Iterator[str]:
    for part in script.split(";"):
        if part.strip():
            yield part.strip()
