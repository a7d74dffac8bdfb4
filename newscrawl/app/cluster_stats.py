"""What ``newscrawl stats`` adds in distributed mode: queue depths, rates, workers' counters."""

from __future__ import annotations

from typing import Any

from newscrawl.core.errors import StoreError
from newscrawl.core.redis_connections import redis_client
from newscrawl.core.redis_keys import IndexKeys, StatsKeys
from newscrawl.core.settings import Settings

_RATE_WINDOW_S = 60


# Kombu's Redis transport keeps a queue as one list per priority step: "<queue>" and
# "<queue>\x06\x16<step>" (steps 3, 6, 9 by default); an empty list does not exist.
_REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queue_depths(settings: Settings) -> dict[str, int | str]:
    """Messages waiting in the task queue, asked of the broker itself (Redis or AMQP)."""
    from newscrawl.core.taskqueue import make_app

    name = settings.task_queue
    broker = settings.workers.broker_url or settings.redis_url
    if broker.startswith(("redis://", "rediss://", "unix://")):
        client: Any = redis_client(broker, "broker")
        waiting = sum(int(client.llen(name + suffix)) for suffix in _REDIS_PRIORITY_SUFFIXES)
        # Unacknowledged messages are one hash for every queue of this Redis database.
        return {f"{name}.waiting": waiting, "broker.unacked": int(client.hlen("unacked"))}
    app = make_app(settings)
    try:
        with app.connection_for_read() as conn:
            _, waiting, consumers = conn.default_channel.queue_declare(queue=name, passive=True)
            return {f"{name}.waiting": int(waiting), f"{name}.consumers": int(consumers)}
    except Exception as exc:  # a queue not declared yet, or a broker down: report, don't fail
        return {f"{name}.error": f"{type(exc).__name__}: {exc}"}


def stream_stats(settings: Settings) -> dict[str, Any]:
    """The hand-off to the search engine: backlog, entries being loaded, dead letters."""
    client = redis_client(settings.redis_url, "inspection", decode_responses=True)
    keys = IndexKeys(settings.redis_prefix)
    out: dict[str, Any] = {
        "length": int(client.xlen(keys.stream)),
        "dead_letters": int(client.xlen(keys.dead_letters)),
    }
    try:
        out["pending"] = int(client.xpending(keys.stream, keys.group)["pending"])
        groups = [g for g in client.xinfo_groups(keys.stream) if g["name"] == keys.group]
        out["not_read_yet"] = int(groups[0].get("lag") or 0) if groups else out["length"]
        out["consumers"] = int(groups[0]["consumers"]) if groups else 0
    except StoreError:  # no stream or no group yet
        pass
    out.update({k: int(v) for k, v in client.hgetall(keys.counters).items()})
    return out


def cluster_stats(settings: Settings) -> dict[str, Any]:
    keys = StatsKeys(settings.redis_prefix)
    client = redis_client(settings.redis_url, "inspection", decode_responses=True)
    counters = {k: int(v) for k, v in client.hgetall(keys.counters).items()}
    # The Redis server's clock, which the scheduler's and workers' stamps count in.
    seconds, microseconds = client.time()
    now = int(seconds) + int(microseconds) / 1e6
    # Whole buckets only: the current one is still filling.
    last = int(now) // StatsKeys.bucket_s - 1
    buckets = [keys.pages(last - i) for i in range(_RATE_WINDOW_S // StatsKeys.bucket_s)]
    pages = sum(int(v or 0) for v in client.mget(buckets))
    scheduler = client.hgetall(keys.scheduler)
    index_stream = stream_stats(settings) if settings.index.backend == "elasticsearch" else None
    articles = counters.get("articles_indexed", 0)
    aliases = counters.get("url_aliases", 0)
    heartbeat = float(scheduler.pop("heartbeat_at", 0) or 0)
    seeded = float(scheduler.pop("seeded_at", 0) or 0)
    return {
        "workers": counters,
        "pages_per_s": round(pages / _RATE_WINDOW_S, 3),
        "dedup_rates": {
            "duplicates_per_article": round(counters.get("duplicates_at_index_time", 0) / articles, 4)
            if articles
            else 0.0,
            "aliases_per_article": round(aliases / articles, 4) if articles else 0.0,
        },
        "errors_by_kind": {k[6:]: v for k, v in counters.items() if k.startswith("error:")},
        "queues": queue_depths(settings),
        "index_stream": index_stream,
        "scheduler": {
            **{k: int(v) for k, v in scheduler.items()},
            "heartbeat_age_s": round(now - heartbeat, 1) if heartbeat else None,
            # The outlets' seeds go in again every scheduler.reseed_interval_s.
            "seeded_age_s": round(now - seeded, 1) if seeded else None,
        },
    }
