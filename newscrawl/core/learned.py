"""What the crawl learns of a host's addresses, known to every process that reads its pages.

Two learners conclude facts from evidence: ``scheduler/url_shapes.py`` (the shapes of a host's
story addresses, from its feeds and news sitemaps) and ``workers/url_params.py`` (the query
parameters its canonical URLs drop). The evidence and the facts it shows both go to the store
beside the frontier, so that every process counts the evidence that any of them saw and applies
every fact: each Celery pool process on every machine (a home page is rarely read by the process
that read its outlet's feed, and an outlet's two stories that drop a parameter are rarely read by
one process of eight), one that replaced another, and the embedded crawl after a restart.

    LearnedFacts            the learners' view: a per-host cache over a store (without one:
      │                     this process's own evidence and facts, bounded; ``newscrawl extract``)
      └── FactStore         SQLiteFacts (DATA/learned.sqlite), RedisFacts (a hash of facts and
                            one of evidence per host, beside the Redis frontier)

A process reads a host's facts from the store at most once per ``refresh_s``: a fact one process
learns reaches the others within that. A piece of evidence is one round trip, once per process
(a feed read again lists the same stories). A fact lives ``ttl_s`` from when it was learned (a
site that changed its addresses sheds the old shapes), and so does evidence that has not yet
shown one; the learners conclude it again from fresh evidence. A store that fails raises
``StoreError``: the page in hand is settled again once the store is back, never failed for it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal, Protocol

from newscrawl.core import metrics
from newscrawl.core.connections import SQLiteTransaction
from newscrawl.core.log import get_logger
from newscrawl.core.redis_keys import LearnedKeys

log = get_logger("newscrawl.learned")

FactKind = Literal["shape", "param"]
FACT_KINDS: tuple[FactKind, ...] = ("shape", "param")
# Per host and kind: a host cannot make the store grow without bound.
MAX_FACTS_PER_KIND = 64
MAX_CACHED_HOSTS = 10_000
# Per host: the facts with evidence being gathered (a host cannot make the store grow either).
MAX_PENDING_PER_HOST = 2 * MAX_FACTS_PER_KIND
# Per process: the pieces of evidence it has handed the store, not to hand them again.
MAX_WITNESSED = 50_000
DEFAULT_REFRESH_S = 60.0
DEFAULT_TTL_S = 30 * 86400.0

HostFacts = dict[FactKind, frozenset[str]]


class FactStore(Protocol):
    def load(self, host: str, now: float) -> HostFacts:
        """The host's facts learned within the store's lifetime (``ttl_s``) before ``now``."""

    def add(self, host: str, kind: FactKind, fact: str, now: float) -> None: ...

    def witness(self, host: str, kind: FactKind, fact: str, item: str, now: float) -> int:
        """Keep ``item`` (a digest) as evidence for ``fact``; how many different items it has now
        (0: the host has too many facts pending to take another)."""

    def forget_evidence(self, host: str, kind: FactKind, fact: str) -> None:
        """The fact is learned: its evidence is no longer needed."""

    def close(self) -> None: ...


class LearnedFacts:
    """The facts of each host, read from ``store`` (None: this process's own, bounded)."""

    def __init__(
        self,
        store: FactStore | None = None,
        *,
        refresh_s: float = DEFAULT_REFRESH_S,
        clock: Callable[[], float] = time.time,
        max_hosts: int = MAX_CACHED_HOSTS,
    ) -> None:
        self._store = store
        self._refresh_s = refresh_s
        self._clock = clock
        self._max_hosts = max_hosts
        # host -> (when read from the store, its facts)
        self._hosts: OrderedDict[str, tuple[float, HostFacts]] = OrderedDict()
        # Without a store, the evidence itself: (host, kind, fact) -> items.
        self._evidence: OrderedDict[tuple[str, FactKind, str], set[str]] = OrderedDict()
        # With one, what this process has handed it: (host, kind, fact, item).
        self._witnessed: OrderedDict[tuple[str, str, str, str], None] = OrderedDict()

    def facts(self, host: str, kind: FactKind) -> frozenset[str]:
        return self._host(host).get(kind, frozenset())

    def knows(self, host: str, kind: FactKind, fact: str) -> bool:
        return fact in self.facts(host, kind)

    def learn(self, host: str, kind: FactKind, fact: str) -> None:
        """A learner concluded ``fact``; once a host has ``MAX_FACTS_PER_KIND`` of a kind, no more."""
        known = self._host(host)
        current = known.get(kind, frozenset())
        if fact in current or len(current) >= MAX_FACTS_PER_KIND:
            return
        now = self._clock()
        if self._store is not None:
            self._store.add(host, kind, fact, now)
        metrics.LEARNED.labels(kind=kind).inc()
        log.info("fact_learned", host=host, kind=kind, fact=fact.replace("\x1e", "/"))
        read_at = self._hosts[host][0] if host in self._hosts else now
        self._remember(host, read_at, {**known, kind: current | {fact}})

    def witness(self, host: str, kind: FactKind, fact: str, item: str, needed: int) -> None:
        """``item`` (a story, a canonical URL) is evidence for ``fact``: once ``needed``
        different items were seen, by this process or any other, the fact is learned."""
        if self.knows(host, kind, fact):
            return
        digest = hashlib.blake2b(item.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
        if self._store is None:
            count = self._witness_here(host, kind, fact, digest)
        else:
            key = (host, kind, fact, digest)
            if key in self._witnessed:  # handed over already: a feed read again
                return
            count = self._store.witness(host, kind, fact, digest, self._clock())
            self._witnessed[key] = None
            if len(self._witnessed) > MAX_WITNESSED:
                self._witnessed.popitem(last=False)
        if count >= needed:
            self.learn(host, kind, fact)
            if self._store is not None:
                self._store.forget_evidence(host, kind, fact)
            else:
                self._evidence.pop((host, kind, fact), None)

    def _witness_here(self, host: str, kind: FactKind, fact: str, digest: str) -> int:
        key = (host, kind, fact)
        items = self._evidence.get(key)
        if items is None:
            items = self._evidence[key] = set()
            if len(self._evidence) > self._max_hosts * 4:
                self._evidence.popitem(last=False)
        items.add(digest)
        return len(items)

    def _host(self, host: str) -> HostFacts:
        cached = self._hosts.get(host)
        if self._store is None:
            return cached[1] if cached is not None else {}
        now = self._clock()
        if cached is not None and now - cached[0] < self._refresh_s:
            return cached[1]
        # Hosts with nothing learned are kept too: a link to another site costs no round trip.
        known = self._store.load(host, now)
        self._remember(host, now, known)
        return known

    def _remember(self, host: str, read_at: float, known: HostFacts) -> None:
        self._hosts[host] = (read_at, known)
        self._hosts.move_to_end(host)
        if len(self._hosts) > self._max_hosts:
            self._hosts.popitem(last=False)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    host TEXT NOT NULL,
    kind TEXT NOT NULL,
    fact TEXT NOT NULL,
    learned_at REAL NOT NULL,
    PRIMARY KEY (host, kind, fact)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS evidence (
    host TEXT NOT NULL,
    kind TEXT NOT NULL,
    fact TEXT NOT NULL,
    item TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (host, kind, fact, item)
) WITHOUT ROWID;
"""


def _grouped(rows: Any) -> HostFacts:
    found: dict[FactKind, set[str]] = {}
    for kind, fact in rows:
        if kind in FACT_KINDS:
            found.setdefault(kind, set()).add(fact)
    return {kind: frozenset(facts) for kind, facts in found.items()}


class SQLiteFacts:
    """The embedded mode's store: ``DATA/learned.sqlite``, kept across runs."""

    def __init__(self, db: sqlite3.Connection, *, ttl_s: float = DEFAULT_TTL_S) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._transaction = SQLiteTransaction(db)
        db.executescript(_SCHEMA)

    def load(self, host: str, now: float) -> HostFacts:
        rows = self._db.execute(
            "SELECT kind, fact FROM facts WHERE host=? AND learned_at>?", (host, now - self._ttl_s)
        )
        return _grouped(rows)

    def add(self, host: str, kind: FactKind, fact: str, now: float) -> None:
        # The host's expired facts go as it learns a new one (the file never grows with them).
        self._db.execute("DELETE FROM facts WHERE host=? AND learned_at<=?", (host, now - self._ttl_s))
        self._db.execute(
            "INSERT INTO facts (host, kind, fact, learned_at) VALUES (?,?,?,?)"
            " ON CONFLICT(host, kind, fact) DO UPDATE SET learned_at=excluded.learned_at",
            (host, kind, fact, now),
        )

    def witness(self, host: str, kind: FactKind, fact: str, item: str, now: float) -> int:
        with self._transaction:
            self._db.execute("DELETE FROM evidence WHERE host=? AND seen_at<=?", (host, now - self._ttl_s))
            pending = self._db.execute(
                "SELECT COUNT(DISTINCT kind || fact) FROM evidence WHERE host=?", (host,)
            ).fetchone()[0]
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM evidence WHERE host=? AND kind=? AND fact=?", (host, kind, fact)
            ).fetchone()
            if count == 0 and pending >= MAX_PENDING_PER_HOST:
                return 0
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO evidence (host, kind, fact, item, seen_at) VALUES (?,?,?,?,?)",
                (host, kind, fact, item, now),
            ).rowcount
            return int(count) + max(inserted, 0)

    def forget_evidence(self, host: str, kind: FactKind, fact: str) -> None:
        self._db.execute("DELETE FROM evidence WHERE host=? AND kind=? AND fact=?", (host, kind, fact))

    def close(self) -> None:
        self._db.close()


