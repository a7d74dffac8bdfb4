"""Back-pressure from the index to the crawl.

Workers hand documents to the indexers through a Redis stream (``IndexKeys.stream``). While the
cluster is slow or down, or no indexer runs, that stream grows by every page crawled, in Redis
memory: a crawl that ran on for days would fill it, and a Redis out of memory refuses the
frontier's and the dedup store's writes with it (and the indexers' scripts, so nothing could
drain it any more). :class:`IndexBacklogGate` holds the crawl back (no new URLs are leased)
while the backlog is at its limit or Redis is close to its ``maxmemory``, and lets it go on
once the indexers have brought both down. The distributed scheduler and the embedded crawl
both ask it before leasing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from newscrawl.core import metrics
from newscrawl.core.errors import StoreError
from newscrawl.core.log import get_logger

log = get_logger("newscrawl.backlog")

# Resume below this share of the limit: a backlog hovering at the limit would otherwise hold and
# release the crawl every second, in the log as in the metric.
RESUME_SHARE = 0.9
# Redis memory (used_memory against maxmemory) at which the crawl is held, and below which it
# resumes: short of the point where Redis refuses writes, so the indexers can still drain.
MEMORY_HOLD_SHARE = 0.9
MEMORY_RESUME_SHARE = 0.85


class IndexBacklogGate:
    """Whether the index stream's backlog (its length: acknowledged entries are trimmed) and
    Redis's memory leave room for more crawling. Asks Redis at most every ``check_every_s``; a
    store error propagates to the caller's outage handling."""

    def __init__(
        self,
        client: Any,
        stream_key: str,
        limit: int,
        *,
        check_every_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._stream = stream_key
        self.limit = limit
        self._resume_below = max(int(limit * RESUME_SHARE), 1)
        self._check_every_s = check_every_s
        self._clock = clock
        self._checked_at = float("-inf")
        self.holding = False

    def holds_back(self) -> bool:
        now = self._clock()
        if now - self._checked_at < self._check_every_s:
            return self.holding
        backlog = int(self._client.xlen(self._stream))
        memory = self._memory_share()
        self._checked_at = now
        if self.holding:
            holding = backlog >= self._resume_below or memory >= MEMORY_RESUME_SHARE
        else:
            holding = backlog >= self.limit or memory >= MEMORY_HOLD_SHARE
        if holding != self.holding:
            self.holding = holding
            say = log.warning if holding else log.info
            event = "crawl_held_for_index_backlog" if holding else "crawl_resumed_after_index_backlog"
            say(event, backlog=backlog, limit=self.limit, redis_memory_share=round(memory, 3))
        metrics.CRAWL_HELD_BACK.set(int(self.holding))
        return self.holding

    def _memory_share(self) -> float:
        """used_memory / maxmemory; 0 without a maxmemory, or where INFO is refused (some
        managed services)."""
        try:
            info = self._client.info("memory")
        except StoreError:
            return 0.0
        maxmemory = int(info.get("maxmemory") or 0)
        return int(info.get("used_memory") or 0) / maxmemory if maxmemory else 0.0
