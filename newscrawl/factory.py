"""The one place where components are chosen (by settings) and built.

Tests build components through these functions too, so what is tested is what runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from newscrawl.errors import ConfigError
from newscrawl.settings import Settings

# Components are imported where they are built: a process imports only the stack it runs
# (the scheduler never loads the extraction libraries).
if TYPE_CHECKING:
    from indexer.base import IndexBackend
    from scheduler.frontier import Frontier
    from scheduler.outlets import Outlet
    from workers.dedup import DedupStage, DedupStore
    from workers.fetch import Fetcher
    from workers.pipeline import PageProcessor


def build_frontier(settings: Settings, outlets: list[Outlet]) -> Frontier:
    intervals = {o.name: o.revisit_interval_s for o in outlets if o.revisit_interval_s}
    if settings.frontier.backend == "sqlite":
        from scheduler.sqlite_frontier import SQLiteFrontier

        return SQLiteFrontier(settings.data_dir / "frontier.sqlite", settings, intervals)
    if settings.frontier.backend == "redis":
        from scheduler.redis_frontier import RedisFrontier  # only distributed mode needs redis-py

        return RedisFrontier(settings, intervals)
    raise ConfigError(f"unknown frontier backend {settings.frontier.backend!r}")


def build_dedup_store(settings: Settings) -> DedupStore:
    if settings.dedup.backend == "sqlite":
        from workers.dedup_sqlite import SQLiteDedupStore

        return SQLiteDedupStore(settings.data_dir / "dedup.sqlite")
    if settings.dedup.backend == "redis":
        from workers.dedup_redis import RedisDedupStore  # only distributed mode needs redis-py

        return RedisDedupStore(
            settings.redis_url,
            settings.redis_prefix,
            lock_timeout_s=settings.dedup.lock_wait_s,
            lock_ttl_ms=settings.dedup.lock_ttl_ms,
        )
    raise ConfigError(f"unknown dedup backend {settings.dedup.backend!r}")


def build_dedup_stage(settings: Settings, store: DedupStore) -> DedupStage:
    from workers.dedup import ContentDeduplicator

    return ContentDeduplicator(store, settings.dedup)


def build_index(settings: Settings) -> IndexBackend:
    if settings.index.backend == "sqlite":
        from indexer.sqlite import SQLiteIndex

        return SQLiteIndex(settings.data_dir / "index.sqlite")
    if settings.index.backend == "elasticsearch":
        from indexer.engine import SearchEngineIndex  # reads from the cluster, writes to the stream

        return SearchEngineIndex(settings)
    raise ConfigError(f"unknown index backend {settings.index.backend!r}")


def build_processor(settings: Settings, outlets: list[Outlet]) -> PageProcessor:
    from scheduler.discovery import Discovery
    from scheduler.outlets import OutletIndex
    from workers.pipeline import PageProcessor

    index = OutletIndex(outlets)
    return PageProcessor(
        index,
        Discovery(index),
        follow_article_links=settings.frontier.follow_article_links,
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

    def close(self) -> None:
        self.frontier.close()
        self.dedup_store.close()
        self.index.close()


def build_components(settings: Settings, outlets: list[Outlet]) -> Components:
    store = build_dedup_store(settings)
    return Components(
        settings=settings,
        outlets=outlets,
        frontier=build_frontier(settings, outlets),
        dedup_store=store,
        dedup=build_dedup_stage(settings, store),
        index=build_index(settings),
        processor=build_processor(settings, outlets),
        fetcher=build_fetcher(settings),
    )