# KEYS[1] the host's hash; ARGV: field, learned-at, ttl (s), the cap of fields.
# The cap counts in the script, so processes that learn at once cannot pass it together.
_ADD = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
_SEPARATOR = "\x1f"  # between kind and fact in a field: in neither

# KEYS[1] the host's evidence hash; ARGV: field, item digest, ttl (s), the cap of fields.
# The field's value holds the digests of its evidence, space-separated; returns their number.
_WITNESS = """
local items = redis.call('HGET', KEYS[1], ARGV[1])
if not items then
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
  items = ''
end
if not string.find(' ' .. items .. ' ', ' ' .. ARGV[2] .. ' ', 1, true) then
  items = (items == '' and ARGV[2]) or (items .. ' ' .. ARGV[2])
  redis.call('HSET', KEYS[1], ARGV[1], items)
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
local n = 0
for _ in string.gmatch(items, '%S+') do n = n + 1 end
return n
"""


class RedisFacts:
    """The distributed mode's store: a hash per host (field: kind and fact, value: when learned),
    expiring ``ttl_s`` after the host's last new fact."""

    def __init__(self, client: Any, prefix: str, *, ttl_s: float = DEFAULT_TTL_S) -> None:
        self._redis = client
        self.keys = LearnedKeys(prefix)
        self._ttl_s = ttl_s
        self._add = client.register_script(_ADD)
        self._witness = client.register_script(_WITNESS)

    def load(self, host: str, now: float) -> HostFacts:
        fields = self._redis.hgetall(self.keys.host(host))
        rows = []
        for field, learned_at in fields.items():
            kind, _, fact = field.partition(_SEPARATOR)
            if float(learned_at) > now - self._ttl_s:
                rows.append((kind, fact))
        return _grouped(rows)

    def add(self, host: str, kind: FactKind, fact: str, now: float) -> None:
        cap = MAX_FACTS_PER_KIND * len(FACT_KINDS)
        self._add(keys=[self.keys.host(host)], args=[f"{kind}{_SEPARATOR}{fact}", now, int(self._ttl_s), cap])

    def witness(self, host: str, kind: FactKind, fact: str, item: str, now: float) -> int:
        field = f"{kind}{_SEPARATOR}{fact}"
        args = [field, item, int(self._ttl_s), MAX_PENDING_PER_HOST]
        return int(self._witness(keys=[self.keys.evidence(host)], args=args))

    def forget_evidence(self, host: str, kind: FactKind, fact: str) -> None:
        self._redis.hdel(self.keys.evidence(host), f"{kind}{_SEPARATOR}{fact}")

    def close(self) -> None:
        """The client belongs to the process's connection factory."""
