"""A web that misbehaves on purpose: a raw TCP server on loopback, one path per misbehaviour.

aiohttp's own server cannot break HTTP (oversized or endless headers, bad chunking, a reply that
is not HTTP), so each route here writes its bytes by hand. Every route stops by itself: an
endless answer ends when the client hangs up or after ``_ENDLESS_LIMIT_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import threading
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import brotli

Route = Callable[[asyncio.StreamWriter, str], Awaitable[None]]

_ENDLESS_LIMIT_S = 30.0
_HEAD_LIMIT = 65536


def response(status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    head = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body)), **(headers or {})}
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in head.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def fixed(status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None) -> Route:
    data = response(status, body, headers)

    async def route(writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(data)
        await writer.drain()

    return route


def raw(data: bytes) -> Route:
    async def route(writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(data)
        await writer.drain()

    return route


def endless(head: bytes, chunk: bytes, *, interval_s: float = 0.0) -> Route:
    """``head`` then ``chunk`` again and again until the client hangs up."""

    async def route(writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(head)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _ENDLESS_LIMIT_S
        while loop.time() < deadline and not writer.is_closing():
            writer.write(chunk)
            await writer.drain()
            await asyncio.sleep(interval_s)

    return route


def compressed(encoding: str, size: int) -> bytes:
    """``size`` bytes of spaces in a page, compressed small."""
    page = b"<html><body><p>" + b" " * size + b"</p></body></html>"
    if encoding == "gzip":
        return gzip.compress(page, 9)
    if encoding == "deflate":
        return zlib.compress(page, 9)
    if encoding == "br":
        return bytes(brotli.compress(page))
    raise ValueError(encoding)


@dataclass
class HostileWeb:
    host: str = "127.0.0.1"
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def add(self, path: str, route: Route) -> None:
        self.routes[path] = route

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        path = line.split(" ")[1] if line.count(" ") >= 2 else "/"
        self.requests.append(path)
        route = self.routes.get(path.split("?")[0]) or fixed(404, b"not found")
        try:
            await route(writer, path)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def start(self) -> HostileWeb:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()

            async def main() -> None:
                server = await asyncio.start_server(self._serve, self.host, self.port, limit=_HEAD_LIMIT)
                self.port = server.sockets[0].getsockname()[1]
                self._server = server
                ready.set()
                async with server:
                    await server.serve_forever()

            with contextlib.suppress(asyncio.CancelledError):
                self._loop.run_until_complete(main())

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        def cancel() -> None:
            for task in asyncio.all_tasks(self._loop):
                task.cancel()

        self._loop.call_soon_threadsafe(cancel)
        self._thread.join(10)
