from __future__ import annotations

import os
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
    """Test settings: fast politeness, short timeouts; everything else as in production."""
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "concurrency": 32,
        "politeness": {"min_delay_ms": 150, "backoff_base_s": 0.5, "backoff_max_s": 2.0},
        "fetch": {"total_timeout_s": 5.0, "read_timeout_s": 3.0, "connect_timeout_s": 2.0},
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


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


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
