"""The index stream's hold on the crawl (newscrawl/core/backlog.py), against a real Redis stream;
the processes that obey it are tested in test_faults.py and test_indexer.py."""

from __future__ import annotations

import redis

from newscrawl.core.backlog import IndexBacklogGate
from newscrawl.core.redis_keys import IndexKeys
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
