"""The store's schema: migrations (``PRAGMA user_version`` counts the ones applied) and the comparability key.

Each migration runs once, in order, inside the writer's transaction. A migration is SQL, or a
function when rows must be recomputed (schema 3 recomputes every row's comparability key).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from typing import Any

APPLICATION_ID = 0x414D5242  # "AMRB" in the SQLite header: marks a file as an amr-bench store
CORE_TABLES = frozenset({"teams", "systems", "ground_truths", "submissions", "metrics", "per_query"})

# Signature fields that name the inputs rather than the metric definition.
IDENTITY_KEYS = ("submission_sha256", "ground_truth_sha256", "ground_truth", "gt_sha256")
# Signature fields recorded with each result but not compared (a docs-only release must not split a table).
RECORDED_KEYS = ("scorer",)


def metric_signature(signature: Mapping[str, Any]) -> str:
    """The comparability key: the part of a result signature that must agree for results to be compared."""
    keep = {k: v for k, v in signature.items() if k not in IDENTITY_KEYS and k not in RECORDED_KEYS}
    return canonical_json(keep)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_SQL_MIGRATIONS: tuple[str, ...] = (
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

_V3_SQL = """
ALTER TABLE submissions ADD COLUMN group_signature TEXT;
ALTER TABLE submissions ADD COLUMN withdrawn_at TEXT;
ALTER TABLE systems ADD COLUMN withdrawn_at TEXT;
ALTER TABLE packages ADD COLUMN report BLOB;
ALTER TABLE packages ADD COLUMN notes_json TEXT NOT NULL DEFAULT '[]';
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('withdraw', 'restore', 'remove')),
    team TEXT NOT NULL,
    system TEXT NOT NULL,
    benchmark TEXT,
    version INTEGER,
    reason TEXT NOT NULL,
    detail_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX submissions_comparable ON submissions (benchmark, gt_sha256, group_signature)
"""


def _migration_3(db: sqlite3.Connection) -> None:
    """Withdrawals and the audit table, report bytes, and the package version out of the comparability key.

    Old rows keep their recorded signature; their group key is recomputed without ``scorer``, so
    results scored by different package versions of the same metric definition rank together.
    """
    for statement in statements(_V3_SQL):
        db.execute(statement)
    rows = db.execute("SELECT id, signature_json FROM submissions").fetchall()
    db.executemany(
        "UPDATE submissions SET group_signature=? WHERE id=?",
        [(metric_signature(json.loads(sig)), sid) for sid, sig in rows],
    )
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")


Migration = str | Callable[[sqlite3.Connection], None]
MIGRATIONS: tuple[Migration, ...] = (*_SQL_MIGRATIONS, _migration_3)
SCHEMA_VERSION = len(MIGRATIONS)


def apply_migrations(db: sqlite3.Connection, current: int, target: int) -> None:
    for version in range(current, target):
        step = MIGRATIONS[version]
        if isinstance(step, str):
            for statement in statements(step):
                db.execute(statement)
        else:
            step(db)
        db.execute(f"PRAGMA user_version = {version + 1}")


def statements(script: str) -> Iterator[str]:
    for part in script.split(";"):
        if part.strip():
            yield part.strip()
