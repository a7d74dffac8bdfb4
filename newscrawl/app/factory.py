"""The composition root: the one place where components are chosen (by settings) and built.

Every process kind gets the stack it needs and nothing more:

- :func:`build_components`: the embedded crawl (everything);
- :func:`build_worker_runtime`: a Celery worker process (named by ``workers.runtime_factory``);
- :func:`build_scheduler`: the distributed scheduler (frontier and task client, no extraction);
- :func:`build_stream_indexer`: ``newscrawl indexer``;
- :func:`build_inspection`: ``newscrawl stats`` (stores only, no fetcher);
- :func:`build_index`: ``search`` and ``export``.

Backends are named in settings: a registered name or a ``module:Class`` path. A backend class
has ``from_settings(settings, stores, ...)``; third-party backends implement the same. Tests
build components through these functions too, so what is tested is what runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from newscrawl.core.connections import open_sqlite
from newscrawl.core.interfaces import Frontier, IndexBackend
from newscrawl.core.loading import load_object
from newscrawl.core.log import get_logger
from newscrawl.core.outage import Outage
from newscrawl.core.settings import Settings

# Components are imported where they are built: a process imports only the stack it runs
# (the scheduler never loads the extraction libraries).
if TYPE_CHECKING:
    from indexer.stream import StreamIndexer, StreamWriter
    from newscrawl.core.backlog import IndexBacklogGate
    from newscrawl.core.learned import FactStore, LearnedFacts
    from scheduler.outlets import Outlet
    from scheduler.service import Scheduler
    from workers.archive import WarcArchive
    from workers.dedup import DedupStage, DedupStore
    from workers.fetch import Fetcher
    from workers.handler import HandlerParts
    from workers.health import HealthStore
    from workers.pipeline import PageProcessor
    from workers.reprocess import Reprocessor
    from workers.runtime import WorkerRuntime

log = get_logger("newscrawl.factory")


def _frontier_from(
    settings: Settings, stores: Stores, outlets: list[Outlet], *, crawls: bool = False
) -> Frontier:
    """``crawls``: for the process that leases from it (the embedded crawl takes over what a
    run that died left leased in its file; see SQLiteFrontier)."""
    from scheduler.policy import FrontierPolicy

    policy = FrontierPolicy.for_outlets(settings, outlets)
    backend = settings.frontier.backend
    if backend == "sqlite":
        from scheduler.sqlite_frontier import SQLiteFrontier

        return SQLiteFrontier(stores.sqlite("frontier.sqlite"), policy, recover_leases=crawls)
    if backend == "redis":
        from scheduler.redis_frontier import RedisFrontier  # only distributed mode needs redis-py

        return RedisFrontier(stores.redis("frontier", decode_responses=True), settings.redis_prefix, policy)
    return _third_party(backend, "frontier.backend")(settings, stores, policy)  # type: ignore[no-any-return]


def _dedup_store_from(settings: Settings, stores: Stores) -> DedupStore:
    backend = settings.dedup.backend
    if backend == "sqlite":
        from workers.dedup_sqlite import SQLiteDedupStore

        return SQLiteDedupStore(stores.sqlite("dedup.sqlite", named_rows=False))
    if backend == "redis":
        from workers.dedup_redis import RedisDedupStore

        return RedisDedupStore(
            stores.redis("dedup"),
            settings.redis_prefix,
            lock_timeout_s=settings.dedup.lock_wait_s,
            lock_ttl_ms=settings.dedup.lock_ttl_ms,
        )
    return _third_party(backend, "dedup.backend")(settings, stores)  # type: ignore[no-any-return]


def _index_from(settings: Settings, stores: Stores) -> IndexBackend:
    backend = settings.index.backend
    if backend == "sqlite":
        from indexer.sqlite import SQLiteIndex

        return SQLiteIndex(stores.sqlite("index.sqlite"))
    if backend == "elasticsearch":
        from indexer.search_index import SearchEngineIndex  # reads from the cluster, writes to the stream
        from indexer.stream import StreamWriter

        # Searching reads only the cluster: a search consumer may have no way to Redis at all, so
        # the stream's client connects when something is first written.
        stream = stores.redis("stream", ping=False)
        return SearchEngineIndex(settings, StreamWriter(stream, settings.redis_prefix))
    return _third_party(backend, "index.backend")(settings, stores)  # type: ignore[no-any-return]


def _health_from(settings: Settings, stores: Stores) -> HealthStore:
    """Source health lives beside the frontier: in Redis when the frontier is shared."""
    if settings.frontier.backend == "redis":
        from workers.health import RedisHealth

        return RedisHealth(stores.redis("health", decode_responses=True), settings.redis_prefix)
    from workers.health import SQLiteHealth

    return SQLiteHealth(stores.sqlite("health.sqlite", named_rows=False))


def _third_party(path: str, setting: str) -> Callable[..., Any]:
    """A backend named by a dotted path: its class's ``from_settings``, else the callable itself."""
    target = load_object(path, setting=setting)
    builder = getattr(target, "from_settings", target)
    if not callable(builder):
        from newscrawl.core.errors import ConfigError

        raise ConfigError(f"{setting}: {path!r} is not a backend (no from_settings)")
    return builder  # type: ignore[no-any-return]


