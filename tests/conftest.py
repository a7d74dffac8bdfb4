from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from newscrawl.core.settings import Settings, load_settings
from tests.dedup_web import DedupWeb, build_dedup_web
from tests.replay import ReplayWeb, build_replay_web

REPO = Path(__file__).resolve().parent.parent


def corpora_path() -> Path:
    return Path(os.environ.get("NEWSCRAWL_CORPORA", REPO.parent / "shared" / "corpora"))


@pytest.fixture(scope="session")
def corpora() -> Path:
    path = corpora_path()
    if not (path / "fundus" / "ground-truth.jsonl").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"corpora missing at {path}: CI must run with ../shared beside the repository")
        pytest.skip(f"corpora not found at {path} (set NEWSCRAWL_CORPORA)")
    return path


@pytest.fixture(scope="session")
def replay(corpora: Path) -> Iterator[ReplayWeb]:
    web = build_replay_web(corpora)
    web.web.start()
    yield web
    web.web.stop()


@pytest.fixture(scope="session")
def dedup_web(corpora: Path) -> Iterator[DedupWeb]:
    web = build_dedup_web(corpora)
    web.web.start()
    yield web
    web.web.stop()


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Test settings: fast politeness, short timeouts, one round of retries (as an
    ``--until-idle`` pass has); everything else as in production."""
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "concurrency": 32,
        "politeness": {"min_delay_ms": 150, "backoff_base_s": 0.5, "backoff_max_s": 2.0},
        "fetch": {"total_timeout_s": 5.0, "read_timeout_s": 3.0, "connect_timeout_s": 2.0},
        "frontier": {"retry_rounds": 1},
        # Metrics endpoints off unless a test asks for them: parallel processes would fight for ports.
        "metrics": {"scheduler_port": 0, "worker_port": 0, "indexer_port": 0},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return load_settings(**base)


REDIS_URL = os.environ.get("NEWSCRAWL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def make_distributed_settings(data_dir: Path, prefix: str, **overrides: Any) -> Settings:
    """:func:`make_settings` for Celery workers: the Redis frontier and dedup store under ``prefix``."""
    for store in ("frontier", "dedup"):
        overrides[store] = {"backend": "redis", **overrides.get(store, {})}
    return make_settings(data_dir, **{"redis_url": REDIS_URL, "redis_prefix": prefix, **overrides})


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def require_redis() -> None:
    """Skip without Redis, except under CI=true, where .ci/run must have started it."""
    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}: .ci/run must start it")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")


def require_rabbitmq() -> None:
    """Skip without Debian's rabbitmq-server, except under CI=true, where .ci/run installs it."""
    if shutil.which("rabbitmq-server") is None or shutil.which("rabbitmqctl") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("rabbitmq-server is not installed: .ci/run must install it")
        pytest.skip("rabbitmq-server is not installed")


def drop_redis_prefix(prefix: str) -> None:
    """Delete every key a test wrote under ``prefix``."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    # Kombu's queue bindings too: a test's queue is named after its prefix.
    keys = list(client.scan_iter(f"{prefix}*", count=1000))
    keys += list(client.scan_iter(f"_kombu.binding.{prefix}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    client.close()


SettingsFactory = Callable[..., Settings]


@pytest.fixture(params=["sqlite", "redis"])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SettingsFactory]:
    """Settings for one store backend; the same contract tests run against each.

    ``factory(name, **overrides)``: each name gets its own data directory and Redis key prefix.
    """
    backend = request.param
    if backend == "redis" and not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}: .ci/run must start it")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    run = uuid.uuid4().hex[:12]
    prefixes: list[str] = []

    def factory(name: str = "main", **overrides: Any) -> Settings:
        prefix = f"nctest-{run}-{name}"
        prefixes.append(prefix)
        dedup = {"backend": backend, **overrides.pop("dedup", {})}
        overrides["frontier"] = {"backend": backend, **overrides.pop("frontier", {})}
        return make_settings(
            tmp_path / name, dedup=dedup, redis_url=REDIS_URL, redis_prefix=prefix, **overrides
        )

    yield factory
    if backend == "redis":
        for prefix in set(prefixes):
            drop_redis_prefix(f"{prefix}:")


@pytest.fixture
def prefix() -> Iterator[str]:
    """A Redis key prefix of the test's own, removed afterwards."""
    name = f"nctest-{uuid.uuid4().hex[:12]}"
    yield name
    drop_redis_prefix(name)


@pytest.fixture(scope="session")
def osmem() -> Iterator[Any]:
    """osmem-server, the in-memory OpenSearch-compatible engine (the test extra installs it)."""
    osmem_server = pytest.importorskip("osmem_server")
    with osmem_server.OsmemServer.start(japanese=False) as server:
        yield server


@pytest.fixture(scope="session")
def outlets_file(dedup_web: DedupWeb, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outlets") / "outlets.toml"
    path.write_text(dedup_web.outlets_first + "\n\n" + dedup_web.outlets_second, "utf-8")
    return path


@pytest.fixture(scope="session")
def embedded(dedup_web: DedupWeb, outlets_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The dedup web crawled by the embedded mode: what every distributed crawl must equal."""
    import asyncio

    from newscrawl.app.engine import CrawlEngine
    from newscrawl.app.factory import build_components
    from scheduler.outlets import parse_outlets
    from tests.distributed_support import _result, _settings  # not at the top: it imports this module

    settings = _settings(dedup_web, tmp_path_factory.mktemp("embedded"), outlets_file)
    components = build_components(settings, parse_outlets(outlets_file.read_text("utf-8")))
    start = len(dedup_web.web.log)
    asyncio.run(CrawlEngine(components).run(until_idle=True))
    components.close()
    return _result(settings, start, len(dedup_web.web.log))
