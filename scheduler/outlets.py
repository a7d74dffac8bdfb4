"""Outlets: the news sites a crawl follows, read from a TOML file.

[[outlet]]
name = "Example Times"
urls = ["https://example.com/", "https://example.com/world/"]   # home and section pages
feeds = ["https://example.com/rss.xml"]
sitemaps = ["https://example.com/news-sitemap.xml"]
allowed_hosts = ["example.com", "www.example.com"]  # optional, with the seeds' hosts; default: their domains
article_pattern = "/\\d{4}/\\d{2}/"                   # optional regex on article URLs
revisit_interval_s = 600                              # optional
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from newscrawl.core.errors import ConfigError, InvalidURL, OutletRemoved
from newscrawl.core.records import Lease
from newscrawl.core.urls import host_of, normalize_url, registered_domain


@dataclass(frozen=True)
class Outlet:
    name: str
    urls: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    article_pattern: re.Pattern[str] | None = None
    revisit_interval_s: float | None = None
    country: str | None = None
    language: str | None = None

    def seeds(self) -> Iterable[tuple[str, str]]:
        """(url, kind) pairs to seed the frontier with."""
        for url in self.feeds:
            yield url, "feed"
        for url in self.sitemaps:
            yield url, "sitemap"
        for url in self.urls:
            yield url, "listing"

    def allows(self, url: str) -> bool:
        """Whether ``url`` is on one of the outlet's hosts (``*.example.com`` covers subdomains)."""
        host = host_of(url)
        if host in self.allowed_hosts:
            return True
        return any(h.startswith("*.") and (host == h[2:] or host.endswith(h[1:])) for h in self.allowed_hosts)


def _str_list(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of URLs")
    return tuple(value)


def _spelled_as_links(host: str, where: str) -> str:
    """An allowed host as a normalised link's host reads: lower case, an international name in
    its ASCII form (``münchen.de`` -> ``xn--mnchen-3ya.de``), no root dot, no default port."""
    wildcard = "*." if host.startswith("*.") else ""
    try:
        return wildcard + host_of(normalize_url(f"http://{host.removeprefix(wildcard)}/"))
    except InvalidURL as exc:
        raise ConfigError(f"{where}: bad allowed host {host!r}: {exc.message}") from exc


def _parse_outlet(entry: dict[str, Any], index: int) -> Outlet:
    where = f"outlet #{index + 1}"
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: 'name' is required")
    where = f"outlet {name!r}"
    unknown = set(entry) - {
        "name",
        "urls",
        "feeds",
        "sitemaps",
        "allowed_hosts",
        "article_pattern",
        "revisit_interval_s",
        "country",
        "language",
    }
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    lists = {key: _str_list(entry, key, where) for key in ("urls", "feeds", "sitemaps")}
    try:
        normal = {key: tuple(normalize_url(u) for u in urls) for key, urls in lists.items()}
    except InvalidURL as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if not any(normal.values()):
        raise ConfigError(f"{where}: needs at least one of urls, feeds, sitemaps")
    seed_hosts = {host_of(u) for urls in normal.values() for u in urls}
    given = {_spelled_as_links(h, where) for h in _str_list(entry, "allowed_hosts", where)}
    # Unless the file says which, sibling hosts of the seeds (www., m., amp.) are the outlet's too;
    # the file's own pages, feeds and sitemaps are, wherever they are hosted (a feed on a CDN's name).
    allowed = (given or {"*." + registered_domain(host) for host in seed_hosts}) | seed_hosts
    pattern = entry.get("article_pattern")
    try:
        compiled = re.compile(pattern) if pattern else None
    except re.error as exc:
        raise ConfigError(f"{where}: bad article_pattern: {exc}") from exc
    interval = entry.get("revisit_interval_s")
    if interval is not None and (not isinstance(interval, int | float) or interval <= 0):
        raise ConfigError(f"{where}: revisit_interval_s must be a positive number")
    return Outlet(
        name=name.strip(),
        urls=normal["urls"],
        feeds=normal["feeds"],
        sitemaps=normal["sitemaps"],
        allowed_hosts=frozenset(allowed),
        article_pattern=compiled,
        revisit_interval_s=float(interval) if interval is not None else None,
        country=entry.get("country"),
        language=entry.get("language"),
    )


def parse_outlets(text: str, source: str = "<outlets>") -> list[Outlet]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    entries = data.get("outlet")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: no [[outlet]] tables")
    outlets = [_parse_outlet(e, i) for i, e in enumerate(entries)]
    names = [o.name for o in outlets]
    if len(set(names)) != len(names):
        raise ConfigError(f"{source}: outlet names must be unique")
    return outlets


def load_outlets(path: Path | str | None = None) -> list[Outlet]:
    """Outlets from ``path``, or the shipped default list of real outlets."""
    if path is None:
        text = resources.files("newscrawl").joinpath("data/outlets.toml").read_text("utf-8")
        return parse_outlets(text, "default outlets")
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"outlets file not found: {p}")
    return parse_outlets(p.read_text("utf-8"), str(p))


