"""The embedded frontier: one SQLite file in the data directory, safe to stop and resume."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path
from typing import Any

from newscrawl.core.connections import SQLiteTransaction, open_sqlite
from newscrawl.core.errors import NewscrawlError
from newscrawl.core.interfaces import HostView, UrlView
from newscrawl.core.records import AddResult, FrontierEntry, Lease, Outcome
from newscrawl.core.urls import host_of
from scheduler.policy import FrontierPolicy, HeadlineRecord, lost_error, robots_lease
from scheduler.politeness import Robots, RobotsCache

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
    discovered_at REAL NOT NULL, referrer TEXT,
    leased_at REAL, lease_renewed_at REAL,
    interval_s REAL, last_new_at REAL, new_ewma REAL, span_ewma REAL,
    lost INTEGER NOT NULL DEFAULT 0,
    claimed INTEGER NOT NULL DEFAULT 0,    -- its holder started it (a death then counts)
    live_until REAL                        -- a live blog's: until when it is fetched again
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
    enqueued INTEGER NOT NULL DEFAULT 0,
    robots_leased_at REAL, robots_renewed_at REAL,
    budget_window INTEGER                   -- the window its enqueued count belongs to
);
CREATE TABLE IF NOT EXISTS errors (
    url TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL, at REAL NOT NULL, final INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- The seen filter: a URL that is done or failed for good leaves its row and keeps only this
-- (and when it was last fetched, if it was: an updated story is fetched again).
CREATE TABLE IF NOT EXISTS seen (fp INTEGER PRIMARY KEY, fetched_at REAL) WITHOUT ROWID;
-- The headline a story was last listed under (FrontierPolicy.headline_refetch), while it may
-- still be fetched again for a change: rows go refetch_max_age_s after the story's first listing.
CREATE TABLE IF NOT EXISTS headlines (fp INTEGER PRIMARY KEY, record TEXT NOT NULL, first_ts REAL NOT NULL)
    WITHOUT ROWID;
"""

# Columns added after the first release: (table, column, type).
_MIGRATIONS = (
    ("urls", "leased_at", "REAL"),
    ("urls", "lease_renewed_at", "REAL"),
    ("hosts", "robots_leased_at", "REAL"),
    ("hosts", "robots_renewed_at", "REAL"),
    ("urls", "interval_s", "REAL"),
    ("urls", "last_new_at", "REAL"),
    ("urls", "new_ewma", "REAL"),
    ("urls", "span_ewma", "REAL"),
    ("urls", "lost", "INTEGER NOT NULL DEFAULT 0"),
    ("urls", "claimed", "INTEGER NOT NULL DEFAULT 0"),
    ("hosts", "budget_window", "INTEGER"),
    ("seen", "fetched_at", "REAL"),
    ("urls", "live_until", "REAL"),
)


