"""Politeness rules shared by every frontier backend: delays, back-off and robots.txt.

The backends store the state (a host's next allowed fetch, its back-off level, its robots.txt);
this module decides what the numbers are, so the embedded and the Redis frontier agree.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from protego import Protego

from newscrawl.core.settings import PolitenessSettings


@dataclass(frozen=True)
class Robots:
    """A parsed robots.txt; ``None`` text means everything is allowed."""

    text: str | None
    user_agent: str

    def __post_init__(self) -> None:
        parser = Protego.parse(self.text) if self.text else None
        object.__setattr__(self, "_parser", parser)

    def allowed(self, url: str) -> bool:
        parser = getattr(self, "_parser")  # noqa: B009 - set in __post_init__ on a frozen class
        return parser is None or bool(parser.can_fetch(url, self.user_agent))

    def crawl_delay_s(self) -> float | None:
        parser = getattr(self, "_parser")  # noqa: B009
        if parser is None:
            return None
        delay = parser.crawl_delay(self.user_agent)
        return float(delay) if delay is not None else None


# Parsed robots.txt files a process keeps: about the hosts a crawl leases from at once, many
# times over. One parsed file can take hundreds of KiB (protego keeps a pattern per rule: 280 KiB
# for a 15 KB file), and a crawl of weeks meets more hosts than that.
ROBOTS_CACHE_HOSTS = 1024


class RobotsCache:
    """The parsed robots.txt of the hosts leased from most recently, at most ``size`` of them;
    a host's entry holds while its ``version`` (when its file was fetched) is the stored one.
    A host left out is parsed again from the stored text the next time it is leased."""

    def __init__(self, size: int = ROBOTS_CACHE_HOSTS) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[str, Robots]] = OrderedDict()

    def get(self, host: str, version: str = "") -> Robots | None:
        entry = self._entries.get(host)
        if entry is None or entry[0] != version:
            return None
        self._entries.move_to_end(host)
        return entry[1]

    def put(self, host: str, robots: Robots, version: str = "") -> None:
        self._entries[host] = (version, robots)
        self._entries.move_to_end(host)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def robots_agent(user_agent: str) -> str:
    """The product token robots.txt groups are matched against ("newscrawl/0.1 (+...)" -> "newscrawl")."""
    return user_agent.split("/")[0].split()[0]


def host_delay_s(settings: PolitenessSettings, crawl_delay_s: float | None) -> float:
    """Seconds between the end of one fetch from a host and the start of the next."""
    delay = settings.min_delay_ms / 1000.0
    if crawl_delay_s is not None:
        delay = max(delay, min(crawl_delay_s, settings.max_crawl_delay_s))
    return delay


def backoff_s(settings: PolitenessSettings, level: int, retry_after_s: float | None) -> float:
    """How long a host rests after its ``level``-th consecutive 429/503 (level >= 1)."""
    exponential = settings.backoff_base_s * 2.0 ** max(level - 1, 0)
    retry_after = min(retry_after_s or 0.0, settings.max_retry_after_s)
    wait = max(exponential, retry_after)
    return min(wait, max(settings.backoff_max_s, retry_after))
