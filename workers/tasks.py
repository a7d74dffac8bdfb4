"""Celery tasks. Each is idempotent: running it twice leaves the stores as running it once."""

from __future__ import annotations

import os
import signal
from typing import Any

from celery.exceptions import Reject

from newscrawl.core.errors import ConfigError
from newscrawl.core.log import get_logger
from newscrawl.core.records import lease_from_json
from newscrawl.core.taskqueue import REPROCESS_TASK
from workers.celery import CRAWL_TASK, app
from workers.runtime import WorkerRuntime, get_runtime

log = get_logger("newscrawl.worker")
# The worker's main process: Celery imports this module there, before it forks its pool.
_WORKER_PID = os.getpid()


def _runtime() -> WorkerRuntime:
    """This process's runtime. A worker that cannot build one (its outlets file removed or
    made invalid since the worker's start-up check) can run no task: it says why once and
    stops, and the task goes back to the queue for a worker that can, instead of failing every
    task it is handed."""
    try:
        return get_runtime(app.conf.newscrawl_settings)
    except ConfigError as exc:
        log.error("worker_misconfigured", error=str(exc), action="stopping this worker")
        os.kill(_WORKER_PID, signal.SIGTERM)  # a warm shutdown (prefork and solo pools alike)
        raise Reject(str(exc), requeue=True) from None


def _crawl(leases: list[dict[str, Any]]) -> dict[str, Any]:
    """Fetch, extract, deduplicate and index a batch of leased URLs; report each to the frontier."""
    return _runtime().run_batch([lease_from_json(d) for d in leases])


crawl = app.task(name=CRAWL_TASK)(_crawl)


def _reprocess_file(path: str, hosts: list[str] | None = None, since: str | None = None) -> dict[str, Any]:
    """One WARC file (on storage every worker reads) into the index; resumable like the command."""
    return _runtime().reprocess(path, hosts=hosts, since=since)


reprocess_file = app.task(name=REPROCESS_TASK)(_reprocess_file)
