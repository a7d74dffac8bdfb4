from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newscrawl.settings import Settings, load_settings
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


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Test settings: fast politeness, short timeouts; everything else as in production."""
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "concurrency": 32,
        "politeness": {"min_delay_ms": 150, "backoff_base_s": 0.5, "backoff_max_s": 2.0},
        "fetch": {"total_timeout_s": 5.0, "read_timeout_s": 3.0, "connect_timeout_s": 2.0},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return load_settings(**base)
