"""Every Redis key newscrawl uses, in one place.

All keys start with a configurable prefix (``redis_prefix`` in settings, default "newscrawl"),
so several crawls can share one Redis and a test can remove exactly its own keys.
"""

from __future__ import annotations


class DedupKeys:
    """Keys of the deduplicator's store (workers/dedup_redis.py)."""

    def __init__(self, prefix: str) -> None:
        self.base = f"{prefix}:dedup"

    @property
    def lock(self) -> str:
        """STRING: the decision lock (token, with an expiry)."""
        return f"{self.base}:lock"

    @property
    def docs(self) -> str:
        """SET of every document id."""
        return f"{self.base}:docs"

    @property
    def duplicates(self) -> str:
        """SET of the ids of documents that are duplicates."""
        return f"{self.base}:duplicates"

    @property
    def boilerplate_count(self) -> str:
        """STRING counter of blocks marked boilerplate (all hosts)."""
        return f"{self.base}:boilerplate-count"

    @property
    def headline_count(self) -> str:
        """STRING counter of distinct teaser headlines (all hosts)."""
        return f"{self.base}:headline-count"

    def doc(self, doc_id: str) -> str:
        """HASH: the stored document (fields of ``StoredDoc``)."""
        return f"{self.base}:doc:{doc_id}"

    def aliases(self, doc_id: str) -> str:
        """SET of other URLs of the document."""
        return f"{self.base}:aliases:{doc_id}"

    @property
    def version(self) -> str:
        """STRING: the store's layout version (2: with the window), set once upgraded."""
        return f"{self.base}:version"

    @property
    def seen(self) -> str:
        """ZSET of every document id, scored by when the stage last saw it (its window)."""
        return f"{self.base}:seen"

    @property
    def counts_seen(self) -> str:
        """ZSET of the ``block_pages`` and ``headlines`` keys, scored by when last written (the
        window: those untouched for it are removed)."""
        return f"{self.base}:countsseen"

    def block_pages(self, host: str, block: str) -> str:
        """ZSET of the pages of ``host`` that carry ``block``, scored by when each was seen."""
        return f"{self.base}:bpz:{host}:{block}"

    def legacy_block_pages(self, host: str, block: str) -> str:
        """SET: ``block_pages`` before the window (layout version 1), removed on upgrade."""
        return f"{self.base}:bp:{host}:{block}"

    def boilerplate(self, host: str) -> str:
        """SET of the blocks that are boilerplate on ``host``."""
        return f"{self.base}:boiler:{host}"

    def headlines(self, host: str, block: str) -> str:
        """ZSET of the article URLs teased on ``host`` under the headline ``block``, scored by
        when each was last seen teased."""
        return f"{self.base}:headz:{host}:{block}"

    def legacy_headlines(self, host: str, block: str) -> str:
        """SET: ``headlines`` before the window (layout version 1), removed on upgrade."""
        return f"{self.base}:head:{host}:{block}"

    def block_docs(self, block: str) -> str:
        """SET of the documents (any host) holding ``block``."""
        return f"{self.base}:bd:{block}"

    def host_block_docs(self, host: str, block: str) -> str:
        """SET of the documents of ``host`` holding ``block``."""
        return f"{self.base}:hbd:{host}:{block}"

    def doc_blocks(self, doc_id: str) -> str:
        """SET of the blocks a document holds (to undo its memberships on change)."""
        return f"{self.base}:docblocks:{doc_id}"

    def content(self, content_hash: str) -> str:
        """SET of the documents with this normalised-body hash."""
        return f"{self.base}:content:{content_hash}"

    def band(self, band: int, value: int) -> str:
        """SET of the documents whose simhash has ``value`` in band ``band``."""
        return f"{self.base}:band:{band}:{value}"

    def doc_fingerprints(self, doc_id: str) -> str:
        """HASH: a document's current content hash and bands (to undo them on change)."""
        return f"{self.base}:docfp:{doc_id}"

    def edges(self, doc_id: str) -> str:
        """SET of a document's verified near-duplicate neighbours."""
        return f"{self.base}:edges:{doc_id}"