class OutletIndex:
    """Finds the outlet a URL belongs to: the first in the file whose hosts cover it."""

    def __init__(self, outlets: Iterable[Outlet]) -> None:
        self.outlets = list(outlets)
        self._by_name = {o.name: o for o in self.outlets}
        # Places in the file by host, and by the domain a "*.domain" covers: a file of thousands
        # of outlets costs a few lookups per URL, not a scan.
        self._by_host: dict[str, int] = {}
        self._by_domain: dict[str, int] = {}
        for place, outlet in enumerate(self.outlets):
            for host in outlet.allowed_hosts:
                if host.startswith("*."):
                    self._by_domain.setdefault(host[2:], place)
                else:
                    self._by_host.setdefault(host, place)

    def get(self, name: str) -> Outlet | None:
        return self._by_name.get(name)

    def for_url(self, url: str) -> Outlet | None:
        host = host_of(url)
        none = len(self.outlets)
        place = self._by_host.get(host, none)
        labels = host.split(".")
        for i in range(len(labels)):  # "*.example.com" covers example.com and below it
            place = min(place, self._by_domain.get(".".join(labels[i:]), none))
        return self.outlets[place] if place < none else None


class OutletScope:
    """Which leased URLs the outlets file still covers. A URL queued for an outlet that was
    removed from the file since (or no longer lists the URL's host) is not fetched: the
    scheduler fails it as :class:`OutletRemoved` instead of sending it to a worker."""

    def __init__(self, outlets: Iterable[Outlet]) -> None:
        self._index = OutletIndex(outlets)
        self._covered: dict[str, bool] = {}  # by host: an outlet's hosts decide

    def removed(self, lease: Lease) -> bool:
        # A feed or a sitemap is its outlet's wherever it is hosted (its pages name a feed on a
        # CDN's name, its robots.txt a sitemap there: scheduler/discovery.py), and so is the
        # robots.txt fetched before it. Any other URL is queued for an outlet on one of its
        # hosts, and any other robots.txt names no outlet: the host decides.
        its_outlet = self._index.get(lease.outlet) if lease.outlet is not None else None
        if lease.kind in ("feed", "sitemap", "robots") and its_outlet is not None:
            return False
        if lease.kind != "robots" and lease.outlet is None:
            return False
        covered = self._covered.get(lease.host)
        if covered is None:
            covered = self._covered[lease.host] = self._index.for_url(lease.url) is not None
        return not covered

    @staticmethod
    def error(lease: Lease) -> OutletRemoved:
        queued_for = f"queued for {lease.outlet!r}" if lease.outlet else f"host {lease.host}"
        return OutletRemoved(f"no outlet covers it any more ({queued_for})", url=lease.url)
