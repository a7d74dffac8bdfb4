"""The one place that opens SQLite files, and the transactions every store shares.

Files are opened with :func:`open_sqlite` (WAL, a busy timeout); its connections map sqlite3's
store errors (locked, disk full, I/O) to :class:`~newscrawl.core.errors.StoreError` with the file
and the statement named. Redis clients come from ``newscrawl/core/redis_connections.py``, kept
apart so that the embedded mode never imports redis-py.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from newscrawl.core.errors import StoreError

SQLITE_BUSY_TIMEOUT_S = 10.0
# sqlite3 errors that are the store's state (locked, disk full, I/O), not a bug in our SQL.
_SQLITE_STORE_ERRORS = (sqlite3.OperationalError,)


_raw_execute = sqlite3.Connection.execute


class MappedSQLite(sqlite3.Connection):
    """A SQLite connection whose store failures come out as StoreError, naming the file."""

    newscrawl_path = ""

    def _fail(self, operation: str, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"sqlite {self.newscrawl_path}: {operation}: {exc}")

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return _raw_execute(self, sql, parameters)  # not super(): this runs for every statement
        except _SQLITE_STORE_ERRORS as exc:
            raise self._fail(sql.split(None, 1)[0] if sql.strip() else "execute", exc) from exc

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except _SQLITE_STORE_ERRORS as exc:
            raise self._fail("executemany", exc) from exc

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        try:
            return super().executescript(script)
        except _SQLITE_STORE_ERRORS as exc:
            raise self._fail("executescript", exc) from exc


def open_sqlite(path: Path, *, named_rows: bool = True, check_same_thread: bool = True) -> MappedSQLite:
    """A file in autocommit mode (transactions are explicit), WAL, a busy timeout.

    ``named_rows``: rows as sqlite3.Row (by name); else plain tuples, cheaper for hot loops.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            str(path),
            isolation_level=None,
            timeout=SQLITE_BUSY_TIMEOUT_S,
            factory=MappedSQLite,
            check_same_thread=check_same_thread,
        )
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"sqlite {path}: cannot open: {exc}") from exc
    db.newscrawl_path = str(path)
    if named_rows:
        db.row_factory = sqlite3.Row
    _enable_wal(db)
    db.execute("PRAGMA synchronous=NORMAL")
    # A crawl runs for weeks: after each checkpoint the WAL is cut back to this size, so a burst of
    # writes (or a reader that held a checkpoint back for a while) does not leave a huge file.
    db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
    return db


WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def _enable_wal(db: MappedSQLite) -> None:
    """Switch to WAL. Two processes opening a new file at once can see "database is locked" here
    at once, without the busy timeout applying: wait for the other one as the timeout would."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except StoreError as exc:
            if "locked" not in exc.message or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class ReentrantTransaction:
    """A transaction that nested uses join: only the outermost begins and ends it.

    Subclasses say how the outermost begins (returning a token) and ends (commit or roll back).
    """

    def __init__(self) -> None:
        self._depth = 0
        self._token: Any = None

    def _begin(self) -> Any:
        raise NotImplementedError

    def _end(self, token: Any, *, ok: bool) -> None:
        raise NotImplementedError

    def __enter__(self) -> None:
        if self._depth == 0:
            self._token = self._begin()
        self._depth += 1

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            token, self._token = self._token, None
            self._end(token, ok=exc_type is None)


class SQLiteTransaction(ReentrantTransaction):
    """BEGIN IMMEDIATE ... COMMIT: the write lock is taken at the start, so processes sharing a
    file cannot interleave a read and a write."""

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__()
        self._db = db

    def _begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def _end(self, token: Any, *, ok: bool) -> None:
        self._db.execute("COMMIT" if ok else "ROLLBACK")