class FrontierKeys:
    """Keys of the shared frontier (scheduler/redis_frontier.py).

    The Lua scripts build per-URL and per-host keys from the prefix (``url_prefix``,
    ``host_prefix``, ``queue_prefix``), so those patterns live here too.
    """

    def __init__(self, prefix: str) -> None:
        self.base = f"{prefix}:frontier"
        self.url_prefix = f"{self.base}:url:"  # HASH per URL: state, kind, due time, validators, errors
        self.host_prefix = f"{self.base}:host:"  # HASH per host: politeness state and robots.txt
        self.queue_prefix = f"{self.base}:q:"  # ZSET per host: due URLs by rank (priority, newest first)
        # HASH per bucket of the seen filter: field = rest of a URL's 64-bit fingerprint.
        self.seen_prefix = f"{self.base}:seen:"

    def seen(self, bucket: int) -> str:
        return f"{self.seen_prefix}{bucket:x}"

    def headlines(self, period: int, bucket: int) -> str:
        """HASH per period and bucket: the headline a story was last listed under (field as in
        the seen filter). A period is ``refetch_max_age_s`` long; its keys expire two periods on."""
        return f"{self.base}:headlines:{period:x}:{bucket:x}"

    def url(self, url: str) -> str:
        return self.url_prefix + url

    def host(self, host: str) -> str:
        return self.host_prefix + host

    def live(self, host: str) -> str:
        """ZSET per host: its live blogs followed, scored by until when (``live_max_per_host``)."""
        return f"{self.base}:live:{host}"

    def queue(self, host: str) -> str:
        return self.queue_prefix + host

    @property
    def hosts(self) -> str:
        """ZSET: hosts with queued URLs, scored by the time they may be fetched next."""
        return f"{self.base}:hosts"

    @property
    def all_hosts(self) -> str:
        """SET of every host ever seen."""
        return f"{self.base}:all-hosts"

    @property
    def delayed(self) -> str:
        """ZSET: queued URLs not due yet (retries, revisits), scored by due time."""
        return f"{self.base}:delayed"

    @property
    def leased(self) -> str:
        """ZSET: leased URLs, scored by lease time (expired leases are queued again)."""
        return f"{self.base}:leased"

    @property
    def robots_leased(self) -> str:
        """ZSET: hosts whose robots.txt lease is out, scored by lease time (expired ones return)."""
        return f"{self.base}:robots-leased"

    @property
    def unfetched(self) -> str:
        """SET: URLs never fetched successfully and not failed for good."""
        return f"{self.base}:unfetched"

    @property
    def ready_revisits(self) -> str:
        """SET: revisits moved into a host queue and not leased yet."""
        return f"{self.base}:ready-revisits"

    @property
    def robots_in_flight(self) -> str:
        """SET: hosts whose first robots.txt fetch is out."""
        return f"{self.base}:robots-in-flight"

    @property
    def states(self) -> str:
        """HASH: URL count by state."""
        return f"{self.base}:states"

    @property
    def counters(self) -> str:
        """HASH: fetched, backoffs, failed:<kind> (URLs failed for good, by error kind)."""
        return f"{self.base}:counters"

    @property
    def errors(self) -> str:
        """LIST of the latest JSON error records {url, kind, message, at, final} (capped)."""
        return f"{self.base}:errors"


class StatsKeys:
    """Keys of the crawl counters that every worker adds to (workers/runtime.py)."""

    # Width of the buckets that pages/s is computed from.
    bucket_s = 10

    def __init__(self, prefix: str) -> None:
        self.base = f"{prefix}:stats"

    @property
    def counters(self) -> str:
        """HASH: pages_fetched, articles_indexed, error:<kind>, cpu_us:<stage>, ... summed over workers."""
        return f"{self.base}:counters"

    def pages(self, bucket: int) -> str:
        """STRING counter: pages fetched in the ``bucket_s`` window ``bucket`` (expires)."""
        return f"{self.base}:pages:{bucket}"

    @property
    def scheduler(self) -> str:
        """HASH: the scheduler's heartbeat and counters (dispatched tasks and leases)."""
        return f"{self.base}:scheduler"


class HealthKeys:
    """Keys of the per-outlet source health (workers/health.py)."""

    def __init__(self, prefix: str) -> None:
        self.base = f"{prefix}:health"

    @property
    def last_article(self) -> str:
        """ZSET: outlet -> when it last had a new article indexed (ZADD GT: the latest wins)."""
        return f"{self.base}:last-article"

    @property
    def outlets(self) -> str:
        """SET: every outlet with health figures."""
        return f"{self.base}:outlets"

    def hour(self, outlet: str, hour: int) -> str:
        """HASH of one outlet's hour (expires after a week): articles, failed, len:<bucket>."""
        return f"{self.base}:{outlet}:{hour}"


class IndexKeys:
    """Keys of the hand-off from workers to `newscrawl indexer` (indexer/stream.py)."""

    def __init__(self, prefix: str) -> None:
        self.base = f"{prefix}:index"

    @property
    def stream(self) -> str:
        """STREAM of index operations {op: index|update, id, doc|fields (JSON)}."""
        return f"{self.base}:stream"

    @property
    def group(self) -> str:
        """Consumer group of the indexers on ``stream`` (a name, not a key)."""
        return "indexers"

    @property
    def held(self) -> str:
        """HASH: document id -> the ids of its entries in ``stream`` not yet acknowledged, oldest
        first, space-separated: an indexer applies an entry once none before it is held."""
        return f"{self.base}:held"

    @property
    def dead_letters(self) -> str:
        """STREAM of operations the engine refused for good {op, id, payload, status, reason}."""
        return f"{self.base}:dead-letters"

    @property
    def paused(self) -> str:
        """STRING with a TTL, set while ``newscrawl index reindex`` copies: no bulk request starts."""
        return f"{self.base}:paused"

    @property
    def bulks(self) -> str:
        """ZSET: indexer name -> deadline (Redis time) of its bulk request in flight."""
        return f"{self.base}:bulks"

    @property
    def counters(self) -> str:
        """HASH: indexed, updated, dead_lettered, retries, bulk_requests."""
        return f"{self.base}:counters"


class LearnedKeys:
    """Keys of what the crawl learned of hosts' addresses (newscrawl/core/learned.py)."""

    def __init__(self, prefix: str) -> None:
        self.base = f"{prefix}:learned"

    def host(self, host: str) -> str:
        """HASH of one host's facts: field "<kind>\\x1f<fact>", value when learned (expires)."""
        return f"{self.base}:{host}"

    def evidence(self, host: str) -> str:
        """HASH of the evidence for one host's facts not learned yet: field as in ``host``, value
        the digests of the stories or canonical URLs seen, space-separated (expires)."""
        return f"{self.base}:evidence:{host}"
