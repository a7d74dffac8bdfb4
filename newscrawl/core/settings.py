"""Typed settings, with defaults in one place.

Sources, strongest first: keyword overrides (the command line), ``NEWSCRAWL_*`` environment
variables (nested with ``__``, e.g. ``NEWSCRAWL_FETCH__MAX_BODY_BYTES``), a TOML file (``--config``
or ``NEWSCRAWL_CONFIG``), then the defaults below. Units are in the names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from newscrawl import __version__
from newscrawl.core.errors import ConfigError
from newscrawl.core.urls import parse_allowed_target

DEFAULT_USER_AGENT = f"newscrawl/{__version__} (+https://github.com/newscrawl/newscrawl)"


class _Section(BaseModel):
    """A table of the settings: a key it does not know is a mistake to report (a misspelt
    ``min_delay`` must not leave ``min_delay_ms`` at its default unnoticed)."""

    model_config = ConfigDict(extra="forbid")


class FetchSettings(_Section):
    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout_s: float = Field(10.0, gt=0)
    read_timeout_s: float = Field(20.0, gt=0)
    total_timeout_s: float = Field(60.0, gt=0)
    max_redirects: int = Field(5, ge=0)
    # Enforced on the decompressed body: a gzip bomb is cut as soon as it grows past this.
    max_body_bytes: int = Field(8 * 1024 * 1024, gt=0)
    connections: int = Field(100, gt=0)
    connections_per_host: int = Field(4, gt=0)
    proxy: str | None = None
    # Honour HTTP_PROXY / HTTPS_PROXY / NO_PROXY when no proxy is set explicitly.
    trust_env: bool = True
    # Networks a crawl may reach although private, loopback or link-local: "127.0.0.0/8" (any
    # port), "127.0.0.1:8080" or "[::1]:8080" (that port only).
    allowed_networks: list[str] = Field(default_factory=list)

    @field_validator("allowed_networks")
    @classmethod
    def _networks_parse(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_allowed_target(entry)  # ValueError names the entry
        return value


class PolitenessSettings(_Section):
    respect_robots: bool = True
    min_delay_ms: int = Field(1000, ge=0)
    # A Crawl-delay above this is clamped, so one robots.txt cannot stall a host for hours.
    max_crawl_delay_s: float = Field(30.0, ge=0)
    per_host_concurrency: int = Field(1, gt=0)
    backoff_base_s: float = Field(10.0, ge=0)
    backoff_max_s: float = Field(3600.0, ge=0)
    # A server's Retry-After is honoured above backoff_max_s, up to this: a hostile or broken
    # header (years ahead) must not park a host, or keep an until-idle crawl from ending.
    max_retry_after_s: float = Field(6 * 3600.0, ge=0)
    robots_ttl_s: float = Field(86400.0, gt=0)


class FrontierSettings(_Section):
    # sqlite: embedded, one file in the data directory; redis: shared by every worker; or a
    # third-party backend's "module:Class" (newscrawl/app/factory.py, docs/architecture.md).
    backend: str = "sqlite"
    # A lease not reported back within this long (its worker died) is queued again (redis backend;
    # the embedded frontier re-queues its leases when it is opened again).
    lease_timeout_s: float = Field(60.0, gt=0)
    # Holders renew their leases this often (a heartbeat), so live work never expires while a
    # dead worker's URLs return within lease_timeout_s.
    lease_heartbeat_s: float = Field(15.0, gt=0)
    max_url_length: int = Field(2048, gt=0)
    max_depth: int = Field(3, ge=0)
    # At most this many new URLs a host, per host_budget_window_s: a spider trap stops there,
    # while an outlet's news still gets in day after day (a crawl runs for weeks).
    host_page_budget: int = Field(5000, gt=0)
    host_budget_window_s: float = Field(86400.0, gt=0)
    # How listing pages, feeds and sitemaps are revisited. adaptive: each source's interval follows
    # the rate of new article links it yields (scheduler/policy.py RevisitSchedule), between
    # revisit_min_s and revisit_max_s; fixed: every source every revisit_interval_s. An outlet's
    # own revisit_interval_s pins that outlet to a fixed interval in either mode.
    revisit: Literal["adaptive", "fixed"] = "adaptive"
    # fixed: the interval; adaptive: a new source's first interval (nothing is known of it yet).
    revisit_interval_s: float = Field(120.0, gt=0)
    revisit_min_s: float = Field(60.0, gt=0)
    revisit_max_s: float = Field(86400.0, gt=0)
    # Each source's rate of new article links is estimated over about revisit_memory_s, and its
    # interval aims at revisit_target_new new links per visit. A visit that yields n new links
    # also multiplies the interval by shrink**n (n up to 4: a burst is followed at once); an
    # empty visit (a 304, an unchanged body, only known links) multiplies it by grow, up to what
    # the rate asks for.
    revisit_target_new: float = Field(0.5, gt=0)
    revisit_memory_s: float = Field(3 * 3600.0, gt=0)
    revisit_shrink: float = Field(0.25, gt=0, lt=1)
    revisit_grow: float = Field(1.5, gt=1)
    # A source silent for T seconds waits at least T / this before its next visit (an hour's
    # silence: at least 10 minutes between visits), once T reaches revisit_silence_after_s; before
    # that its rate decides (a source that has shown no rate yet: from the start).
    revisit_silence_ratio: float = Field(6.0, gt=0)
    revisit_silence_after_s: float = Field(3600.0, ge=0)
    # Optional: at most this many source visits a minute over the whole crawl. When the sources
    # together ask for more, every interval is stretched alike, so the sources with the most new
    # links (the shortest intervals) keep the largest share.
    source_budget_per_min: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _revisit_bounds(self) -> FrontierSettings:
        if self.revisit_min_s > self.revisit_max_s:
            raise ValueError("revisit_min_s must not exceed revisit_max_s")
        return self

    # --until-idle ends once nothing is due sooner than this (a host resting on a long
    # Retry-After, retries far ahead); the summary lists what was left ("left_for_later").
    until_idle_max_wait_s: float = Field(300.0, ge=0)
    max_attempts: int = Field(3, gt=0)
    # A URL whose max_attempts all fail for a transient reason (its site down, throttling) gets
    # later rounds, retry_round_gap_s and then twice that after the previous one, before it fails
    # for good: a story published while its site is down for an hour is still indexed. With
    # more than one round (a continuous crawl) a source is never given up: one that fails for
    # good is looked at again revisit_max_s later. An --until-idle pass has one round.
    retry_rounds: int = Field(3, gt=0)
    retry_round_gap_s: float = Field(1800.0, gt=0)
    # Redis frontier: the seen filter's buckets (2**bits HASHes); keep URLs/2**bits under Redis's
    # hash-max-listpack-entries (128) for the compact encoding: 17 bits suit up to ~12M URLs.
    seen_bucket_bits: int = Field(17, ge=4, le=32)
    # Redis frontier: the error list keeps the latest this many records (counts by kind are kept whole).
    errors_kept: int = Field(100_000, gt=0)
    # Articles are leaves by default: news is found on listing pages, feeds and sitemaps.
    follow_article_links: bool = False
    # The feeds an outlet's listing pages name in their head (<link rel="alternate">, on its own
    # hosts, comments feeds left out) become sources of the outlet, as if listed under feeds.
    discover_feeds: bool = True
    # The sitemaps a host's robots.txt names (those named news first, at most 5) become sources of
    # the outlet the host belongs to. A sitemap the crawl found itself (there, or in a found
    # index) that is not a Google News sitemap (by name or markup) gives only what its lastmod
    # dates within found_sitemap_max_age_s, and of an index the five children changed last: an
    # archive is fetched, never queued. News sitemaps and the outlets file's own are read whole.
    discover_news_sitemaps: bool = True
    found_sitemap_max_age_s: float = Field(3 * 86400.0, gt=0)
    # Sections: ``sections_per_page`` links of a seed listing (home or section page from the
    # outlets file) to shallow pages of its own host that are not articles (half the first in
    # page order, half those the page's own stories sit under) are fetched once; those listing
    # at least ``section_min_article_links`` articles become sources of the
    # outlet, revisited as often as their news deserves. The rest (service pages, or sections
    # still nearly empty) are looked at again section_recheck_min_s later, then at twice the
    # previous gap each time, up to revisit_max_s (then daily), until they list enough.
    # A seed page listing fewer articles than that names no sections (a small site's stories are
    # all on it).
    discover_sections: bool = True
    sections_per_page: int = Field(30, ge=0)
    section_min_article_links: int = Field(10, ge=1)
    section_recheck_min_s: float = Field(1800.0, gt=0)
    # A link on a listing page whose address has the shape (path words and classes: digits, ids,
    # slugs) of three stories its host's feeds or news sitemaps listed is a story, though its
    # address has no date, long number or long slug (scheduler/url_shapes.py).
    learn_article_shapes: bool = True
    # Live blogs (schema.org LiveBlogPosting) are fetched again every live_refetch_s while they
    # run: until the coverage end the page gives, at most live_max_s after its start (its own
    # coverage start or publication time, else the first fetch). None: each is fetched once.
    live_refetch_s: float | None = Field(900.0, gt=0)
    live_max_s: float = Field(86400.0, gt=0)
    # At most this many live blogs of one host are followed at a time: a further one is read as
    # an ordinary story (a site that marks every story live would have each fetched 96 times a
    # day). None: no cap.
    live_max_per_host: int | None = Field(10, ge=1)
    # What is learned of a host's addresses (story shapes, tracking parameters) is kept beside
    # the frontier for every process (newscrawl/core/learned.py): each process reads a host's
    # facts again after learned_refresh_s, and a fact lasts learned_ttl_s from when it was learned.
    learned_refresh_s: float = Field(60.0, gt=0)
    learned_ttl_s: float = Field(30 * 86400.0, gt=0)
    # Updated stories: a story a feed (<updated>) or sitemap (<lastmod>) says changed after it
    # was fetched is fetched again (same document, re-extracted and re-indexed), at most once
    # per refetch_min_gap_s, and only for changes dated within refetch_max_age_s (a sitemap that
    # re-dates its archive does not have it all fetched again). None: each story is fetched once.
    # A story whose publication is dated apart waits a refetch_gap_share of its age instead when
    # that is longer (fetched a day old: 8 h later at the earliest), so one re-dated again and
    # again is fetched about fifteen times over its first two days, not every gap.
    refetch_min_gap_s: float | None = Field(1800.0, gt=0)
    refetch_gap_share: float = Field(0.25, ge=0)
    refetch_max_age_s: float = Field(2 * 86400.0, gt=0)
    # A site's clock and ours may differ this much: a change dated within it of our fetch is the
    # version fetched (a CMS dates a story's lastmod a moment after publishing it).
    refetch_clock_slack_s: float = Field(120.0, ge=0)
    # A story the page that first listed it shows under another headline (a home page, a
    # section, a feed without <updated>) is fetched again as for a dated change, within
    # refetch_max_age_s of that first listing (FrontierPolicy.headline_refetch).
    headline_refetch: bool = True


class ExtractSettings(_Section):
    # trafilatura's readability/jusText comparison on every page, not only where the fast pass
    # looks wrong: about +70% extraction CPU for a few thousandths of body F1 (README "Benchmarks").
    compare_extractors: bool = False


class DedupSettings(_Section):
    # sqlite: embedded, one file in the data directory; redis: shared by every worker; or a
    # third-party backend's "module:Class" (newscrawl/app/factory.py, docs/architecture.md).
    backend: str = "sqlite"
    # Near-duplicate candidates: simhashes within this many bits (banded index of k+1 bands) ...
    simhash_max_distance: int = Field(3, ge=0, le=15)
    # ... or bodies sharing this many (non-boilerplate) paragraphs verbatim.
    shared_blocks_min: int = Field(2, ge=1)
    # A candidate is merged only when the texts agree (3-word shingles).
    near_min_jaccard: float = Field(0.5, gt=0, le=1)
    near_min_containment: float = Field(0.8, gt=0, le=1)
    # A block on this many distinct pages of one host is boilerplate or a teaser.
    repeated_block_min_pages: int = Field(3, ge=2)
    # A crawl runs for weeks: a story the stage has not seen for this long leaves the store with
    # its whole cluster (the index keeps it), and so do block counts of pages this old. A copy
    # arriving later is a story of its own. The store holds a window of stories, not all of them.
    window_days: float = Field(30.0, gt=0)
    # Redis store: decisions run under one lock. Its expiry frees it when its holder died (a
    # decision takes milliseconds; a holder waiting out an index outage renews it every 0.5 s,
    # hence at least 1 s); a worker waits lock_wait_s for it before the page is retried.
    lock_ttl_ms: int = Field(5_000, ge=1_000)
    lock_wait_s: float = Field(60.0, gt=0)


class WorkerSettings(_Section):
    """Distributed mode: the Celery app (workers/celery.py) and its tasks."""

    # Celery's broker; None: ``redis_url``.
    broker_url: str | None = None
    # Celery's task queue; None: the Redis key prefix, so crawls that share a Redis (or a broker)
    # under different prefixes never take each other's tasks.
    queue: str | None = None
    # Leases per task: fetched concurrently on the process's event loop (README "Concurrency").
    batch_size: int = Field(16, gt=0)
    # A task (one batch) is killed after this long; its leases expire and are queued again.
    task_time_limit_s: float = Field(600.0, gt=0)
    # An unacknowledged task is redelivered after this long (its worker died without a trace).
    visibility_timeout_s: float = Field(3600.0, gt=0)
    # Worker processes are replaced after this many tasks or this much memory (leaks, fragmentation).
    max_tasks_per_child: int = Field(500, gt=0)
    max_memory_per_child_mb: int = Field(1024, gt=0)
    # Task events (Celery's -E) feed Flower's task list and task timelines; Flower's worker and
    # queue views work without them. Off by default, as in Celery: they cost Redis traffic per task.
    task_events: bool = False
    # What builds a worker process's runtime: the composition root's, unless a test or a
    # deployment names another "module:function" (it is called with the settings).
    runtime_factory: str = "newscrawl.app.factory:build_worker_runtime"
    # What the worker's main process calls with the settings before it takes a task: it raises
    # ConfigError for what would stop every task (the outlets file missing), so the worker
    # refuses to start instead. None: no check.
    runtime_check: str | None = "newscrawl.app.factory:check_worker_settings"


class ArchiveSettings(_Section):
    """The WARC archive of every fetch (workers/archive.py); off unless warc_dir is set."""

    warc_dir: Path | None = None
    max_file_bytes: int = Field(1024 * 1024 * 1024, gt=0)
    max_file_age_s: float = Field(3600.0, gt=0)


class SchedulerSettings(_Section):
    # Leases out at once (queued as tasks or being fetched): bounds the Celery queue.
    max_in_flight: int = Field(256, gt=0)
    # Longest sleep between frontier polls when nothing is due.
    idle_sleep_ms: int = Field(500, gt=0)
    # How often the outlets' seeds are offered again (new outlets in the file; known URLs are skipped).
    reseed_interval_s: float = Field(300.0, gt=0)


class MetricsSettings(_Section):
    """Prometheus endpoints (/metrics), one per process kind so they can share a host; 0: off."""

    scheduler_port: int = Field(9101, ge=0, le=65535)
    worker_port: int = Field(9102, ge=0, le=65535)
    indexer_port: int = Field(9103, ge=0, le=65535)
    # Per-host labels on fetch metrics: useful per outlet, costly for crawls of many thousands of hosts.
    host_labels: bool = True
    # Label the per-outlet source-health metrics by outlet (bounded by the outlets file).
    outlet_labels: bool = True


class IndexSettings(_Section):
    # sqlite: embedded FTS5; elasticsearch: Elasticsearch 8/9 or OpenSearch 2/3, fed through a
    # Redis stream that `newscrawl indexer` drains in bulk (workers never wait for the cluster).
    backend: str = "sqlite"  # sqlite, elasticsearch, or "module:Class"
    url: str = "http://127.0.0.1:9200"
    # auto: from the cluster's answer to GET / (version.distribution).
    flavor: Literal["auto", "elasticsearch", "opensearch"] = "auto"
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    verify_certs: bool = True
    ca_certs: Path | None = None
    request_timeout_s: float = Field(30.0, gt=0)
    # Index "<name>-v<N>" behind the aliases "<name>" (read) and "<name>-write".
    name: str = "newscrawl"
    # One bulk request holds at most this many documents and bytes.
    bulk_max_docs: int = Field(500, gt=0)
    bulk_max_bytes: int = Field(10 * 1024 * 1024, gt=0)
    # Back-off while the cluster is slow or down (429, 5xx, no connection): base doubling to max.
    retry_base_s: float = Field(1.0, gt=0)
    retry_max_s: float = Field(60.0, gt=0)
    # Stream entries another indexer has held this long without acknowledging are taken over.
    claim_idle_s: float = Field(60.0, gt=0)
    # An update of a document not indexed yet is retried this many times before it is dead-lettered.
    update_attempts: int = Field(20, gt=0)
    # The dead-letter stream keeps the latest this many operations the engine refused for good.
    dead_letters_kept: int = Field(10_000, gt=0)
    # Entries the index stream may hold (the cluster slow or down, no indexer running) before the
    # crawl stops leasing new URLs until the indexers bring it under 90% of this: the backlog
    # lives in Redis memory (about 8 KB per page: 50,000 is ~400 MB). None: no limit.
    max_backlog: int | None = Field(50_000, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSCRAWL_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Path("newscrawl-data")
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Every Redis key starts with this (newscrawl/redis_keys.py), so crawls can share a Redis.
    redis_prefix: str = "newscrawl"
    # The outlets to crawl (TOML); None: the outlets shipped with newscrawl.
    outlets_file: Path | None = None
    # Fetches in flight at once in one process.
    concurrency: int = Field(32, gt=0)
    log_level: str = "INFO"
    # A store outage (Redis gone, a locked or full SQLite file) is waited out; a process gives up
    # and exits non-zero only after this long. None: keep trying.
    store_outage_limit_s: float | None = Field(None, gt=0)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    politeness: PolitenessSettings = Field(default_factory=PolitenessSettings)
    frontier: FrontierSettings = Field(default_factory=FrontierSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    dedup: DedupSettings = Field(default_factory=DedupSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    workers: WorkerSettings = Field(default_factory=WorkerSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)

    @property
    def task_queue(self) -> str:
        """The Celery queue the scheduler sends to and the workers read (``workers.queue``)."""
        return self.workers.queue or self.redis_prefix

    @model_validator(mode="after")
    def _timeouts_nest(self) -> Settings:
        # Leases are renewed while their task runs: two heartbeats must fit in a lease's life, or
        # a live task's URLs would be handed out again. An unacknowledged task, which nothing
        # renews, must outlive the longest task.
        beat = self.frontier.lease_heartbeat_s
        if self.frontier.lease_timeout_s <= 2 * beat:
            raise ValueError(
                f"frontier.lease_timeout_s must exceed twice frontier.lease_heartbeat_s ({beat})"
            )
        limit = self.workers.task_time_limit_s
        if self.workers.visibility_timeout_s <= limit:
            raise ValueError(f"workers.visibility_timeout_s must exceed workers.task_time_limit_s ({limit})")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("NEWSCRAWL_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _problems(exc: ValidationError) -> str:
    said = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        said.append(
            f"{where}: unknown setting" if err["type"] == "extra_forbidden" else f"{where}: {err['msg']}"
        )
    return "; ".join(said)


def load_settings(config: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, a TOML file, the environment and ``overrides``.

    Nested overrides are dicts (``fetch={"proxy": ...}``) and merge with the other sources.
    Invalid values raise :class:`ConfigError` naming the field.
    """
    previous = os.environ.get("NEWSCRAWL_CONFIG")
    try:
        if config is not None:
            if not Path(config).is_file():
                raise ConfigError(f"config file not found: {config}")
            os.environ["NEWSCRAWL_CONFIG"] = str(config)
        base = Settings()
        if not overrides:
            return base
        return Settings.model_validate(_merge(base.model_dump(), overrides))
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {_problems(exc)}") from exc
    finally:
        if config is not None:
            if previous is None:
                os.environ.pop("NEWSCRAWL_CONFIG", None)
            else:
                os.environ["NEWSCRAWL_CONFIG"] = previous