@dataclass
class Stores:
    """Opens the stores of one process: Redis clients by purpose, SQLite files in the data directory."""

    settings: Settings

    def redis(self, purpose: str, *, decode_responses: bool = False, ping: bool = True) -> Any:
        from newscrawl.core.redis_connections import redis_client  # the embedded mode never needs redis-py

        return redis_client(self.settings.redis_url, purpose, decode_responses=decode_responses, ping=ping)

    def sqlite(self, filename: str, *, named_rows: bool = True) -> Any:
        return open_sqlite(self.settings.data_dir / filename, named_rows=named_rows)


def build_frontier(settings: Settings, outlets: list[Outlet]) -> Frontier:
    return _frontier_from(settings, Stores(settings), outlets)


def build_dedup_store(settings: Settings) -> DedupStore:
    return _dedup_store_from(settings, Stores(settings))


def build_dedup_stage(
    settings: Settings, store: DedupStore, *, clock: Callable[[], float] = time.time
) -> DedupStage:
    """``clock``: what the stage's window counts in (tests pass a virtual one)."""
    from workers.dedup import ContentDeduplicator

    return ContentDeduplicator(store, settings.dedup, clock=clock)


def build_index(settings: Settings) -> IndexBackend:
    return _index_from(settings, Stores(settings))


def build_stream_writer(settings: Settings) -> StreamWriter:
    """The workers' side of the hand-off to the search engine."""
    from indexer.stream import StreamWriter

    return StreamWriter(Stores(settings).redis("stream"), settings.redis_prefix)


def build_learned(settings: Settings, *, clock: Callable[[], float] = time.time) -> LearnedFacts:
    """The crawl's store of what it learned of hosts' addresses (``clock``: tests pass a virtual one)."""
    return _learned_from(settings, Stores(settings), clock=clock)


def _learned_from(
    settings: Settings, stores: Stores, *, clock: Callable[[], float] = time.time
) -> LearnedFacts:
    """What is learned of hosts' addresses lives beside the frontier: in Redis when it is shared."""
    from newscrawl.core.learned import LearnedFacts, RedisFacts, SQLiteFacts

    frontier = settings.frontier
    ttl_s = frontier.learned_ttl_s
    store: FactStore
    if frontier.backend == "redis":
        store = RedisFacts(stores.redis("learned", decode_responses=True), settings.redis_prefix, ttl_s=ttl_s)
    else:
        store = SQLiteFacts(stores.sqlite("learned.sqlite", named_rows=False), ttl_s=ttl_s)
    return LearnedFacts(store, refresh_s=frontier.learned_refresh_s, clock=clock)


