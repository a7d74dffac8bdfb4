"""Source health per outlet: is it still publishing, does its extraction still work?

Workers record each new article indexed (with its body length) and each article page that failed
to extract, in hour buckets per outlet that expire after a week; ``newscrawl stats`` reads them
back. Alongside, the same events go to Prometheus (newscrawl/core/metrics.py), where the alert
rules in ``deploy/prometheus/alerts.yaml`` watch them. Body lengths are kept as a histogram with
four buckets per doubling, so a median is known to within about 10%.

Both stores keep O(outlets x hours in a week) numbers, however long the crawl runs.
"""

from __future__ import annotations

import math
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from newscrawl.core.connections import SQLiteTransaction, open_sqlite
from newscrawl.core.redis_keys import HealthKeys

HOUR_S = 3600
KEEP_HOURS = 7 * 24
RECENT_HOURS = 24
_STEPS_PER_DOUBLING = 4


def length_bucket(chars: int) -> int:
    return 0 if chars <= 0 else int(math.log2(chars) * _STEPS_PER_DOUBLING) + 1


def bucket_middle(bucket: int) -> float:
    if bucket <= 0:
        return 0.0
    return float(2 ** ((bucket - 0.5) / _STEPS_PER_DOUBLING))


@dataclass
class OutletHealth:
    articles_this_hour: int  # since the start of the current clock hour
    articles_last_24h: int
    new_per_hour_24h: float
    articles_last_7d: int
    since_last_article_s: float | None
    extraction_failure_rate_24h: float | None
    median_body_chars_24h: float | None
    median_body_chars_7d: float | None


def _median(histogram: dict[int, int]) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen * 2 >= total:
            return round(bucket_middle(bucket))
    return None


@dataclass
class _Hours:
    """One outlet's hour buckets: hour -> {"articles": n, "failed": n, "len:<b>": n}."""

    hours: dict[int, dict[str, int]]

    def total(self, field: str, since_hour: int) -> int:
        return sum(h.get(field, 0) for hour, h in self.hours.items() if hour >= since_hour)

    def lengths(self, since_hour: int) -> dict[int, int]:
        out: dict[int, int] = {}
        for hour, fields in self.hours.items():
            if hour >= since_hour:
                for name, n in fields.items():
                    if name.startswith("len:"):
                        b = int(name[4:])
                        out[b] = out.get(b, 0) + n
        return out


