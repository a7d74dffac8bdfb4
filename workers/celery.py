"""The Celery app: ``celery -A workers worker`` and ``celery -A workers flower``.

Settings come from the same sources as every newscrawl command (``NEWSCRAWL_*`` variables, the TOML
file named by ``NEWSCRAWL_CONFIG``). Delivery is at least once: a task is acknowledged only after it
ran (late ack), is re-queued when its worker process dies, and each worker reserves one task at a
time. Redelivery is harmless: a task whose leases expired skips them, and every write is keyed by
URL or document id.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from typing import Any

from celery.signals import after_setup_logger, worker_init, worker_process_shutdown

from newscrawl.core.errors import ConfigError
from newscrawl.core.heap import freeze_before_fork
from newscrawl.core.log import configure_logging
from newscrawl.core.settings import load_settings
from newscrawl.core.taskqueue import CRAWL_TASK, make_app

__all__ = ["CRAWL_TASK", "app"]


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


try:
    settings = load_settings()
except ConfigError as exc:
    print(f"newscrawl: {exc}", file=sys.stderr)  # as every newscrawl command says it
    raise SystemExit(2) from None
configure_logging(settings.log_level)
app = make_app(settings, include=("workers.tasks",))


def _close_runtime(pid: int | None = None, **_: Any) -> None:
    from newscrawl.core.metrics import process_dead
    from workers.runtime import close_runtime

    close_runtime()
    process_dead(pid or os.getpid())


def _serve_metrics(**_: Any) -> None:
    from newscrawl.core.metrics import serve

    serve(settings.metrics.worker_port, multiprocess=True)


# Celery logs every task at INFO ("received", "succeeded in"). A crawl that runs for weeks sends a
# task per batch of revisits, mostly unchanged feeds: those lines would grow the logs without
# saying anything. They stay at DEBUG; failures, retries and newscrawl's own lines stay.
PER_TASK_LOGGERS = ("celery.app.trace", "celery.worker.strategy")


def _quiet_per_task_logs(**_: Any) -> None:
    for name in PER_TASK_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


class AckLostWithTheBroker(logging.Filter):
    """One warning line, not a CRITICAL traceback, for a task acknowledgement that the broker
    connection refused as it dropped (kombu's "Couldn't ack": a Redis or RabbitMQ restart caught
    at that moment). Celery restores the message, and the task that runs it again finds its
    leases claimed (``scheduler/lua/claim.lua``): nothing is lost or fetched twice. A traceback
    there reads as a crash to whoever watches the logs through a broker outage."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        lost_ack = isinstance(record.msg, str) and record.msg.startswith("Couldn't ack")
        if error is not None and lost_ack and _is_connection_error(error):
            record.msg += " (the broker connection dropped: the task runs again, its leases claimed)"
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _is_connection_error(error: BaseException) -> bool:
    return isinstance(error, (OSError, *app.connection_for_write().connection_errors))


def _filter_lost_acks(logger: logging.Logger | None = None, **_: Any) -> None:
    """On the worker's handlers: kombu logs through Celery's loggers, which propagate to them."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, AckLostWithTheBroker) for f in handler.filters):
            handler.addFilter(AckLostWithTheBroker())


after_setup_logger.connect(_quiet_per_task_logs, weak=False)
after_setup_logger.connect(_filter_lost_acks, weak=False)


# Pools that run a task on the process's main thread, one at a time, as the worker runtime
# assumes (workers/runtime.py: one event loop and one set of store connections per process).
# The thread pool shares them between tasks running at once (SQLite refuses, pages fail); gevent
# and eventlet patch the threads the event loop runs in. Parallelism comes from --concurrency.
SUPPORTED_POOLS = ("celery.concurrency.prefork", "celery.concurrency.solo")


def _require_supported_pool(sender: Any = None, **_: Any) -> None:
    from celery.concurrency import ALIASES, get_implementation

    module = getattr(get_implementation(sender.pool_cls), "__module__", "")
    if module not in SUPPORTED_POOLS:
        name = next((alias for alias, path in ALIASES.items() if path.startswith(f"{module}:")), module)
        print(
            f"newscrawl: the worker runs on the prefork pool (the default) or solo, not {name}; "
            "use --concurrency N for N tasks at once",
            file=sys.stderr,
        )
        raise SystemExit(2)  # Celery logs and skips an Exception raised in a signal handler


def _refuse_bad_settings(**_: Any) -> None:
    """A worker that could run no task (its outlets file missing, stores it cannot share) says
    so and exits 2 at start, as every newscrawl command does, instead of taking tasks."""
    from newscrawl.core.loading import load_object

    if settings.workers.runtime_check is None:
        return
    try:
        load_object(settings.workers.runtime_check, setting="workers.runtime_check")(settings)
    except ConfigError as exc:
        print(f"newscrawl: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _freeze_startup_objects(**_: Any) -> None:
    # The pipeline's modules, loaded once for every pool process; importing the extractor builds
    # the tables its libraries would otherwise build on first use, in each child.
    import workers.extract
    import workers.runtime  # noqa: F401

    freeze_before_fork()


worker_init.connect(_require_supported_pool, weak=False)
worker_init.connect(_refuse_bad_settings, weak=False)
worker_init.connect(_serve_metrics, weak=False)
worker_init.connect(_freeze_startup_objects, weak=False)
worker_process_shutdown.connect(_close_runtime, weak=False)
