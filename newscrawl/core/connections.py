"""The one place that opens connections to stores: Redis clients and SQLite files.

Every process gets its Redis clients from :func:`redis_client` (one per purpose, pinged when
made, rebuilt after a fork) and opens SQLite files with :func:`open_sqlite` (WAL, a busy
timeout). Both map the library's errors to :class:`~newscrawl.core.errors.StoreError` at this
boundary, with the operation attached, so a store failure reaches callers as our transient error
and never as a redis or sqlite3 exception.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.client import Pipeline
from redis.exceptions import NoScriptError

from newscrawl.core.errors import StoreError
from newscrawl.core.log import get_logger

log = get_logger("newscrawl.connections")

SQLITE_BUSY_TIMEOUT_S = 10.0
# sqlite3 errors that are the store's state (locked, disk full, I/O), not a bug in our SQL.
_SQLITE_STORE_ERRORS = (sqlite3.OperationalError,)


def _redis_failure(operation: str, exc: redis.RedisError, url: str) -> StoreError:
    return StoreError(f"redis {operation} at {_safe_url(url)}: {type(exc).__name__}: {exc}")


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


class MappedPipeline(Pipeline):
    """A pipeline whose failures come out as StoreError."""

    newscrawl_url = ""

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            return super().execute(raise_on_error)
        except redis.RedisError as exc:
            raise _redis_failure("pipeline", exc, self.newscrawl_url) from exc


class MappedRedis(redis.Redis):
    """A Redis client whose failures come out as StoreError, naming the command."""

    newscrawl_url = ""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except NoScriptError:
            raise  # redis-py's Script loads the script and runs it again
        except redis.RedisError as exc:
            raise _redis_failure(str(args[0]) if args else "command", exc, self.newscrawl_url) from exc

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> MappedPipeline:
        pipe = MappedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.newscrawl_url = self.newscrawl_url
        return pipe


_clients: dict[tuple[str, str, bool], Any] = {}
_clients_pid = os.getpid()
_lock = threading.Lock()


def redis_client(url: str, purpose: str, *, decode_responses: bool = False, ping: bool = True) -> Any:
    """This process's client for ``purpose`` (frontier, dedup, stats, stream, ...).

    redis-py types its sync client's replies as sync-or-async unions: callers get ``Any``.
    """
    global _clients_pid
    key = (url, purpose, decode_responses)
    with _lock:
        if _clients_pid != os.getpid():
            # A forked child must not share its parent's sockets.
            _clients.clear()
            _clients_pid = os.getpid()
        client = _clients.get(key)
        if client is None:
            client = new_redis_client(url, decode_responses=decode_responses, ping=ping)
            _clients[key] = client
    return client


def new_redis_client(url: str, *, decode_responses: bool = False, ping: bool = True) -> Any:
    """A client of its own (not shared in the process): for a connection that blocks."""
    try:
        client: Any = MappedRedis.from_url(url, decode_responses=decode_responses, health_check_interval=30)
    except ValueError as exc:
        raise StoreError(f"bad Redis URL {_safe_url(url)}: {exc}") from exc
    client.newscrawl_url = url
    if ping:
        client.ping()
    return client


class MappedAsyncRedis(aioredis.Redis):
    """The asyncio client, its failures mapped like :class:`MappedRedis`."""

    newscrawl_url = ""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except NoScriptError:
            raise
        except redis.RedisError as exc:
            raise _redis_failure(str(args[0]) if args else "command", exc, self.newscrawl_url) from exc


def new_async_redis_client(url: str) -> Any:
    """An asyncio client (one per event loop: the indexer's)."""
    try:
        client: Any = MappedAsyncRedis.from_url(url, health_check_interval=30)
    except ValueError as exc:
        raise StoreError(f"bad Redis URL {_safe_url(url)}: {exc}") from exc
    client.newscrawl_url = url
    return client


def close_redis_clients() -> None:
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


class MappedSQLite(sqlite3.Connection):
    """A SQLite connection whose store failures come out as StoreError, naming the file."""

    newscrawl_path = ""

    def _fail(self, operation: str, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"sqlite {self.newscrawl_path}: {operation}: {exc}")

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
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
    return db


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
