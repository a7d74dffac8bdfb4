"""Celery tasks. Each is idempotent: running it twice leaves the stores as running it once."""

from __future__ import annotations

from typing import Any

from newscrawl.core.records import lease_from_json
from newscrawl.core.taskqueue import REPROCESS_TASK
from workers.celery import CRAWL_TASK, app
from workers.runtime import get_runtime


def _crawl(leases: list[dict[str, Any]]) -> dict[str, Any]:
    """Fetch, extract, deduplicate and index a batch of leased URLs; report each to the frontier."""
    runtime = get_runtime(app.conf.newscrawl_settings)
    return runtime.run_batch([lease_from_json(d) for d in leases])


crawl = app.task(name=CRAWL_TASK)(_crawl)


def _reprocess_file(path: str, hosts: list[str] | None = None, since: str | None = None) -> dict[str, Any]:
    """One WARC file (on storage every worker reads) into the index; resumable like the command."""
    runtime = get_runtime(app.conf.newscrawl_settings)
    return runtime.reprocess(path, hosts=hosts, since=since)


reprocess_file = app.task(name=REPROCESS_TASK)(_reprocess_file)
