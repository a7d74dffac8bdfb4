"""What the search-engine tests share: settings for a target engine, documents, the indexer process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from indexer.search_index import SearchEngineIndex
from indexer.stream import StreamIndexer
from newscrawl.app.factory import build_index
from newscrawl.core.document import Document, doc_id
from newscrawl.core.redis_keys import IndexKeys
from newscrawl.core.settings import Settings
from tests.cluster import REPO, settings_env
from tests.conftest import REDIS_URL, make_settings
from tests.search_engine import ElasticProxy


@dataclass
class Target:
    flavor: str
    url: str
    proxy: ElasticProxy | None = None


def engine_settings(tmp: Path, target: Target, prefix: str, **index: Any) -> Settings:
    return make_settings(
        tmp,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        index={
            "backend": "elasticsearch",
            "url": target.url,
            "flavor": target.flavor,
            "name": prefix,
            "request_timeout_s": 5.0,
            "retry_base_s": 0.2,
            "retry_max_s": 2.0,
            "claim_idle_s": 4.0,
            **index,
        },
    )


def make_docs(n: int, seed: str = "") -> list[Document]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    docs = []
    for i in range(n):
        url = f"http://outlet-{i % 3}.example/{seed}story-{i}"
        docs.append(
            Document(
                id=doc_id(url),
                url=url,
                canonical_url=url,
                outlet=f"outlet-{i % 3}",
                host=f"outlet-{i % 3}.example",
                title=f"Story {i}: the harbour council meets again",
                body=f"Paragraph one of story {i}. The harbour council met on day {i % 28}. " * 8,
                published_at=start + timedelta(hours=i),
                language="en",
                fetched_at=start,
            )
        )
    return docs


def load(settings: Settings, consumer: str = "t") -> dict[str, Any]:
    stats = asyncio.run(StreamIndexer(settings, consumer).run(until_drained=True))
    return vars(stats)


def refreshed(settings: Settings) -> SearchEngineIndex:
    index = build_index(settings)
    index.refresh()
    return index


def indexer_process(
    settings: Settings, name: str, log: Path, *, until_drained: bool = True
) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_env(settings)}
    cmd = [sys.executable, "-m", "newscrawl", "indexer", "--name", name]
    cmd += ["--until-drained"] if until_drained else []
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def counter(settings: Settings, name: str) -> int:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        return int(client.hget(IndexKeys(settings.redis_prefix).counters, name) or 0)
    finally:
        client.close()


# --- a crawl, end to end -----------------------------------------------------------------------
