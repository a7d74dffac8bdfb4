"""The one place that creates Redis clients, for every process.

:func:`redis_client` gives one client per process and purpose (pinged when made, rebuilt after a
fork); :func:`new_async_redis_client` one for an event loop. Their errors come out as
:class:`~newscrawl.core.errors.StoreError` with the command attached, so no redis exception leaves
the foundation.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline as AsyncPipeline
from redis.client import Pipeline
from redis.exceptions import NoScriptError

from newscrawl.core.errors import StoreError

# A Redis that stops answering (paused, partitioned) must become an outage, not a hang: every
# command gives up after this long. Our longest command (XREADGROUP) blocks for 0.5 s.
SOCKET_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0


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
    client = _from_url(MappedRedis, url, decode_responses=decode_responses)
    if ping:
        client.ping()
    return client


class MappedAsyncPipeline(AsyncPipeline):
    newscrawl_url = ""

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            return await super().execute(raise_on_error)
        except redis.RedisError as exc:
            raise _redis_failure("pipeline", exc, self.newscrawl_url) from exc


class MappedAsyncRedis(aioredis.Redis):
    """The asyncio client, its failures mapped like :class:`MappedRedis`."""

    newscrawl_url = ""

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> MappedAsyncPipeline:
        pipe = MappedAsyncPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.newscrawl_url = self.newscrawl_url
        return pipe

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except NoScriptError:
            raise
        except redis.RedisError as exc:
            raise _redis_failure(str(args[0]) if args else "command", exc, self.newscrawl_url) from exc


def new_async_redis_client(url: str) -> Any:
    """An asyncio client (one per event loop: the indexer's)."""
    return _from_url(MappedAsyncRedis, url)


def _from_url(cls: Any, url: str, **options: Any) -> Any:
    """A client of ``cls`` with our timeouts; a malformed URL is a StoreError naming it."""
    try:
        client = cls.from_url(
            url,
            health_check_interval=30,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            **options,
        )
    except ValueError as exc:
        raise StoreError(f"bad Redis URL {_safe_url(url)}: {exc}") from exc
    client.newscrawl_url = url
    return client


def close_redis_clients() -> None:
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def data_loss_risks(client: Any) -> list[str]:
    """How the Redis behind ``client`` may lose the crawl's state: evicting keys, or keeping
    nothing on disk (a restart brings it back empty). [] when it may not, or cannot tell (a
    managed Redis that refuses CONFIG)."""
    try:
        config = client.config_get("maxmemory-policy", "appendonly", "save")
    except StoreError:
        return []
    config = {_text(k): _text(v) for k, v in config.items()}
    risks = []
    policy = config.get("maxmemory-policy", "noeviction")
    if policy != "noeviction":
        risks.append(f"maxmemory-policy is {policy}: frontier or dedup keys may be evicted")
    if config.get("appendonly") == "no" and not config.get("save", "").strip():
        risks.append("no persistence (appendonly no, no snapshots): a restart brings it back empty")
    return risks


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