def build_processor(
    settings: Settings, outlets: list[Outlet], learned: LearnedFacts | None = None
) -> PageProcessor:
    """``learned``: the crawl's store of learned facts (None: the processor's own, in memory:
    ``newscrawl extract``, reprocessing)."""
    from newscrawl.core.learned import LearnedFacts
    from scheduler.discovery import Discovery
    from scheduler.outlets import OutletIndex
    from workers.pipeline import PageProcessor

    learned = learned if learned is not None else LearnedFacts()
    frontier = settings.frontier
    return PageProcessor(
        Discovery(
            OutletIndex(outlets),
            discover_feeds=frontier.discover_feeds,
            discover_news_sitemaps=frontier.discover_news_sitemaps,
            found_sitemap_max_age_s=frontier.found_sitemap_max_age_s,
            sections_per_page=frontier.sections_per_page if frontier.discover_sections else 0,
            section_min_articles=frontier.section_min_article_links,
            learn_article_shapes=frontier.learn_article_shapes,
            learned=learned,
        ),
        learned=learned,
        follow_article_links=frontier.follow_article_links,
        section_min_article_links=frontier.section_min_article_links,
        compare_extractors=settings.extract.compare_extractors,
        max_body_bytes=settings.fetch.max_body_bytes,
    )


def build_fetcher(settings: Settings) -> Fetcher:
    from workers.fetch import Fetcher

    return Fetcher(settings.fetch)


@dataclass
class Components:
    settings: Settings
    outlets: list[Outlet]
    frontier: Frontier
    dedup_store: DedupStore
    dedup: DedupStage
    index: IndexBackend
    processor: PageProcessor
    fetcher: Fetcher
    health: HealthStore
    archive: WarcArchive | None = None
    backlog_gate: IndexBacklogGate | None = None
    learned: LearnedFacts | None = None

    def handler_parts(self) -> HandlerParts:
        from newscrawl.core.metrics import init_outlets
        from workers.handler import HandlerParts

        if self.settings.metrics.outlet_labels:
            init_outlets([o.name for o in self.outlets])
        return HandlerParts(
            frontier=self.frontier,
            dedup=self.dedup,
            index=self.index,
            processor=self.processor,
            fetcher=self.fetcher,
            host_labels=self.settings.metrics.host_labels,
            outlet_labels=self.settings.metrics.outlet_labels,
            outage=Outage("stores", limit_s=self.settings.store_outage_limit_s),
            archive=self.archive,
            health=self.health,
        )

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()
        self.health.close()
        if self.learned is not None:
            self.learned.close()
        self.frontier.close()
        self.dedup_store.close()
        self.index.close()


def _backlog_gate_from(settings: Settings, stores: Stores) -> IndexBacklogGate | None:
    """The index stream's hold on the crawl, where documents go through the stream."""
    if settings.index.backend != "elasticsearch" or settings.index.max_backlog is None:
        return None
    from newscrawl.core.backlog import IndexBacklogGate
    from newscrawl.core.redis_keys import IndexKeys

    stream = IndexKeys(settings.redis_prefix).stream
    return IndexBacklogGate(stores.redis("stream", ping=False), stream, settings.index.max_backlog)


def build_archive(settings: Settings) -> WarcArchive | None:
    archive = settings.archive
    if archive.warc_dir is None:
        return None
    from workers.archive import WarcArchive

    return WarcArchive(
        archive.warc_dir,
        max_file_bytes=archive.max_file_bytes,
        max_file_age_s=archive.max_file_age_s,
        user_agent=settings.fetch.user_agent,
    )


def build_reprocessor(
    settings: Settings,
    *,
    hosts: set[str] | None,
    since: Any,
    on_progress: Callable[..., None] | None,
) -> tuple[Reprocessor, Callable[[], None]]:
    """``newscrawl reprocess``: the page pipeline, the dedup stage and the index; no frontier, no
    fetcher. The checkpoint lives in the data directory."""
    from workers.reprocess import Reprocessor

    stores = Stores(settings)
    store = _dedup_store_from(settings, stores)
    index = _index_from(settings, stores)
    reprocessor = Reprocessor(
        build_processor(settings, []),
        build_dedup_stage(settings, store),
        index,
        settings.data_dir / "reprocess-checkpoints",
        hosts=hosts,
        since=since,
        on_progress=on_progress,
    )
    _built("reprocess", dedup_store=store, index=index)

    def close() -> None:
        store.close()
        index.close()

    return reprocessor, close


def _built(process: str, **parts: object) -> None:
    log.info("components_built", process=process, **{k: type(v).__name__ for k, v in parts.items()})


