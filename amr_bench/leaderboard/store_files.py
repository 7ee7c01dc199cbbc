"""Opening a store file safely: refuse what is not a store before SQLite touches it, and open read-only for readers.

Refused with :class:`StoreError`, the file left as it is: a folder, a device or pipe (``/dev/null``),
a path under a regular file, a file that is not SQLite or is truncated, an SQLite file that is not
an amr-bench store, a store of a newer schema. Readers open with ``mode=ro`` (falling back to
``immutable=1`` for a WAL store in a folder they cannot write), never create tables and never
switch the journal mode; an older store is migrated in a private in-memory copy.
"""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.parse
from pathlib import Path

from amr_bench.errors import AmrBenchError
from amr_bench.leaderboard.store_schema import APPLICATION_ID, CORE_TABLES, SCHEMA_VERSION, apply_migrations

BUSY_TIMEOUT_S = 60.0
SQLITE_MAGIC = b"SQLite format 3\x00"


class StoreError(AmrBenchError):
    """The store cannot be used as asked (not a store, newer schema, unreadable); nothing was changed."""

    exit_code = 1


def check_store_path(path: Path, must_exist: bool) -> None:
    """Refuse, before SQLite sees it, a path that cannot be a store; never creates or changes anything."""
    if path.is_dir():
        raise StoreError(f"{path}: is a folder; --db names the store file (e.g. {path / 'leaderboard.sqlite'})")
    if path.exists():
        if not path.is_file():
            raise StoreError(f"{path}: not a regular file (a device or a pipe); --db names an SQLite store file")
        try:
            with open(path, "rb") as f:
                head = f.read(100)
        except OSError as exc:
            raise StoreError(f"{path}: cannot be read ({exc.strerror})") from None
        if head and not head.startswith(SQLITE_MAGIC[: len(head)]):
            raise StoreError(f"{path}: not an SQLite file (no 'SQLite format 3' header); not an amr-bench result store")
        if head and len(head) < 100:
            raise StoreError(f"{path}: truncated SQLite file ({len(head)} bytes); not a usable result store")
        return
    if must_exist:
        raise StoreError(f"{path}: no result store there")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise StoreError(f"{path}: {folder} is a file, not a folder")


def check_is_ours(db: sqlite3.Connection, path: Path) -> int:
    """The schema version of an amr-bench store; :class:`StoreError` for any other SQLite file or a newer schema."""
    # one statement, so one snapshot: a writer migrating the file meanwhile is seen before or after, never half
    row = db.execute(
        "SELECT (SELECT user_version FROM pragma_user_version), (SELECT application_id FROM pragma_application_id),"
        " (SELECT json_group_array(name) FROM sqlite_master WHERE type = 'table')"
    ).fetchone()
    version, app_id, tables = int(row[0]), int(row[1]), set(json.loads(row[2]))
    if app_id not in (0, APPLICATION_ID) or (version == 0 and tables) or (version and not tables >= CORE_TABLES):
        shown = ", ".join(sorted(tables)[:8]) or "none"
        raise StoreError(
            f"{path}: an SQLite file that is not an amr-bench result store (tables: {shown}); "
            "left as it is; name another --db"
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: store schema version {version} is newer than this amr-bench knows "
            f"({SCHEMA_VERSION}); upgrade amr-bench to use it (the file was not changed)"
        )
    return version


def connect(path: Path) -> sqlite3.Connection:
    """A writer's connection; a store file we may not write is refused before SQLite opens it."""
    if path.exists() and not os.access(path, os.W_OK):
        raise StoreError(f"{path}: read-only; this command writes to the store (rank, render only read)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"{path}: cannot open the store ({exc})") from None


def connect_readonly(path: Path) -> sqlite3.Connection:
    """``mode=ro``; a WAL store in a folder we cannot write (no ``-shm`` can be made) is read as
    immutable, but only when it has no write-ahead log with content: ``immutable`` reads the main
    file alone, and committed results still in ``-wal`` would be missing without a word. Such a
    store is refused with what to do (a writer is active, or one stopped before checkpointing)."""
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    last: sqlite3.Error | None = None
    for suffix in ("", "&immutable=1"):
        if suffix and _wal_has_content(path):
            raise StoreError(
                f"{path}: cannot be read here: its write-ahead log {path}-wal holds committed results and "
                f"the folder is not writable, so SQLite cannot read the log ({last}). Read it where you can "
                "write, or ask its owner to run any amr-bench command that writes to it (or sqlite3 "
                f"'{path}' 'PRAGMA wal_checkpoint(TRUNCATE)') to fold the log into the file"
            )
        try:
            db = sqlite3.connect(uri + suffix, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            last = exc
            continue
        try:
            db.execute("PRAGMA query_only = ON")
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError as exc:
            last = exc
            db.close()
        except sqlite3.DatabaseError:
            return db  # not a database: the caller's checks report it with the file's name
    raise StoreError(f"{path}: cannot open the store read-only ({last})")


def _wal_has_content(path: Path) -> bool:
    try:
        return os.stat(f"{path}-wal").st_size > 0
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: do not read without it


def migrated_copy(db: sqlite3.Connection, current: int) -> sqlite3.Connection:
    """An older store read read-only: copy it into memory and migrate the copy (the file is not touched)."""
    memory = sqlite3.connect(":memory:", isolation_level=None)
    db.backup(memory)
    db.close()
    memory.execute("BEGIN")
    apply_migrations(memory, current, SCHEMA_VERSION)
    memory.execute("COMMIT")
    return memory
