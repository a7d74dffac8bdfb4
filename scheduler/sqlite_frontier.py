"""The embedded frontier: one SQLite file in the data directory, safe to stop and resume."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from newscrawl.errors import HTTPStatusError, NewscrawlError
from newscrawl.settings import Settings
from scheduler.frontier import PRIORITY, REVISITED_KINDS, AddResult, FrontierEntry, Lease, Outcome, refusal
from scheduler.politeness import Robots, backoff_s, host_delay_s, robots_agent
from scheduler.urls import host_of

_SCHEMA = """
CREATE TABLE IF NOT EXISTS urls (
    url TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    kind TEXT NOT NULL,
    outlet TEXT,
    depth INTEGER NOT NULL DEFAULT 0,
    priority INTEGER NOT NULL,
    sort_key REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',   -- queued | leased | done | failed
    due_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    etag TEXT, last_modified TEXT, body_hash TEXT,
    fetched_at REAL, status INTEGER,
    error_kind TEXT, error TEXT,
    discovered_at REAL NOT NULL, referrer TEXT
);
CREATE INDEX IF NOT EXISTS urls_pick ON urls (host, state, priority, sort_key);
CREATE INDEX IF NOT EXISTS urls_state ON urls (state, due_at);
CREATE TABLE IF NOT EXISTS hosts (
    host TEXT PRIMARY KEY,
    scheme TEXT NOT NULL,
    next_fetch_at REAL NOT NULL DEFAULT 0,
    in_flight INTEGER NOT NULL DEFAULT 0,
    backoff_level INTEGER NOT NULL DEFAULT 0,
    robots_txt TEXT,
    robots_fetched_at REAL,
    robots_attempts INTEGER NOT NULL DEFAULT 0,
    crawl_delay_s REAL,
    enqueued INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS errors (
    url TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL, at REAL NOT NULL, final INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

# After this many failed robots.txt fetches (5xx) a host is crawled as if it had none.
_ROBOTS_MAX_ATTEMPTS = 3


class SQLiteFrontier:
    def __init__(self, path: Path, settings: Settings, revisit_intervals: dict[str, float] | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._settings = settings
        self._revisit = revisit_intervals or {}
        self._agent = robots_agent(settings.fetch.user_agent)
        self._robots: dict[str, Robots] = {}
        # A previous run that died leaves leases behind: they are due again.
        self._db.execute("UPDATE urls SET state='queued' WHERE state='leased'")
        self._db.execute("UPDATE hosts SET in_flight=0")

    # --- adding -----------------------------------------------------------------------------

    def add(self, entries: list[FrontierEntry], now: float) -> AddResult:
        result = AddResult()
        limits = self._settings.frontier
        with self._tx():
            for entry in entries:
                reason = refusal(entry, limits)
                if reason is not None:
                    result.reject(reason)
                    continue
                host = host_of(entry.url)
                self._ensure_host(host, entry.url)
                row = self._db.execute("SELECT enqueued FROM hosts WHERE host=?", (host,)).fetchone()
                if row["enqueued"] >= limits.host_page_budget:
                    if self._known(entry.url):
                        result.known += 1
                    else:
                        result.reject("host_budget")
                    continue
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO urls (url, host, kind, outlet, depth, priority, sort_key, due_at,"
                    " discovered_at, referrer) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        entry.url,
                        host,
                        entry.kind,
                        entry.outlet,
                        entry.depth,
                        PRIORITY[entry.kind],
                        entry.published_ts if entry.published_ts is not None else now,
                        now,
                        now,
                        entry.referrer,
                    ),
                )
                if cur.rowcount:
                    result.added += 1
                    self._db.execute("UPDATE hosts SET enqueued=enqueued+1 WHERE host=?", (host,))
                else:
                    result.known += 1
        return result

    def _known(self, url: str) -> bool:
        return self._db.execute("SELECT 1 FROM urls WHERE url=?", (url,)).fetchone() is not None

    def _ensure_host(self, host: str, url: str) -> None:
        scheme = url.split(":", 1)[0]
        self._db.execute("INSERT OR IGNORE INTO hosts (host, scheme) VALUES (?,?)", (host, scheme))

    # --- leasing ----------------------------------------------------------------------------

    def lease(self, now: float, limit: int, *, fetched_before: float | None = None) -> list[Lease]:
        cap = self._settings.politeness.per_host_concurrency
        before = fetched_before if fetched_before is not None else float("inf")
        leases: list[Lease] = []
        with self._tx():
            hosts = self._db.execute(
                "SELECT h.* FROM hosts h WHERE h.next_fetch_at<=? AND h.in_flight<? AND EXISTS"
                " (SELECT 1 FROM urls u WHERE u.host=h.host AND u.state='queued' AND u.due_at<=?"
                "  AND (u.fetched_at IS NULL OR u.fetched_at<?))"
                " ORDER BY h.next_fetch_at LIMIT ?",
                (now, cap, now, before, limit),
            ).fetchall()
            for host in hosts:
                lease = self._lease_from_host(host, now, before)
                if lease is not None:
                    leases.append(lease)
        return leases

    def _lease_from_host(self, host: sqlite3.Row, now: float, before: float) -> Lease | None:
        name = host["host"]
        if self._settings.politeness.respect_robots and self._robots_stale(host, now):
            if host["in_flight"]:
                return None  # the robots.txt fetch is already out
            self._mark_leased_host(name, now, delay=0.0)
            return Lease(
                url=f"{host['scheme']}://{name}/robots.txt", host=name, kind="robots", outlet=None, depth=0
            )
        robots = self._robots_for(name)
        while True:
            row = self._db.execute(
                "SELECT * FROM urls WHERE host=? AND state='queued' AND due_at<=?"
                " AND (fetched_at IS NULL OR fetched_at<?) ORDER BY priority, sort_key DESC LIMIT 1",
                (name, now, before),
            ).fetchone()
            if row is None:
                return None
            if robots is not None and not robots.allowed(row["url"]):
                self._record_error(row["url"], "robots", "disallowed by robots.txt", now, final=True)
                self._db.execute(
                    "UPDATE urls SET state='failed', error_kind='robots',"
                    " error='disallowed by robots.txt' WHERE url=?",
                    (row["url"],),
                )
                continue
            self._db.execute("UPDATE urls SET state='leased' WHERE url=?", (row["url"],))
            self._mark_leased_host(name, now, delay=self._delay(host))
            return Lease(
                url=row["url"],
                host=name,
                kind=row["kind"],
                outlet=row["outlet"],
                depth=row["depth"],
                attempts=row["attempts"],
                etag=row["etag"],
                last_modified=row["last_modified"],
                body_hash=row["body_hash"],
            )

    def _mark_leased_host(self, host: str, now: float, delay: float) -> None:
        self._db.execute(
            "UPDATE hosts SET in_flight=in_flight+1, next_fetch_at=MAX(next_fetch_at, ?) WHERE host=?",
            (now + delay, host),
        )

    def _robots_stale(self, host: sqlite3.Row, now: float) -> bool:
        fetched = host["robots_fetched_at"]
        return fetched is None or now - fetched > self._settings.politeness.robots_ttl_s

    def _robots_for(self, host: str) -> Robots | None:
        if not self._settings.politeness.respect_robots:
            return None
        if host not in self._robots:
            row = self._db.execute("SELECT robots_txt FROM hosts WHERE host=?", (host,)).fetchone()
            self._robots[host] = Robots(row["robots_txt"] if row else None, self._agent)
        return self._robots[host]

    def _delay(self, host: sqlite3.Row) -> float:
        return host_delay_s(self._settings.politeness, host["crawl_delay_s"])

    # --- reporting back ---------------------------------------------------------------------

    def set_robots(self, host: str, text: str | None, now: float, *, reachable: bool = True) -> None:
        with self._tx():
            if not reachable:
                row = self._db.execute("SELECT robots_attempts FROM hosts WHERE host=?", (host,)).fetchone()
                attempts = (row["robots_attempts"] if row else 0) + 1
                if attempts < _ROBOTS_MAX_ATTEMPTS:
                    # RFC 9309: an unreachable robots.txt means "disallow all" for now; try again later.
                    level_wait = backoff_s(self._settings.politeness, attempts, None)
                    self._db.execute(
                        "UPDATE hosts SET robots_attempts=?, in_flight=MAX(in_flight-1,0),"
                        " next_fetch_at=? WHERE host=?",
                        (attempts, now + level_wait, host),
                    )
                    return
                text = None
            robots = Robots(text, self._agent)
            self._robots[host] = robots
            crawl_delay = robots.crawl_delay_s()
            self._db.execute(
                "UPDATE hosts SET robots_txt=?, robots_fetched_at=?, robots_attempts=0, crawl_delay_s=?"
                " WHERE host=?",
                (text, now, crawl_delay, host),
            )
            row = self._db.execute("SELECT * FROM hosts WHERE host=?", (host,)).fetchone()
            self._release_host(host, now, self._delay(row))

    def complete(self, lease: Lease, outcome: Outcome, now: float) -> None:
        kind = outcome.kind or lease.kind
        with self._tx():
            if kind in REVISITED_KINDS:
                interval = self._revisit.get(lease.outlet or "", self._settings.frontier.revisit_interval_s)
                state, due = "queued", now + interval
            else:
                state, due = "done", now
            self._db.execute(
                "UPDATE urls SET state=?, due_at=?, kind=?, priority=?, attempts=0, status=?, fetched_at=?,"
                " etag=COALESCE(?, etag), last_modified=COALESCE(?, last_modified),"
                " body_hash=COALESCE(?, body_hash), error_kind=NULL, error=NULL WHERE url=?",
                (
                    state,
                    due,
                    kind,
                    PRIORITY[kind],
                    outcome.status,
                    now,
                    outcome.etag,
                    outcome.last_modified,
                    outcome.body_hash,
                    lease.url,
                ),
            )
            self._db.execute("UPDATE hosts SET backoff_level=0 WHERE host=?", (lease.host,))
            self._release_host(lease.host, now, self._delay_for(lease.host))
            self._bump("fetched")

    def fail(self, lease: Lease, error: NewscrawlError, now: float) -> None:
        with self._tx():
            attempts = lease.attempts + 1
            retry = error.transient and attempts < self._settings.frontier.max_attempts
            host_wait = self._delay_for(lease.host)
            if isinstance(error, HTTPStatusError) and error.status in (429, 503):
                row = self._db.execute(
                    "SELECT backoff_level FROM hosts WHERE host=?", (lease.host,)
                ).fetchone()
                level = row["backoff_level"] + 1
                host_wait = max(host_wait, backoff_s(self._settings.politeness, level, error.retry_after_s))
                self._db.execute("UPDATE hosts SET backoff_level=? WHERE host=?", (level, lease.host))
                self._bump("backoffs")
            if lease.kind == "robots":
                self._db.execute("UPDATE hosts SET in_flight=MAX(in_flight-1,0) WHERE host=?", (lease.host,))
                return
            revisit = lease.kind in REVISITED_KINDS and self._was_fetched(lease.url)
            if retry:
                state, due = (
                    "queued",
                    now + max(host_wait, self._settings.politeness.backoff_base_s * attempts),
                )
            elif revisit:
                # A feed that fails today is still worth a visit on its next interval.
                attempts = 0
                state = "queued"
                due = now + self._revisit.get(lease.outlet or "", self._settings.frontier.revisit_interval_s)
            else:
                state, due = "failed", now
            status = error.status if isinstance(error, HTTPStatusError) else None
            self._db.execute(
                "UPDATE urls SET state=?, due_at=?, attempts=?, status=?, error_kind=?, error=? WHERE url=?",
                (state, due, attempts, status, error.kind, error.message, lease.url),
            )
            self._record_error(lease.url, error.kind, error.message, now, final=state == "failed")
            self._release_host(lease.host, now, host_wait)

    def _was_fetched(self, url: str) -> bool:
        row = self._db.execute("SELECT fetched_at FROM urls WHERE url=?", (url,)).fetchone()
        return row is not None and row["fetched_at"] is not None

    def _delay_for(self, host: str) -> float:
        row = self._db.execute("SELECT crawl_delay_s FROM hosts WHERE host=?", (host,)).fetchone()
        return host_delay_s(self._settings.politeness, row["crawl_delay_s"] if row else None)

    def _release_host(self, host: str, now: float, wait_s: float) -> None:
        # The delay runs from the end of a fetch: the next request starts at least wait_s later.
        self._db.execute(
            "UPDATE hosts SET in_flight=MAX(in_flight-1,0), next_fetch_at=MAX(next_fetch_at, ?) WHERE host=?",
            (now + wait_s, host),
        )

    def _record_error(self, url: str, kind: str, message: str, now: float, *, final: bool) -> None:
        self._db.execute(
            "INSERT INTO errors (url, kind, message, at, final) VALUES (?,?,?,?,?)",
            (url, kind, message, now, int(final)),
        )

    def _bump(self, name: str, by: int = 1) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name)"
            " DO UPDATE SET value=value+excluded.value",
            (name, by),
        )

    # --- inspection -------------------------------------------------------------------------

    def pending(self, now: float, *, fetched_before: float | None = None) -> int:
        before = fetched_before if fetched_before is not None else float("inf")
        row = self._db.execute(
            "SELECT COUNT(*) FROM urls WHERE state='leased' OR (state='queued' AND (fetched_at IS NULL"
            " OR (due_at<=? AND fetched_at<?)))",
            (now, before),
        ).fetchone()
        robots = self._db.execute(
            "SELECT COUNT(*) FROM hosts WHERE in_flight>0 AND robots_fetched_at IS NULL"
        ).fetchone()
        return int(row[0]) + int(robots[0])

    def next_wakeup(self, now: float) -> float | None:
        row = self._db.execute(
            "SELECT MIN(MAX(h.next_fetch_at, u.due_at)) FROM urls u JOIN hosts h ON h.host=u.host"
            " WHERE u.state='queued'"
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def errors(self, final_only: bool = True) -> list[dict[str, Any]]:
        sql = "SELECT url, kind, message, at FROM errors" + (" WHERE final=1" if final_only else "")
        return [dict(r) for r in self._db.execute(sql + " ORDER BY at")]

    def stats(self) -> dict[str, object]:
        states = dict(self._db.execute("SELECT state, COUNT(*) FROM urls GROUP BY state").fetchall())
        errors = dict(
            self._db.execute("SELECT kind, COUNT(*) FROM errors WHERE final=1 GROUP BY kind").fetchall()
        )
        counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        hosts = self._db.execute("SELECT COUNT(*) FROM hosts").fetchone()[0]
        return {"urls": states, "hosts": hosts, "errors": errors, **counters}

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)

    def close(self) -> None:
        self._db.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, so concurrent processes on one file cannot interleave."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
