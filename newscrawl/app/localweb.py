"""A local web on loopback: serves a fixed set of URLs as an HTTP forward proxy and directly.

``newscrawl demo`` serves its generated news web with it, and the tests serve the replay web
(saved pages of real outlets) with it. The crawler reaches it through its ordinary proxy
support, so URLs keep their real host names. Each request is logged with its arrival time,
so politeness is measured where it matters: at the server.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import urlsplit

from aiohttp import web


@dataclass
class Resource:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    # Special behaviours for fault tests: "endless", "gzip_bomb", "slow".
    behaviour: str | None = None
    # Answer 429 with this Retry-After for the first N requests.
    throttle_first: int = 0
    retry_after_s: int = 1
    last_modified: float = 1_700_000_000.0
    # Send ETag and Last-Modified (and answer conditional requests with 304).
    validators: bool = True
    # A slow server: the answer starts this long after the request arrived.
    answer_after_s: float = 0.0


@dataclass(frozen=True)
class LoggedRequest:
    at: float  # time.monotonic() at arrival
    method: str
    url: str
    host: str
    headers: dict[str, str]
    status: int


def resource_key(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.port and parts.port != 80:
        host = f"{host}:{parts.port}"
    path = parts.path or "/"
    return f"http://{host}{path}" + (f"?{parts.query}" if parts.query else "")


class LocalWeb:
    def __init__(self, resources: dict[str, Resource] | None = None, *, bind: str = "127.0.0.1") -> None:
        # Loopback by default; bench/compose_stack.py serves containers on their network's gateway.
        self.bind = bind
        self.resources: dict[str, Resource] = {}
        for url, res in (resources or {}).items():
            self.add(url, res)
        self.log: list[LoggedRequest] = []
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    def add(self, url: str, resource: Resource) -> None:
        self.resources[resource_key(url)] = resource

    @property
    def proxy_url(self) -> str:
        return f"http://{self.bind}:{self.port}"

    def direct_url(self, path: str) -> str:
        return f"http://{self.bind}:{self.port}{path}"

    def arrived(self, url: str) -> int:
        """Requests for ``url`` that arrived so far, answered or not (``log`` has the answered)."""
        with self._lock:
            return self._served.get(resource_key(url), 0)

    # --- serving ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        url = str(request.url)
        key = resource_key(url)
        res = self.resources.get(key)
        response = await self._answer(request, res, key)
        entry = LoggedRequest(
            at=time.monotonic(),
            method=request.method,
            url=key,
            host=urlsplit(key).netloc,
            headers=dict(request.headers),
            status=response.status,
        )
        with self._lock:
            self.log.append(entry)
        return response

    async def _answer(self, request: web.Request, res: Resource | None, key: str) -> web.StreamResponse:
        if res is None:
            return web.Response(status=404, text="not found", content_type="text/plain")
        with self._lock:
            count = self._served.get(key, 0) + 1
            self._served[key] = count
        if count <= res.throttle_first:
            return web.Response(status=429, text="slow down", headers={"Retry-After": str(res.retry_after_s)})
        if res.behaviour == "endless":
            return await self._endless(request, res)
        if res.behaviour == "slow":
            await asyncio.sleep(3600)
        if res.answer_after_s:
            await asyncio.sleep(res.answer_after_s)
        etag = '"' + hashlib.sha1(res.body).hexdigest()[:16] + '"'
        headers = dict(res.headers)
        if res.validators:
            headers |= {"ETag": etag, "Last-Modified": formatdate(res.last_modified, usegmt=True)}
        if res.validators and res.status == 200 and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        body = res.body
        if res.behaviour == "gzip_bomb":
            headers["Content-Encoding"] = "gzip"
        elif "gzip" in request.headers.get("Accept-Encoding", "") and len(body) > 1024 and res.status == 200:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        headers["Content-Type"] = res.content_type
        return web.Response(status=res.status, body=body, headers=headers)

    async def _endless(self, request: web.Request, res: Resource) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": res.content_type})
        await response.prepare(request)
        chunk = b"<p>" + b"never ending " * 5000 + b"</p>\n"
        try:
            for _ in range(100_000):  # bounded: about 6.5 GB, far past any cap
                await response.write(chunk)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> LocalWeb:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application(client_max_size=1024 * 1024)
            app.router.add_route("*", "/{tail:.*}", self._handle)
            # A short shutdown timeout: fault tests leave handlers that never finish on purpose.
            self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, self.bind, self.port)
            loop.run_until_complete(site.start())
            server = getattr(site, "_server", None)
            sockets = getattr(server, "sockets", None) or []
            self.port = sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="localweb", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("local web did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> LocalWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
