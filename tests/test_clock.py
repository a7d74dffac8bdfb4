"""The clock the distributed frontier counts in: the Redis server's, whatever this machine's says."""

from __future__ import annotations

import time
from typing import Any

import pytest

from newscrawl.core.clock import ServerClock
from newscrawl.core.errors import StoreError
from newscrawl.core.redis_connections import new_redis_client
from tests.cluster import free_port
from tests.conftest import REDIS_URL, require_redis


def _server_time(client: Any) -> float:
    seconds, microseconds = client.time()
    return float(seconds) + microseconds / 1e6


@pytest.mark.parametrize("skew_s", [-3600.0, -90.0, 0.0, 7200.0])
def test_a_machine_whose_clock_is_wrong_reads_the_servers(skew_s: float) -> None:
    require_redis()
    client = new_redis_client(REDIS_URL)
    clock = ServerClock(client, local=lambda: time.time() + skew_s)
    before = _server_time(client)
    reading = clock()
    after = _server_time(client)
    assert before - 0.05 <= reading <= after + 0.05
    assert clock.offset_s == pytest.approx(-skew_s, abs=0.05)
    client.close()


class _FailingAfter:
    """A Redis client that answers ``TIME`` ``answers`` times, then is gone (a store outage)."""

    def __init__(self, client: Any, answers: int) -> None:
        self._client = client
        self._answers = answers

    def time(self) -> Any:
        if self._answers <= 0:
            raise StoreError("redis TIME: ConnectionError: gone")
        self._answers -= 1
        return self._client.time()


def test_an_outage_keeps_the_last_offset_and_no_local_time_is_read_before_the_first() -> None:
    require_redis()
    dead = new_redis_client(f"redis://127.0.0.1:{free_port()}/0", ping=False)
    with pytest.raises(StoreError):
        ServerClock(dead)()  # never asked: no reading at all, rather than this machine's
    client = new_redis_client(REDIS_URL)
    ticks = iter(range(0, 10_000, 100))  # each reading 100 s later on the monotonic clock
    clock = ServerClock(
        _FailingAfter(client, 1), resync_s=60, local=lambda: time.time() - 500, monotonic=lambda: next(ticks)
    )
    first = clock()
    assert clock.offset_s == pytest.approx(500, abs=0.05)
    second = clock()  # the check fails: the last offset stands
    assert clock.offset_s == pytest.approx(500, abs=0.05)
    assert abs(second - _server_time(client)) < 0.05 and second >= first
    client.close()