def build_components(settings: Settings, outlets: list[Outlet]) -> Components:
    """The embedded crawl's stack (also a worker's: the same pipeline on shared stores)."""
    stores = Stores(settings)
    store = _dedup_store_from(settings, stores)
    learned = _learned_from(settings, stores)
    components = Components(
        settings=settings,
        outlets=outlets,
        frontier=_frontier_from(settings, stores, outlets, crawls=True),
        dedup_store=store,
        dedup=build_dedup_stage(settings, store),
        index=_index_from(settings, stores),
        processor=build_processor(settings, outlets, learned),
        fetcher=build_fetcher(settings),
        health=_health_from(settings, stores),
        archive=build_archive(settings),
        backlog_gate=_backlog_gate_from(settings, stores),
        learned=learned,
    )
    _built(
        "crawl",
        frontier=components.frontier,
        dedup_store=store,
        index=components.index,
        fetcher=components.fetcher,
    )
    return components


def check_worker_settings(settings: Settings) -> list[Outlet]:
    """What a Celery worker needs before it takes a task, checked without connecting to
    anything: shared stores, a readable outlets file. Its outlets; ConfigError otherwise."""
    from newscrawl.core.errors import ConfigError
    from scheduler.outlets import load_outlets

    if settings.frontier.backend == "sqlite" or settings.dedup.backend == "sqlite":
        raise ConfigError(
            "Celery workers share the frontier and the dedup store: set frontier.backend and"
            " dedup.backend to 'redis' (NEWSCRAWL_FRONTIER__BACKEND=redis NEWSCRAWL_DEDUP__BACKEND=redis)"
        )
    return load_outlets(settings.outlets_file)


def build_worker_runtime(settings: Settings) -> WorkerRuntime:
    """A Celery worker process: the shared frontier and dedup store, the index, a fetcher."""
    from workers.runtime import WorkerRuntime

    components = build_components(settings, check_worker_settings(settings))
    return WorkerRuntime(
        components.handler_parts(),
        stats_client=Stores(settings).redis("stats"),
        prefix=settings.redis_prefix,
        close_stores=components.close,
        heartbeat_s=settings.frontier.lease_heartbeat_s,
        checkpoints=settings.data_dir / "reprocess-checkpoints",
    )


def build_scheduler(settings: Settings, outlets: list[Outlet]) -> Scheduler:
    """The distributed scheduler: the shared frontier and a task client; no extraction code."""
    from newscrawl.core.errors import ConfigError
    from scheduler.service import CeleryDispatcher, Scheduler

    if settings.frontier.backend == "sqlite":
        raise ConfigError("the scheduler feeds Celery workers: set frontier.backend = 'redis'")
    stores = Stores(settings)
    frontier = _frontier_from(settings, stores, outlets)
    scheduler = Scheduler(
        settings,
        outlets,
        frontier,
        CeleryDispatcher(settings),
        stats_client=stores.redis("stats"),
        backlog_gate=_backlog_gate_from(settings, stores),
    )
    _built("scheduler", frontier=frontier, dispatcher=scheduler.dispatcher)
    return scheduler


def build_stream_indexer(settings: Settings, consumer: str) -> StreamIndexer:
    from newscrawl.core.errors import ConfigError

    if settings.index.backend != "elasticsearch":
        raise ConfigError("the indexer loads a cluster: set index.backend = 'elasticsearch'")
    from indexer.stream import StreamIndexer

    indexer = StreamIndexer(settings, consumer)
    _built("indexer", indexer=indexer)
    return indexer


@dataclass
class Inspection:
    """The read-only view of ``newscrawl stats``: the stores, no fetcher, no extraction."""

    frontier: Frontier
    dedup_store: DedupStore
    index: IndexBackend
    health: HealthStore

    def close(self) -> None:
        self.frontier.close()
        self.dedup_store.close()
        self.index.close()
        self.health.close()


def build_inspection(settings: Settings) -> Inspection:
    stores = Stores(settings)
    return Inspection(
        frontier=_frontier_from(settings, stores, []),
        dedup_store=_dedup_store_from(settings, stores),
        index=_index_from(settings, stores),
        health=_health_from(settings, stores),
    )
