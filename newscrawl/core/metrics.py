"""Prometheus metrics of every newscrawl process, defined in one place.

The scheduler and the indexer serve their own registry; a Celery worker runs several pool
processes, so it uses prometheus-client's multiprocess mode: each process writes its samples to
files in ``PROMETHEUS_MULTIPROC_DIR`` (set by workers/celery.py before this module is imported)
and the worker's main process serves their sum. Label values are bounded: statuses, error kinds,
outcomes; ``host`` only on fetches and throttling, where per-host figures are the point (a crawl
of many thousands of hosts may prefer ``metrics.host_labels = false``).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from newscrawl.core.log import get_logger

log = get_logger("newscrawl.metrics")

FETCHES = Counter(
    "newscrawl_fetches_total", "Fetches by HTTP status (or error kind) and host", ["status", "host"]
)
FETCHED_BYTES = Counter("newscrawl_fetched_bytes_total", "Bytes received (after decompression)")
THROTTLED = Counter("newscrawl_throttled_total", "429 and 503 answers (each starts a back-off)", ["host"])
PAGE_ERRORS = Counter("newscrawl_page_errors_total", "Pages that failed, by error kind", ["kind"])
PAGES = Counter("newscrawl_pages_total", "Pages processed, by kind", ["kind"])
DEDUP = Counter("newscrawl_dedup_total", "Dedup outcomes of articles", ["outcome"])
LEARNED = Counter(
    "newscrawl_learned_facts_total",
    "Facts learned of hosts' addresses (story shapes, tracking parameters)",
    ["kind"],
)
POLITENESS_WAIT = Histogram(
    "newscrawl_politeness_wait_seconds",
    "From a URL's due time to its lease: waiting for its host's turn",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
)
LEASES_DISPATCHED = Counter("newscrawl_leases_dispatched_total", "Leases queued as Celery tasks")
TASKS_DISPATCHED = Counter("newscrawl_tasks_dispatched_total", "Celery tasks queued by the scheduler")
FRONTIER_URLS = Gauge(
    "newscrawl_frontier_urls", "URLs in the frontier by state", ["state"], multiprocess_mode="max"
)
FRONTIER_HOSTS_DUE = Gauge(
    "newscrawl_frontier_hosts_due", "Hosts that may be fetched now", multiprocess_mode="max"
)
LEASES_OUT = Gauge(
    "newscrawl_leases_in_flight", "Leases handed out and not reported yet", multiprocess_mode="max"
)
BULK_SECONDS = Histogram(
    "newscrawl_bulk_seconds",
    "Duration of one bulk load into the search engine",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
INDEXED = Counter("newscrawl_indexed_total", "Operations the search engine confirmed", ["op"])
BULK_REJECTIONS = Counter(
    "newscrawl_bulk_rejections_total", "Operations the engine refused, by status", ["status"]
)
DEAD_LETTERS = Counter("newscrawl_dead_letters_total", "Operations moved to the dead-letter stream")
INDEX_ENTRIES_WAITED = Counter(
    "newscrawl_index_entries_waited_total",
    "Times an index operation waited for an earlier one on its document that another indexer held",
)
INDEX_ENTRIES_TAKEN_OVER = Counter(
    "newscrawl_index_entries_taken_over_total",
    "Index operations another indexer claimed while this one backed off (sent there, not here)",
)
INDEX_LOST = Counter(
    "newscrawl_index_lost_total",
    "Times the write alias was gone from the engine and the index was made again",
)
STORE_UP = Gauge(
    "newscrawl_store_up", "1 while the store answers, 0 during an outage", ["store"], multiprocess_mode="min"
)
STORE_OUTAGES = Counter("newscrawl_store_outages_total", "Store outages ridden out, by store", ["store"])
WARC_RECORDS = Counter("newscrawl_warc_records_total", "WARC records written to the archive")
WARC_FAILURES = Counter("newscrawl_warc_failures_total", "Archive writes that failed (archiving paused)")
# Per outlet (the outlets file bounds the label; "-" with metrics.outlet_labels = false).
OUTLET_ARTICLES = Counter("newscrawl_outlet_articles_total", "New articles indexed, by outlet", ["outlet"])
OUTLET_FAILURES = Counter(
    "newscrawl_outlet_extraction_failures_total",
    "Article pages that failed to extract, by outlet",
    ["outlet"],
)
OUTLET_BODY_CHARS = Histogram(
    "newscrawl_outlet_body_chars",
    "Body length of new articles, by outlet",
    ["outlet"],
    buckets=(100, 300, 600, 1000, 1500, 2500, 4000, 6000, 10000, 20000),
)
OUTLET_LAST_ARTICLE = Gauge(
    "newscrawl_outlet_last_article_timestamp_seconds",
    "When the outlet last had a new article indexed (Unix time)",
    ["outlet"],
    multiprocess_mode="max",
)
TIME_TO_INDEX = Histogram(
    "newscrawl_time_to_index_seconds",
    "From an article's publication (published_at) to its indexing (first_seen_at)",
    buckets=(15, 30, 60, 120, 300, 600, 1800, 3600, 6 * 3600, 86400, 7 * 86400),
)
STREAM_BACKLOG = Gauge(
    "newscrawl_index_stream_backlog", "Entries waiting in the index stream", multiprocess_mode="max"
)
CRAWL_HELD_BACK = Gauge(
    "newscrawl_crawl_held_back",
    "1 while the crawl leases nothing new: the index stream at index.max_backlog or Redis near maxmemory",
    multiprocess_mode="max",
)


def init_outlets(names: list[str]) -> None:
    """Create every configured outlet's counters at 0, so an outlet that never publishes after a
    worker's start still has series (and the "silent outlet" alert sees its silence)."""
    for name in names:
        OUTLET_ARTICLES.labels(outlet=name)
        OUTLET_FAILURES.labels(outlet=name)


def serve(port: int, *, multiprocess: bool = False) -> bool:
    """Serve /metrics on ``port`` (0: off). A port in use is logged, never fatal."""
    if not port:
        return False
    registry = None
    if multiprocess and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess as mp

        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    try:
        if registry is None:
            start_http_server(port)
        else:
            start_http_server(port, registry=registry)
    except OSError as exc:
        log.warning("metrics_port_unavailable", port=port, error=str(exc))
        return False
    log.info("metrics_serving", port=port)
    return True


def process_dead(pid: int) -> None:
    """A pool process ended: drop its live gauges from the multiprocess files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess as mp

        mp.mark_process_dead(pid)  # type: ignore[no-untyped-call]