def summarise(hours: _Hours, last_article_at: float | None, now: float) -> OutletHealth:
    current = int(now // HOUR_S)
    day = current - RECENT_HOURS + 1
    articles_24h = hours.total("articles", day)
    failed_24h = hours.total("failed", day)
    attempts = articles_24h + failed_24h
    return OutletHealth(
        articles_this_hour=hours.total("articles", current),
        articles_last_24h=articles_24h,
        new_per_hour_24h=round(articles_24h / RECENT_HOURS, 2),
        articles_last_7d=hours.total("articles", current - KEEP_HOURS + 1),
        since_last_article_s=round(now - last_article_at, 1) if last_article_at else None,
        extraction_failure_rate_24h=round(failed_24h / attempts, 3) if attempts else None,
        median_body_chars_24h=_median(hours.lengths(day)),
        median_body_chars_7d=_median(hours.lengths(current - KEEP_HOURS + 1)),
    )


class HealthStore(Protocol):
    def article(self, outlet: str, body_chars: int, now: float) -> None: ...

    def failed(self, outlet: str, now: float) -> None: ...

    def report(self, now: float | None = None) -> dict[str, dict[str, Any]]: ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS hours (
    outlet TEXT NOT NULL, hour INTEGER NOT NULL, field TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (outlet, hour, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS last_article (outlet TEXT PRIMARY KEY, at REAL NOT NULL);
"""


class SQLiteHealth:
    """The embedded mode's health file (``DATA/health.sqlite``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(_SCHEMA)
        self._transaction = SQLiteTransaction(db)
        self._pruned_hour = -1

    @classmethod
    def open(cls, path: Path) -> SQLiteHealth:
        return cls(open_sqlite(path))

    def _bump(self, outlet: str, hour: int, fields: list[str]) -> None:
        for field in fields:
            self._db.execute(
                "INSERT INTO hours (outlet, hour, field, n) VALUES (?,?,?,1)"
                " ON CONFLICT(outlet, hour, field) DO UPDATE SET n=n+1",
                (outlet, hour, field),
            )
        if hour != self._pruned_hour:  # once an hour: drop what is older than a week
            self._db.execute("DELETE FROM hours WHERE hour<=?", (hour - KEEP_HOURS,))
            self._pruned_hour = hour

    def article(self, outlet: str, body_chars: int, now: float) -> None:
        with self._transaction:
            self._bump(outlet, int(now // HOUR_S), ["articles", f"len:{length_bucket(body_chars)}"])
            self._db.execute(
                "INSERT INTO last_article (outlet, at) VALUES (?,?)"
                " ON CONFLICT(outlet) DO UPDATE SET at=MAX(at, excluded.at)",
                (outlet, now),
            )

    def failed(self, outlet: str, now: float) -> None:
        with self._transaction:
            self._bump(outlet, int(now // HOUR_S), ["failed"])

    def report(self, now: float | None = None) -> dict[str, dict[str, Any]]:
        at = time.time() if now is None else now
        outlets: dict[str, _Hours] = {}
        for outlet, hour, field, n in self._db.execute("SELECT outlet, hour, field, n FROM hours"):
            outlets.setdefault(outlet, _Hours({})).hours.setdefault(hour, {})[field] = n
        last = dict(self._db.execute("SELECT outlet, at FROM last_article").fetchall())
        names = sorted(set(outlets) | set(last))
        return {name: asdict(summarise(outlets.get(name, _Hours({})), last.get(name), at)) for name in names}

    def close(self) -> None:
        self._db.close()


class RedisHealth:
    """The distributed mode's health: hour hashes per outlet in the shared Redis."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._redis = client
        self.keys = HealthKeys(prefix)

    def _bump(self, outlet: str, now: float, fields: list[str], pipe: Any) -> None:
        key = self.keys.hour(outlet, int(now // HOUR_S))
        for field in fields:
            pipe.hincrby(key, field, 1)
        pipe.expire(key, (KEEP_HOURS + 1) * HOUR_S)

    def article(self, outlet: str, body_chars: int, now: float) -> None:
        pipe = self._redis.pipeline(transaction=True)
        self._bump(outlet, now, ["articles", f"len:{length_bucket(body_chars)}"], pipe)
        pipe.sadd(self.keys.outlets, outlet)
        pipe.zadd(self.keys.last_article, {outlet: now}, gt=True)
        pipe.execute()

    def failed(self, outlet: str, now: float) -> None:
        pipe = self._redis.pipeline(transaction=True)
        self._bump(outlet, now, ["failed"], pipe)
        pipe.sadd(self.keys.outlets, outlet)
        pipe.execute()

    def report(self, now: float | None = None) -> dict[str, dict[str, Any]]:
        at = time.time() if now is None else now
        current = int(at // HOUR_S)
        last = {k: float(v) for k, v in self._redis.zrange(self.keys.last_article, 0, -1, withscores=True)}
        names = sorted(set(last) | set(self._redis.smembers(self.keys.outlets)))
        pipe = self._redis.pipeline(transaction=False)
        hours = range(current - KEEP_HOURS + 1, current + 1)
        for name in names:
            for hour in hours:
                pipe.hgetall(self.keys.hour(name, hour))
        replies = iter(pipe.execute() if names else [])
        out: dict[str, dict[str, Any]] = {}
        for name in names:
            buckets = {hour: {k: int(v) for k, v in next(replies).items()} for hour in hours}
            out[name] = asdict(summarise(_Hours({h: f for h, f in buckets.items() if f}), last.get(name), at))
        return out

    def close(self) -> None:
        """The client belongs to the process's connection factory."""
