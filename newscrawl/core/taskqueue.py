"""The task contract between the scheduler and the workers: the task's name and Celery's settings.

The scheduler sends tasks by name with a client built here and never imports the workers'
code; ``workers/celery.py`` builds the worker's app on the same configuration.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from newscrawl.core.redis_connections import CONNECT_TIMEOUT_S, SOCKET_TIMEOUT_S
from newscrawl.core.settings import Settings

CRAWL_TASK = "newscrawl.crawl"
# One WARC file through the page pipeline into the index (``newscrawl reprocess --celery``).
REPROCESS_TASK = "newscrawl.reprocess_file"


# kombu's waits between attempts to reach the broker: 2 s, 4 s, ... up to 30 s.
_BROKER_WAIT_STEP_S = 2.0
_BROKER_WAIT_MAX_S = 30.0


def broker_attempts(limit_s: float | None) -> int | None:
    """How many attempts to reach the broker kombu makes in ``limit_s``; None: no end."""
    if limit_s is None:
        return None
    attempts, waited_s = 0, 0.0
    while waited_s < limit_s:
        attempts += 1
        waited_s += min(_BROKER_WAIT_STEP_S * attempts, _BROKER_WAIT_MAX_S)
    return attempts


def celery_config(settings: Settings) -> dict[str, Any]:
    w = settings.workers
    broker = w.broker_url or settings.redis_url
    transport: dict[str, Any] = {
        "visibility_timeout": w.visibility_timeout_s,
        # Restore unacknowledged tasks of dead workers soon after their timeout.
        "unacked_restore_throttle": 1,
    }
    if broker.startswith(("redis://", "rediss://", "unix://")):
        # A broker that stops answering (frozen, partitioned) must fail a publish, as it fails
        # our own Redis commands: without a timeout the send waits forever on the dead
        # connection, and the scheduler with it.
        transport |= {"socket_timeout": SOCKET_TIMEOUT_S, "socket_connect_timeout": CONNECT_TIMEOUT_S}
    return {
        "broker_url": broker,
        "broker_connection_retry_on_startup": True,
        # A broker outage is waited out as a store outage is, for ``store_outage_limit_s``
        # (default: however long it lasts). Celery's own default gives up after 100 attempts,
        # about 46 minutes, and the worker exits.
        "broker_connection_max_retries": broker_attempts(settings.store_outage_limit_s),
        "broker_transport_options": transport,
        "task_default_queue": settings.task_queue,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "task_time_limit": w.task_time_limit_s,
        "task_soft_time_limit": w.task_time_limit_s * 0.9,
        "worker_prefetch_multiplier": 1,
        "worker_max_tasks_per_child": w.max_tasks_per_child,
        "worker_max_memory_per_child": w.max_memory_per_child_mb * 1024,
        "worker_send_task_events": w.task_events,
        "task_send_sent_event": w.task_events,
        "worker_hijack_root_logger": False,
    }


def make_app(settings: Settings, *, include: tuple[str, ...] = ()) -> Celery:
    """A Celery app on newscrawl's configuration; without ``include`` a client that only sends."""
    celery_app = Celery("newscrawl", include=list(include))
    celery_app.conf.update(celery_config(settings))
    celery_app.conf.newscrawl_settings = settings
    return celery_app
