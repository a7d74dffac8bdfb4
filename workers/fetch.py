"""Fetching with aiohttp: one ClientSession per process, limits on everything a stranger controls.

Every aiohttp or network error is mapped here to a :class:`newscrawl.core.errors.FetchError` with
the URL attached. Redirects are followed by hand so that each hop is checked (scheme, target
address, count) before it is requested.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import urllib.request
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from newscrawl.core.errors import (
    BlockedAddress,
    BodyTooLarge,
    ConnectError,
    DNSError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    InvalidURL,
    ProtocolError,
    TooManyRedirects,
    UnsupportedContent,
)
from newscrawl.core.settings import FetchSettings
from newscrawl.core.urls import parse_allowed_target
from workers.charset import decode_body
from workers.compression import gunzip_capped

_READ_CHUNK = 64 * 1024

# Documents newscrawl parses; anything else is refused before its body is read.
_ACCEPTED_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "application/xml",
    "text/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/x-rss+xml",
    "text/plain",
    "application/x-gzip",
    "application/gzip",
    "application/octet-stream",
)


@dataclass
class FetchResponse:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""
    text: str = ""
    encoding: str | None = None
    redirects: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class AddressPolicy:
    """Which target addresses (and ports) a crawl may connect to."""

    def __init__(self, allowed_networks: list[str]) -> None:
        self._allowed = [parse_allowed_target(n) for n in allowed_networks]

    def permits(self, address: str, port: int | None = None) -> bool:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if _is_public(ip):
            return True
        return any(ip in net and (allowed is None or allowed == port) for net, allowed in self._allowed)

    def check_literal(self, url: str) -> None:
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return  # a name: the resolver checks what it resolves to
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not self.permits(host, port):
            raise BlockedAddress(f"refusing non-public address {host}:{port}", url=url)


class GuardedResolver(AbstractResolver):
    """Resolves with the default resolver and drops addresses the policy refuses.

    Checking the addresses actually connected to (not a separate look-up) closes the DNS
    rebinding gap. Proxy hosts are trusted: they are the operator's choice.
    """

    def __init__(self, policy: AddressPolicy, trusted_hosts: set[str]) -> None:
        self._inner = DefaultResolver()
        self._policy = policy
        self._trusted = trusted_hosts

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if host in self._trusted:
            return results
        allowed = [r for r in results if self._policy.permits(r["host"], r["port"] or port)]
        if not allowed:
            raise BlockedAddress(f"{host} resolves only to non-public addresses")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def _proxy_host(proxy: str | None) -> set[str]:
    return {urlsplit(proxy).hostname or ""} if proxy else set()


class Fetcher:
    """One per process. ``await start()`` inside the running loop, ``await close()`` at the end."""

    def __init__(self, settings: FetchSettings) -> None:
        self._settings = settings
        self._policy = AddressPolicy(settings.allowed_networks)
        self._session: aiohttp.ClientSession | None = None
        env_proxies = urllib.request.getproxies() if settings.trust_env else {}
        self._env_proxies = {k: v for k, v in env_proxies.items() if k in ("http", "https")}

    async def start(self) -> None:
        s = self._settings
        trusted = _proxy_host(s.proxy) | {h for p in self._env_proxies.values() for h in _proxy_host(p)}
        behind_proxy = bool(s.proxy or self._env_proxies)
        connector = aiohttp.TCPConnector(
            limit=s.connections,
            # Behind a proxy every connection goes to the proxy: per-host limits would throttle it.
            limit_per_host=0 if behind_proxy else s.connections_per_host,
            resolver=GuardedResolver(self._policy, trusted),
            ttl_dns_cache=300,
        )
        timeout = aiohttp.ClientTimeout(
            total=s.total_timeout_s, connect=s.connect_timeout_s, sock_read=s.read_timeout_s
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            headers={
                "User-Agent": s.user_agent,
                "Accept": "text/html,application/xhtml+xml,"
                "application/xml;q=0.9,application/rss+xml,application/atom+xml,*/*;q=0.5",
            },
            trust_env=False,  # proxies are chosen per request below, NO_PROXY included
            auto_decompress=True,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Fetcher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def proxy_for(self, url: str) -> str | None:
        if self._settings.proxy:
            return self._settings.proxy
        if not self._env_proxies:
            return None
        host = urlsplit(url).hostname or ""
        if urllib.request.proxy_bypass(host):
            return None
        return self._env_proxies.get(urlsplit(url).scheme)

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResponse:
        """GET ``url``; raises a :class:`FetchError` subclass for every failure."""
        if self._session is None:
            raise RuntimeError("Fetcher.start() was not awaited")
        started = time.monotonic()
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        redirects: list[str] = []
        current = url
        try:
            async with asyncio.timeout(self._settings.total_timeout_s):
                while True:
                    answer = await self._get_once(current, headers, url)
                    if isinstance(answer, FetchResponse):
                        answer.redirects = redirects
                        answer.elapsed_s = time.monotonic() - started
                        return answer
                    current = answer
                    redirects.append(current)
                    if len(redirects) > self._settings.max_redirects:
                        raise TooManyRedirects(f"more than {self._settings.max_redirects} redirects", url=url)
                    if current in redirects[:-1] or current == url:
                        raise TooManyRedirects("redirect loop", url=url)
        except TimeoutError as exc:
            raise FetchTimeout(
                f"no complete answer within {self._settings.total_timeout_s:g} s", url=url
            ) from exc

    async def _get_once(self, target: str, headers: dict[str, str], origin: str) -> FetchResponse | str:
        """One request: the response, or the next URL when it redirects."""
        assert self._session is not None
        proxy = self.proxy_for(target)
        if proxy is None:
            self._policy.check_literal(target)
        try:
            async with self._session.get(target, headers=headers, allow_redirects=False, proxy=proxy) as resp:
                if resp.status in (301, 302, 303, 307, 308):
                    return self._redirect_target(resp, target, origin)
                resp_headers = {k.lower(): v for k, v in resp.headers.items()}
                if resp.status == 304:
                    return FetchResponse(url=origin, final_url=target, status=304, headers=resp_headers)
                if resp.status >= 400 or resp.status < 200:
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"), time.time())
                    raise HTTPStatusError(
                        f"HTTP {resp.status}", url=origin, status=resp.status, retry_after_s=retry_after
                    )
                self._check_content_type(resp_headers, origin)
                body = await self._read_capped(resp, origin)
        except FetchError:
            raise
        except aiohttp.InvalidURL as exc:
            raise InvalidURL(f"invalid URL: {exc}", url=origin) from exc
        except aiohttp.ClientConnectorDNSError as exc:
            raise DNSError(f"name does not resolve: {exc}", url=origin) from exc
        except aiohttp.ClientPayloadError as exc:
            # Corrupt gzip/deflate/brotli/zstd, bad chunk sizes, a body cut short of its length.
            raise ProtocolError(f"bad body: {exc}", url=origin) from exc
        except (
            aiohttp.ClientConnectorError,
            aiohttp.ServerDisconnectedError,
            aiohttp.ClientOSError,
            aiohttp.ClientHttpProxyError,
        ) as exc:
            raise ConnectError(f"{type(exc).__name__}: {exc}", url=origin) from exc
        except aiohttp.ServerTimeoutError as exc:
            raise FetchTimeout(f"read timed out: {exc}", url=origin) from exc
        except aiohttp.ClientResponseError as exc:
            # Headers too large or malformed, a status line that is not HTTP.
            raise ProtocolError(f"bad response: {exc.message}", url=origin) from exc
        except aiohttp.ClientError as exc:
            raise ConnectError(f"{type(exc).__name__}: {exc}", url=origin) from exc
        # A body gzipped without Content-Encoding (a .xml.gz sitemap, a misconfigured server).
        body = gunzip_capped(body, origin, self._settings.max_body_bytes)
        text, encoding = decode_body(body, resp_headers.get("content-type"), origin)
        return FetchResponse(
            url=origin,
            final_url=target,
            status=resp.status,
            headers=resp_headers,
            body=body,
            text=text,
            encoding=encoding,
        )

    def _redirect_target(self, resp: aiohttp.ClientResponse, target: str, origin: str) -> str:
        location = resp.headers.get("Location")
        if not location:
            raise HTTPStatusError(f"HTTP {resp.status} without Location", url=origin, status=resp.status)
        nxt = urljoin(target, location)
        if urlsplit(nxt).scheme not in ("http", "https"):
            raise InvalidURL(f"redirect to unsupported scheme: {nxt}", url=origin)
        return nxt

    def _check_content_type(self, headers: dict[str, str], url: str) -> None:
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype and not ctype.startswith(_ACCEPTED_TYPES) and not ctype.endswith("+xml"):
            raise UnsupportedContent(f"unsupported content type {ctype}", url=url)
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > self._settings.max_body_bytes:
            raise BodyTooLarge(
                f"Content-Length {length} exceeds {self._settings.max_body_bytes} bytes", url=url
            )

    async def _read_capped(self, resp: aiohttp.ClientResponse, url: str) -> bytes:
        # aiohttp hands out decompressed chunks, so the cap holds against compression bombs.
        cap = self._settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_READ_CHUNK):
            size += len(chunk)
            if size > cap:
                raise BodyTooLarge(f"body exceeds {cap} bytes after decompression", url=url)
            chunks.append(chunk)
        return b"".join(chunks)


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """Seconds from ``now_epoch`` named by a Retry-After header (delta seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now_epoch, 0.0)