def _fingerprint(url: str) -> int:
    """A signed 64-bit fingerprint of ``url`` (SQLite's INTEGER)."""
    return int.from_bytes(hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


class SQLiteFrontier:
    """Applies :class:`FrontierPolicy` decisions to one SQLite file, each in one transaction."""

    def __init__(
        self, db: sqlite3.Connection, policy: FrontierPolicy, *, recover_leases: bool = False
    ) -> None:
        """``recover_leases``: this process is the file's crawl (the one that leases from it),
        so leases left in it belong to a run that died: they are due again, each a death of
        its URL if the run had started it (:meth:`claim`). Anything else that opens the file
        (``newscrawl stats``, tests) leaves them: they may be a running crawl's."""
        self._db = db
        self._db.executescript(_SCHEMA)
        self._migrate()
        self.policy = policy
        self.robots_cache = RobotsCache()
        self._transaction = SQLiteTransaction(db)
        self._expiry_checked_at = float("-inf")
        self._headlines_purged_at = float("-inf")
        self._demand = (float("-inf"), 0.0)
        if recover_leases:
            self._db.execute(
                "UPDATE urls SET state='queued', leased_at=NULL, lost=lost+claimed, claimed=0"
                " WHERE state='leased'"
            )
            self._db.execute("UPDATE hosts SET in_flight=0, robots_leased_at=NULL")

    @classmethod
    def open(cls, path: Path, policy: FrontierPolicy, *, recover_leases: bool = False) -> SQLiteFrontier:
        return cls(open_sqlite(path), policy, recover_leases=recover_leases)

    def _migrate(self) -> None:
        for table, column, kind in _MIGRATIONS:
            names = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in names:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def now(self) -> float:
        """This machine's clock: the file is used on one machine."""
        return time.time()

    # --- adding -----------------------------------------------------------------------------

    def add(self, entries: list[FrontierEntry], now: float) -> AddResult:
        result = AddResult()
        with self._transaction:
            self._forget_old_headlines(now)
            for entry in self.policy.admissible(entries, result):
                host = host_of(entry.url)
                self._ensure_host(host, entry.url)
                refetch = False
                seen = self._seen(entry.url)
                fp = _fingerprint(entry.url)
                record, changed = self.policy.headline_refetch(entry, self._headline(fp), now)
                fetched_at = None if seen is None else seen[0]
                if record is not None and not self.policy.headline_waits(fetched_at, changed, now):
                    self._keep_headline(fp, record)
                if seen is not None:
                    dated = self.policy.refetch_after(entry, now)
                    refetch = self.policy.refetch_due(seen[0], dated, now) or self.policy.refetch_due(
                        seen[0], changed, now
                    )
                    if not refetch:
                        result.known += 1
                        continue
                row = self._db.execute(
                    "SELECT enqueued, budget_window FROM hosts WHERE host=?", (host,)
                ).fetchone()
                window = self.policy.budget_window(now)
                enqueued = row["enqueued"] if row["budget_window"] == window else 0
                if enqueued == 0:
                    self._db.execute(
                        "UPDATE hosts SET enqueued=0, budget_window=? WHERE host=?", (window, host)
                    )
                if enqueued >= self.policy.host_page_budget:
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
                        self.policy.priority(entry.kind),
                        self.policy.sort_key(entry, now),
                        now,
                        now,
                        entry.referrer,
                    ),
                )
                if not cur.rowcount:
                    result.known += 1
                    continue
                if refetch:
                    result.updated += 1
                else:
                    result.added += 1
                    result.new_articles += entry.kind == "article"
                self._db.execute("UPDATE hosts SET enqueued=enqueued+1 WHERE host=?", (host,))
        return result

    def _headline(self, fp: int) -> HeadlineRecord | None:
        row = self._db.execute("SELECT record FROM headlines WHERE fp=?", (fp,)).fetchone()
        return HeadlineRecord.decode(row[0]) if row else None

    def _keep_headline(self, fp: int, record: HeadlineRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO headlines (fp, record, first_ts) VALUES (?,?,?)",
            (fp, record.encode(), record.first_ts),
        )

    def _forget_old_headlines(self, now: float) -> None:
        """Headlines of stories past ``refetch_max_age_s`` go (at most hourly: one scan)."""
        if now - self._headlines_purged_at < 3600.0:
            return
        self._headlines_purged_at = now
        self._db.execute(
            "DELETE FROM headlines WHERE first_ts < ?", (now - self.policy.limits.refetch_max_age_s,)
        )

    def _known(self, url: str) -> bool:
        found = self._db.execute("SELECT 1 FROM urls WHERE url=?", (url,)).fetchone() is not None
        return found or self._seen(url) is not None

    def _seen(self, url: str) -> tuple[float | None] | None:
        """(when it was last fetched, or None) for a URL done or failed for good; None if not."""
        row = self._db.execute("SELECT fetched_at FROM seen WHERE fp=?", (_fingerprint(url),)).fetchone()
        return None if row is None else (row[0],)

    def _retire(self, url: str, state: str, now: float) -> None:
        """A URL done or failed for good: its row goes (the frontier does not grow with it).
        The seen filter keeps when it was last fetched: a story that failed the first time has
        nothing to update; one fetched again that failed is not asked for again before the gap
        (it stays as first read)."""
        self._db.execute("DELETE FROM urls WHERE url=?", (url,))
        self._db.execute(
            "INSERT INTO seen (fp, fetched_at) VALUES (?, ?) ON CONFLICT(fp) DO UPDATE SET fetched_at=?",
            (_fingerprint(url), now if state == "done" else None, now),
        )
        self._bump(f"state:{state}")

    def _ensure_host(self, host: str, url: str) -> None:
        scheme = url.split(":", 1)[0]
        self._db.execute("INSERT OR IGNORE INTO hosts (host, scheme) VALUES (?,?)", (host, scheme))

    # --- leasing ----------------------------------------------------------------------------

    def lease(self, now: float, limit: int, *, fetched_before: float | None = None) -> list[Lease]:
        cap = self.policy.per_host_concurrency
        before = fetched_before if fetched_before is not None else float("inf")
        leases: list[Lease] = []
        with self._transaction:
            self._expire_leases(now)
            # By host (urls_pick): without statistics the planner takes urls_state and, for each
            # host, reads the due URLs of every host, so a lease grew with the whole queue.
            hosts = self._db.execute(
                "SELECT h.* FROM hosts h WHERE h.next_fetch_at<=? AND h.in_flight<? AND EXISTS"
                " (SELECT 1 FROM urls u INDEXED BY urls_pick WHERE u.host=h.host AND u.state='queued'"
                "  AND u.due_at<=?"
                "  AND (u.fetched_at IS NULL OR u.fetched_at<?))"
                " ORDER BY h.next_fetch_at, h.host LIMIT ?",
                (now, cap, now, before, limit),
            ).fetchall()
            for host in hosts:
                lease = self._lease_from_host(host, now, before)
                if lease is None:
                    continue
                if self.policy.lost_too_often(lease):
                    self.fail(lease, lost_error(lease), now)
                else:
                    leases.append(lease)
        return leases

    def _expire_leases(self, now: float) -> None:
        """Leases not reported within the lease timeout (their holder died) are queued again."""
        # Looked for once a second at most: the engine leases many times a second, and a lease
        # timeout is never shorter than a task's time limit.
        if now - self._expiry_checked_at < 1.0:
            return
        self._expiry_checked_at = now
        cutoff = now - self.policy.lease_timeout_s
        for row in self._db.execute(
            "SELECT url, host FROM urls WHERE state='leased' AND COALESCE(lease_renewed_at, leased_at)<=?",
            (cutoff,),
        ).fetchall():
            self._db.execute(
                "UPDATE urls SET state='queued', leased_at=NULL, lost=lost+claimed, claimed=0 WHERE url=?",
                (row["url"],),
            )
            self._db.execute("UPDATE hosts SET in_flight=MAX(in_flight-1,0) WHERE host=?", (row["host"],))
        self._db.execute(
            "UPDATE hosts SET in_flight=MAX(in_flight-1,0), robots_leased_at=NULL"
            " WHERE COALESCE(robots_renewed_at, robots_leased_at)<=?",
            (cutoff,),
        )

    def _next_due(self, host: str, now: float, before: float) -> sqlite3.Row | None:
        """The host's URL to fetch next."""
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM urls INDEXED BY urls_pick WHERE host=? AND state='queued' AND due_at<=?"
            " AND (fetched_at IS NULL OR fetched_at<?) ORDER BY priority, sort_key DESC, url LIMIT 1",
            (host, now, before),
        ).fetchone()
        return row

    def _lease_from_host(self, host: sqlite3.Row, now: float, before: float) -> Lease | None:
        name = host["host"]
        if self.policy.respect_robots and self._robots_stale(host, now):
            if host["in_flight"]:
                return None  # the robots.txt fetch is already out
            self._db.execute(
                "UPDATE hosts SET in_flight=in_flight+1, robots_leased_at=?, robots_renewed_at=NULL"
                " WHERE host=?",
                (now, name),
            )
            head = self._next_due(name, now, before)
            source_outlet = (
                head["outlet"] if head is not None and head["kind"] in ("feed", "sitemap") else None
            )
            return robots_lease(name, host["scheme"], now, source_outlet)
        robots = self._robots_for(name)
        while True:
            row = self._next_due(name, now, before)
            if row is None:
                return None
            if robots is not None and not robots.allowed(row["url"]):
                self._record_error(row["url"], "robots", "disallowed by robots.txt", now, final=True)
                self._retire(row["url"], "failed", now)
                continue
            self._db.execute(
                "UPDATE urls SET state='leased', leased_at=?, lease_renewed_at=NULL, claimed=0 WHERE url=?",
                (now, row["url"]),
            )
            self._db.execute(
                "UPDATE hosts SET in_flight=in_flight+1, next_fetch_at=MAX(next_fetch_at, ?) WHERE host=?",
                (now + self._host_delay(host), name),
            )
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
                leased_at=now,
                due_at=row["due_at"],
                interval_s=row["interval_s"],
                fetched_at=row["fetched_at"],
                last_new_at=row["last_new_at"],
                new_ewma=row["new_ewma"],
                span_ewma=row["span_ewma"],
                lost=row["lost"],
                live_until=row["live_until"],
            )

    def _robots_stale(self, host: sqlite3.Row, now: float) -> bool:
        fetched = host["robots_fetched_at"]
        return fetched is None or now - fetched > self.policy.robots_ttl_s

    def _robots_for(self, host: str) -> Robots | None:
        if not self.policy.respect_robots:
            return None
        robots = self.robots_cache.get(host)
        if robots is None:
            row = self._db.execute("SELECT robots_txt FROM hosts WHERE host=?", (host,)).fetchone()
            robots = Robots(row["robots_txt"] if row else None, self.policy.robots_agent)
            self.robots_cache.put(host, robots)
        return robots

    def _host_delay(self, host: sqlite3.Row | None) -> float:
        return self.policy.host_delay_s(host["crawl_delay_s"] if host is not None else None)

    def _host(self, host: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute("SELECT * FROM hosts WHERE host=?", (host,)).fetchone()
        return row

    def _held(self, lease: Lease) -> bool:
        """The lease is still its holder's: a report after it expired and went elsewhere is ignored."""
        if lease.kind == "robots":
            row = self._db.execute("SELECT robots_leased_at AS at FROM hosts WHERE host=?", (lease.host,))
        else:
            row = self._db.execute(
                "SELECT leased_at AS at FROM urls WHERE url=? AND state='leased'", (lease.url,)
            )
        found = row.fetchone()
        if found is None or found["at"] is None:
            return False
        return lease.leased_at is None or abs(float(found["at"]) - lease.leased_at) < 1e-3

    # --- reporting back ---------------------------------------------------------------------

    def set_robots(self, host: str, text: str | None, now: float, *, reachable: bool = True) -> None:
        with self._transaction:
            row = self._host(host)
            if not reachable:
                cached = row is not None and row["robots_fetched_at"] is not None
                decision = self.policy.after_robots_failure(
                    row["robots_attempts"] if row else 0, cached=cached
                )
                if decision.retry:
                    self._db.execute(
                        "UPDATE hosts SET robots_attempts=?, in_flight=MAX(in_flight-1,0),"
                        " robots_leased_at=NULL, next_fetch_at=? WHERE host=?",
                        (decision.attempts, now + decision.wait_s, host),
                    )
                    return
                text = row["robots_txt"] if row else None  # the last copy stands in
            robots = Robots(text, self.policy.robots_agent)
            self.robots_cache.put(host, robots)
            crawl_delay = robots.crawl_delay_s()
            delay = self.policy.host_delay_s(crawl_delay)
            self._db.execute(
                "UPDATE hosts SET robots_txt=?, robots_fetched_at=?, robots_attempts=0, crawl_delay_s=?,"
                " robots_leased_at=NULL WHERE host=?",
                (text, now, crawl_delay, host),
            )
            self._release_host(host, now, delay)

    def complete(self, lease: Lease, outcome: Outcome, now: float) -> None:
        with self._transaction:
            if not self._held(lease):
                return
            live = self._live_on_host(lease, now) if self.policy.counts_live_blogs(lease, outcome) else 0
            decision = self.policy.after_success(
                lease, outcome, now, source_demand_per_s=self._source_demand(now), live_on_host=live
            )
            source = decision.source
            if decision.revisit:
                # A possible section on trial is looked at again with no schedule of its own.
                schedule = (
                    (source.interval_s, source.last_new_at, source.new_ewma, source.span_ewma)
                    if source is not None
                    else (None, None, None, None)
                )
                self._db.execute(
                    "UPDATE urls SET state='queued', due_at=?, kind=?, priority=?, attempts=0, lost=0,"
                    " status=?, fetched_at=?, etag=COALESCE(?, etag),"
                    " last_modified=COALESCE(?, last_modified),"
                    " body_hash=COALESCE(?, body_hash), error_kind=NULL, error=NULL, leased_at=NULL,"
                    " interval_s=?, last_new_at=?, new_ewma=?, span_ewma=?, live_until=? WHERE url=?",
                    (
                        decision.due_at,
                        decision.kind,
                        decision.priority,
                        outcome.status,
                        now,
                        outcome.etag,
                        outcome.last_modified,
                        outcome.body_hash,
                        *schedule,
                        decision.live_until,
                        lease.url,
                    ),
                )
            else:
                self._retire(lease.url, "done", now)
            if decision.live_capped:
                self._bump("live_blogs_not_followed")
            self._db.execute("UPDATE hosts SET backoff_level=0 WHERE host=?", (lease.host,))
            self._release_host(lease.host, now, self._host_delay(self._host(lease.host)))
            self._bump("fetched")

    def _live_on_host(self, lease: Lease, now: float) -> int:
        """The host's other live blogs that are followed now (queued or in flight)."""
        (count,) = self._db.execute(
            "SELECT COUNT(*) FROM urls WHERE host=? AND state IN ('queued', 'leased') AND live_until>?"
            " AND url<>?",
            (lease.host, now, lease.url),
        ).fetchone()
        return int(count)

    def fail(self, lease: Lease, error: NewscrawlError, now: float) -> None:
        if lease.kind == "robots":
            self.set_robots(lease.host, None, now, reachable=not self.policy.robots_unreachable(error))
            return
        with self._transaction:
            if not self._held(lease):
                return
            host = self._host(lease.host)
            decision = self.policy.after_failure(
                lease, error, now, fetched_before=self._was_fetched(lease.url)
            )
            host_wait = self._host_delay(host)
            if decision.throttled:
                level = (host["backoff_level"] if host else 0) + 1
                host_wait = max(host_wait, decision.throttle_wait_s(level))
                self._db.execute("UPDATE hosts SET backoff_level=? WHERE host=?", (level, lease.host))
                self._bump("backoffs")
            due = decision.due_at
            if decision.mode == "retry":
                due = max(due, now + host_wait)
            final = decision.mode == "final"
            if final:
                self._retire(lease.url, "failed", now)
            else:
                self._db.execute(
                    "UPDATE urls SET state='queued', due_at=?, attempts=?, lost=0, status=?, error_kind=?,"
                    " error=?, leased_at=NULL WHERE url=?",
                    (due, decision.attempts, decision.status, error.kind, error.message, lease.url),
                )
            self._record_error(lease.url, error.kind, error.message, now, final=final)
            self._release_host(lease.host, now, host_wait)

    def _source_demand(self, now: float) -> float:
        """Visits a second the sources ask for (only read under a source budget; cached 5 s)."""
        if not self.policy.budgeted:
            return 0.0
        if now - self._demand[0] >= 5.0:
            row = self._db.execute("SELECT SUM(1.0 / interval_s) FROM urls WHERE interval_s > 0").fetchone()
            self._demand = (now, float(row[0] or 0.0))
        return self._demand[1]

    def _was_fetched(self, url: str) -> bool:
        row = self._db.execute("SELECT fetched_at FROM urls WHERE url=?", (url,)).fetchone()
        return row is not None and row["fetched_at"] is not None

    def _release_host(self, host: str, now: float, wait_s: float) -> None:
        # The delay runs from the end of a fetch: the next request starts at least wait_s later.
        self._db.execute(
            "UPDATE hosts SET in_flight=MAX(in_flight-1,0), next_fetch_at=MAX(next_fetch_at, ?) WHERE host=?",
            (now + wait_s, host),
        )

    def _record_error(self, url: str, kind: str, message: str, now: float, *, final: bool) -> None:
        cur = self._db.execute(
            "INSERT INTO errors (url, kind, message, at, final) VALUES (?,?,?,?,?)",
            (url, kind, message, now, int(final)),
        )
        if final:
            self._bump(f"failed:{kind}")
        # The list keeps the latest errors_kept records; the counts by kind stay whole.
        oldest_kept = (cur.lastrowid or 0) - self.policy.errors_kept
        self._db.execute("DELETE FROM errors WHERE rowid<=?", (oldest_kept,))

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
            "SELECT COUNT(*) FROM hosts WHERE robots_leased_at IS NOT NULL AND robots_fetched_at IS NULL"
        ).fetchone()
        return int(row[0]) + int(robots[0])

    def next_wakeup(self, now: float, *, fetched_before: float | None = None) -> float | None:
        before = fetched_before if fetched_before is not None else float("inf")
        row = self._db.execute(
            "SELECT MIN(MAX(h.next_fetch_at, u.due_at)) FROM urls u JOIN hosts h ON h.host=u.host"
            " WHERE u.state='queued' AND (u.fetched_at IS NULL OR u.fetched_at<?)",
            (before,),
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def in_flight(self) -> int:
        urls = self._db.execute("SELECT COUNT(*) FROM urls WHERE state='leased'").fetchone()[0]
        robots = self._db.execute("SELECT COUNT(*) FROM hosts WHERE robots_leased_at IS NOT NULL").fetchone()[
            0
        ]
        return int(urls) + int(robots)

    def claim(self, leases: list[Lease], runner: str, now: float | None = None) -> list[bool]:
        """Held or not, and marked started: the holder's death then counts against the URL.
        The file's one process runs each lease once, so runners never compete."""
        held = []
        with self._transaction:
            for lease in leases:
                mine = self._held(lease)
                if mine and lease.kind != "robots":
                    self._db.execute("UPDATE urls SET claimed=1 WHERE url=?", (lease.url,))
                if mine and now is not None:
                    self._renew_one(lease, now)
                held.append(mine)
        return held

    def renew(self, leases: list[Lease], now: float) -> int:
        renewed = 0
        with self._transaction:
            for lease in leases:
                if self._held(lease):
                    self._renew_one(lease, now)
                    renewed += 1
        return renewed

    def _renew_one(self, lease: Lease, now: float) -> None:
        if lease.kind == "robots":
            self._db.execute("UPDATE hosts SET robots_renewed_at=? WHERE host=?", (now, lease.host))
        else:
            self._db.execute("UPDATE urls SET lease_renewed_at=? WHERE url=?", (now, lease.url))

    def errors(self, final_only: bool = True) -> list[dict[str, Any]]:
        sql = "SELECT url, kind, message, at, final FROM errors" + (" WHERE final=1" if final_only else "")
        return [{**dict(r), "final": int(r["final"])} for r in self._db.execute(sql + " ORDER BY rowid")]

    def url_view(self, url: str) -> UrlView | None:
        row = self._db.execute(
            "SELECT state, due_at, attempts FROM urls WHERE url=? AND state IN ('queued', 'leased')", (url,)
        ).fetchone()
        return UrlView(row["state"], float(row["due_at"]), int(row["attempts"])) if row else None

    def host_view(self, host: str) -> HostView | None:
        row = self._host(host)
        if row is None:
            return None
        return HostView(
            float(row["next_fetch_at"]),
            int(row["in_flight"]),
            int(row["backoff_level"]),
            int(row["robots_attempts"]),
        )

    def stats(self) -> dict[str, object]:
        rows = self._db.execute("SELECT state, COUNT(*) FROM urls GROUP BY state").fetchall()
        states: dict[str, int] = dict(rows)
        errors: dict[str, int] = {}
        counters: dict[str, int] = {}
        for name, value in self._db.execute("SELECT name, value FROM counters").fetchall():
            if name.startswith("state:"):
                states[name.removeprefix("state:")] = states.get(name.removeprefix("state:"), 0) + value
            elif name.startswith("failed:"):
                errors[name.removeprefix("failed:")] = value
            else:
                counters[name] = value
        hosts = self._db.execute("SELECT COUNT(*) FROM hosts").fetchone()[0]
        demand = self._db.execute("SELECT SUM(1.0 / interval_s) FROM urls WHERE interval_s > 0").fetchone()[0]
        return {
            "urls": states,
            # What the sources' intervals ask for (before any source budget stretches them).
            "source_visits_per_min": round(float(demand or 0.0) * 60, 2),
            "hosts": hosts,
            "errors": errors,
            **counters,
        }

    def close(self) -> None:
        self._db.close()
