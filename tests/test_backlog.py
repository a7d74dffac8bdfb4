"""The index stream's hold on the crawl (newscrawl/core/backlog.py), against a real Redis stream;
the processes that obey it are tested in test_faults.py and test_indexer.py."""

from __future__ import annotations

import json
from pathlib import Path

import redis

from newscrawl.core.backlog import IndexBacklogGate
from newscrawl.core.redis_keys import IndexKeys
from tests.cluster import PrivateRedis
from tests.conftest import REDIS_URL, require_redis


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_gate_holds_at_the_limit_and_lets_go_below_nine_tenths(prefix: str) -> None:
    require_redis()
    client = redis.Redis.from_url(REDIS_URL)
    stream = IndexKeys(prefix).stream
    clock = Clock()
    gate = IndexBacklogGate(client, stream, 20, check_every_s=1.0, clock=clock)

    def backlog(entries: int) -> bool:
        client.xtrim(stream, maxlen=0)
        for i in range(entries):
            client.xadd(stream, {"op": "index", "id": str(i)})
        clock.now += 1.0
        return gate.holds_back()

    assert not backlog(0)  # no stream yet
    assert not backlog(19)
    client.xadd(stream, {"op": "index", "id": "late"})
    assert not gate.holds_back()  # asked again within the interval: the last answer, no command
    clock.now += 1.0
    assert gate.holds_back()
    assert backlog(20)
    assert backlog(18)  # still above nine tenths: a backlog hovering at the limit stays held
    assert not backlog(17)
    assert not backlog(19)
    client.close()


def test_the_gate_holds_while_redis_memory_is_nearly_full(tmp_path: Path) -> None:
    """A Redis with a ``maxmemory`` smaller than the backlog limit's worth of documents: the
    crawl is held at nine tenths of it, short of the point where Redis refuses writes (the
    indexers' scripts among them, and nothing could drain the stream any more)."""
    server = PrivateRedis(tmp_path / "redis", persistent=False)
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        base = int(client.info("memory")["used_memory"])
        client.config_set("maxmemory", base + 4_000_000)
        stream = IndexKeys("p").stream
        clock = Clock()
        gate = IndexBacklogGate(client, stream, 50_000, clock=clock)
        document = json.dumps({"body": "x" * 8000})
        entries = 0
        while not gate.holds_back():
            for _ in range(20):
                client.xadd(stream, {"op": "index", "id": str(entries), "payload": document})
                entries += 1
            clock.now += 1.0
            assert entries < 1000, "never held"
        assert int(client.info("memory")["used_memory"]) < base + 4_000_000  # short of OOM
        client.xadd(stream, {"op": "index", "id": "more", "payload": document})  # writes still go
        client.xtrim(stream, maxlen=entries - 2)  # a little drained: still above 85%
        clock.now += 1.0
        assert gate.holds_back()
        client.xtrim(stream, maxlen=0)
        clock.now += 1.0
        assert not gate.holds_back()
        client.close()
    finally:
        server.close()
