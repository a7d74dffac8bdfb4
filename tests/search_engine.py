"""A real search engine for the tests: osmem-server (in-memory, OpenSearch-compatible), and a
test-only proxy in front of it for the Elasticsearch client.

The elasticsearch 8/9 client sends ``application/vnd.elasticsearch+json; compatible-with=N`` and
expects ``X-Elastic-Product: Elasticsearch`` on answers; the proxy rewrites the one to
``application/json`` and adds the other, and nothing else. It also injects the faults a real
cluster cannot produce on demand: 429 answers to bulk requests or to one operation in one (a
busy node's rejection), refused connections, and a slow node (bulk requests that carry a given
text held until the test lets them go).
With ``ELASTICSEARCH_URL`` set, the Elasticsearch tests talk to that cluster instead.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from typing import Any

import aiohttp
from aiohttp import web

_COMPAT = re.compile(r"application/vnd\.elasticsearch\+(json|x-ndjson)(;\s*compatible-with=\d+)?")
_HOP = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}


def _plain(value: str) -> str:
    return _COMPAT.sub(lambda m: f"application/{m.group(1)}", value)


class ElasticProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = 0
        self.bulk_failures: list[int] = []  # statuses to answer the next bulk requests with
        self.requests = 0
        self.reject_once_operation_with: bytes | None = None  # its next bulk item gets a 429
        self.hold_bulks_with: bytes | None = None  # bulk requests carrying this wait for release()
        self._released = threading.Event()
        self._refusing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self._refusing and request.transport is not None:
            # A connection the client kept alive from before: dropped, as a restarted node's are.
            request.transport.close()
            return web.Response(status=503)
        if request.path.endswith("/_bulk") and self.bulk_failures:
            status = self.bulk_failures.pop(0)
            error = {"type": "es_rejected_execution_exception", "reason": "injected by the test proxy"}
            return web.json_response(
                {"error": error, "status": status},
                status=status,
                headers={"X-Elastic-Product": "Elasticsearch"},
            )
        headers = {k: _plain(v) for k, v in request.headers.items() if k.lower() not in _HOP}
        body = await request.read()
        if self.hold_bulks_with and request.path.endswith("/_bulk") and self.hold_bulks_with in body:
            await asyncio.get_running_loop().run_in_executor(None, self._released.wait, 30)
        rejected = None
        if self.reject_once_operation_with and request.path.endswith("/_bulk"):
            body, rejected = self._without_operation(body, self.reject_once_operation_with)
        assert self._session is not None
        try:
            async with self._session.request(
                request.method, self.upstream + request.path_qs, headers=headers, data=body or None
            ) as upstream:
                payload = await upstream.read()
                out = {
                    k: v for k, v in upstream.headers.items() if k.lower() not in _HOP | {"content-encoding"}
                }
        except aiohttp.ClientConnectionError:
            # The engine is down: the client sees what it would see without the proxy, no answer.
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=502)
        out["X-Elastic-Product"] = "Elasticsearch"
        if rejected is not None:
            payload = _with_rejected_item(payload, *rejected)
        return web.Response(status=upstream.status, body=payload, headers=out)

    def _without_operation(self, body: bytes, marker: bytes) -> tuple[bytes, tuple[int, bytes] | None]:
        """The bulk body without the first operation (action and source lines) carrying ``marker``,
        and where it was, with its action line."""
        lines = body.split(b"\n")
        for i in range(0, len(lines) - 1, 2):
            if marker in lines[i + 1]:
                self.reject_once_operation_with = None
                return b"\n".join(lines[:i] + lines[i + 2 :]), (i // 2, lines[i])
        return body, None

    def _run(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _open(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await self._site.start()
        if not self.port:
            server = getattr(self._site, "_server", None)
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _close_site(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None

    def release(self) -> None:
        """Lets the held bulk requests (``hold_bulks_with``) through, and the later ones at once."""
        self._released.set()

    def refuse_connections(self) -> None:
        """Stop listening and drop the connections kept alive: clients get 'connection refused'
        until :meth:`accept_connections`."""
        self._refusing = True
        self._run(self._close_site())

    def accept_connections(self) -> None:
        self._refusing = False
        self._run(self._open())

    def start(self) -> ElasticProxy:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def setup() -> None:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
                app = web.Application(client_max_size=256 * 1024 * 1024)
                app.router.add_route("*", "/{tail:.*}", self._handle)
                self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
                await self._runner.setup()
                await self._open()

            loop.run_until_complete(setup())
            ready.set()
            loop.run_forever()
            assert self._session is not None and self._runner is not None
            loop.run_until_complete(self._session.close())
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="elastic-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


def _with_rejected_item(payload: bytes, position: int, action_line: bytes) -> bytes:
    """The engine's bulk answer with a 429 for the operation the proxy kept back, in its place."""
    answer = json.loads(payload)
    ((op, meta),) = json.loads(action_line).items()
    error = {"type": "es_rejected_execution_exception", "reason": "injected by the test proxy"}
    item = {op: {"_index": meta.get("_index"), "_id": meta.get("_id"), "status": 429, "error": error}}
    answer["items"].insert(position, item)
    answer["errors"] = True
    return json.dumps(answer).encode()
