"""The Celery app: ``celery -A workers worker`` and ``celery -A workers flower``.

Settings come from the same sources as every newscrawl command (``NEWSCRAWL_*`` variables, the TOML
file named by ``NEWSCRAWL_CONFIG``). Delivery is at least once: a task is acknowledged only after it
ran (late ack), is re-queued when its worker process dies, and each worker reserves one task at a
time. Redelivery is harmless: a task whose leases expired skips them, and every write is keyed by
URL or document id.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_shutdown

from newscrawl.log import configure_logging
from newscrawl.settings import Settings, load_settings

CRAWL_TASK = "newscrawl.crawl"


def _multiprocess_metrics() -> None:
    """A worker's pool processes write their metric samples to files in PROMETHEUS_MULTIPROC_DIR
    and the main process serves their sum. prometheus-client picks its storage when first
    imported, and Celery's command line has imported it already (Flower's plugin), so the
    choice is made again here, before newscrawl's metrics exist (the tasks import them)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="newscrawl-metrics-")
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


if "worker" in sys.argv[1:]:
    _multiprocess_metrics()


def celery_config(settings: Settings) -> dict[str, Any]:
    w = settings.workers
    return {
        "broker_url": w.broker_url or settings.redis_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": w.visibility_timeout_s,
            # Restore unacknowledged tasks of dead workers soon after their timeout.
            "unacked_restore_throttle": 1,
        },
        "task_default_queue": w.queue,
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


def make_app(settings: Settings) -> Celery:
    celery_app = Celery("newscrawl", include=["workers.tasks"])
    celery_app.conf.update(celery_config(settings))
    celery_app.conf.newscrawl_settings = settings
    return celery_app


settings = load_settings()
configure_logging(settings.log_level)
app = make_app(settings)


def _close_runtime(pid: int | None = None, **_: Any) -> None:
    from newscrawl.metrics import process_dead
    from workers.runtime import close_runtime

    close_runtime()
    process_dead(pid or os.getpid())


def _serve_metrics(**_: Any) -> None:
    from newscrawl.metrics import serve

    serve(settings.metrics.worker_port, multiprocess=True)


worker_init.connect(_serve_metrics, weak=False)
worker_process_shutdown.connect(_close_runtime, weak=False)
