"""The WARC archive of every fetch (``archive.warc_dir``), written with warcio as WARC/1.1.

Each fetch becomes a request and a response record (a 304 or an unchanged body: a ``revisit``),
robots.txt included, and each article one ``metadata`` record with its extracted fields and the
dedup decision; one gzip member per record. A file is written under ``*.warc.gz.open`` and
renamed when complete (rotated by size and age, closed at stop), and names are unique across
processes and machines (time, host, pid, sequence), so every worker process writes its own.

Bodies are stored as the HTTP layer hands them over: decompressed (aiohttp undoes
Content-Encoding), with the Content-Encoding header dropped and Content-Length set to match, so
every record is a valid HTTP response that ``newscrawl reprocess`` (or any WARC tool) can read.

A write failure (a full disk) pauses archiving with one clear error and a metric; the crawl and
its index go on.
"""

from __future__ import annotations

import io
import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newscrawl.core import metrics
from newscrawl.core.log import get_logger
from newscrawl.core.records import Lease

log = get_logger("newscrawl.archive")

# Hop-by-hop or encoding headers that no longer describe the body as stored.
_DROPPED_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length", "connection"})
_RETRY_AFTER_FAILURE_S = 60.0
# WARC extension fields on our response records: what the crawl leased the page as, for which outlet.
KIND_HEADER = "WARC-Newscrawl-Kind"
OUTLET_HEADER = "WARC-Newscrawl-Outlet"


class WarcArchive:
    def __init__(
        self, directory: Path, *, max_file_bytes: int, max_file_age_s: float, user_agent: str
    ) -> None:
        self.directory = directory
        self.max_file_bytes = max_file_bytes
        self.max_file_age_s = max_file_age_s
        self.user_agent = user_agent
        self._host = socket.gethostname().split(".")[0] or "host"
        self._pid = os.getpid()
        self._sequence = 0
        self._file: io.BufferedWriter | None = None
        self._path: Path | None = None
        self._writer: WARCWriter | None = None
        self._opened_at = 0.0
        self._paused_until = 0.0
        self.records = 0

    # --- files --------------------------------------------------------------------------------

    def _open(self) -> WARCWriter:
        if self._writer is not None and self._pid == os.getpid():
            too_big = self._file is not None and self._file.tell() >= self.max_file_bytes
            too_old = time.monotonic() - self._opened_at >= self.max_file_age_s
            if not (too_big or too_old):
                return self._writer
            self.close()
        if self._pid != os.getpid():  # a forked child writes files of its own
            self._pid, self._sequence, self._writer, self._file = os.getpid(), 0, None, None
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sequence += 1
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        name = f"newscrawl-{stamp}-{self._host}-{self._pid}-{self._sequence:05d}.warc.gz"
        self._path = self.directory / name
        self._file = open(self._path.with_name(name + ".open"), "wb")  # noqa: SIM115 - kept open across records
        self._writer = WARCWriter(self._file, gzip=True, warc_version="1.1")
        self._opened_at = time.monotonic()
        self._writer.write_record(
            self._writer.create_warcinfo_record(
                name, {"software": self.user_agent, "format": "WARC File Format 1.1", "hostname": self._host}
            )
        )
        return self._writer

    def close(self) -> None:
        """Finish the current file: closed and renamed from ``.open`` to its final name."""
        if self._file is None or self._path is None:
            return
        try:
            self._file.close()
            self._path.with_name(self._path.name + ".open").rename(self._path)
        except OSError as exc:
            log.error("warc_close_failed", file=str(self._path), error=str(exc))
        self._file = self._writer = None
        self._path = None

    def _write(self, *records: Any) -> None:
        """Into the file the records were made for: rotation happens before an operation, never
        between its records (a request and its response stay together)."""
        if time.monotonic() < self._paused_until:
            return
        try:
            writer = self._writer
            if writer is None:
                raise OSError("the archive file is not open")
            for record in records:
                writer.write_record(record)
            assert self._file is not None
            self._file.flush()
            self.records += len(records)
            metrics.WARC_RECORDS.inc(len(records))
        except OSError as exc:
            self._write_failed(exc)

    # --- records ------------------------------------------------------------------------------

    @staticmethod
    def _request(writer: WARCWriter, url: str, headers: dict[str, str]) -> Any:
        parts = url.split("/", 3)
        path = "/" + (parts[3] if len(parts) > 3 else "")
        http = StatusAndHeaders(f"GET {path} HTTP/1.1", list(headers.items()), is_http_request=True)
        return writer.create_warc_record(url, "request", http_headers=http)

    def _writer_or_none(self) -> WARCWriter | None:
        """The current file's writer, or None while archiving is paused (or just failed)."""
        if time.monotonic() < self._paused_until:
            return None
        try:
            return self._open()
        except OSError as exc:
            self._write_failed(exc)
            return None

    def fetched(
        self, lease: Lease, *, url: str, status: int, headers: dict[str, str], body: bytes
    ) -> str | None:
        """A request and a response record; returns the response record's id."""
        writer = self._writer_or_none()
        if writer is None:
            return None
        request = self._request(writer, url, self._request_headers(lease))
        kept = [(k, v) for k, v in headers.items() if k.lower() not in _DROPPED_HEADERS]
        kept.append(("Content-Length", str(len(body))))
        http = StatusAndHeaders(f"{status} {_reason(status)}", kept, protocol="HTTP/1.1")
        response = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http)
        response.rec_headers.add_header(KIND_HEADER, lease.kind)
        if lease.outlet:
            response.rec_headers.add_header(OUTLET_HEADER, lease.outlet)
        record_id = response.rec_headers.get_header("WARC-Record-ID")
        request.rec_headers.add_header("WARC-Concurrent-To", record_id)
        self._write(request, response)
        return str(record_id)

    def revisit(self, lease: Lease, *, url: str, status: int, headers: dict[str, str]) -> None:
        """A 304, or a body unchanged since the last visit: a revisit record, no payload."""
        writer = self._writer_or_none()
        if writer is None:
            return
        request = self._request(writer, url, self._request_headers(lease))
        kept = [(k, v) for k, v in headers.items() if k.lower() not in _DROPPED_HEADERS]
        http = StatusAndHeaders(f"{status} {_reason(status)}", kept, protocol="HTTP/1.1")
        record = writer.create_revisit_record(
            url,
            digest=f"sha1:{lease.body_hash}" if lease.body_hash else "",
            refers_to_uri=url,
            refers_to_date="",
            http_headers=http,
        )
        request.rec_headers.add_header("WARC-Concurrent-To", record.rec_headers.get_header("WARC-Record-ID"))
        self._write(request, record)

    def metadata(self, url: str, fields: dict[str, Any], concurrent_to: str | None) -> None:
        """The extraction's key fields and the dedup decision, for the response record ``concurrent_to``."""
        writer = self._writer_or_none()
        if writer is None:
            return
        payload = json.dumps(fields, ensure_ascii=False, default=str).encode("utf-8")
        record = writer.create_warc_record(
            url, "metadata", payload=io.BytesIO(payload), warc_content_type="application/json"
        )
        if concurrent_to:
            record.rec_headers.add_header("WARC-Concurrent-To", concurrent_to)
        self._write(record)

    def _write_failed(self, exc: OSError) -> None:
        """A full disk must not stop the crawl: archiving pauses, the index work goes on."""
        self._paused_until = time.monotonic() + _RETRY_AFTER_FAILURE_S
        metrics.WARC_FAILURES.inc()
        log.error("warc_write_failed", file=str(self._path), error=str(exc), paused_s=_RETRY_AFTER_FAILURE_S)

    def _request_headers(self, lease: Lease) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent, "Host": lease.host}
        if lease.etag:
            headers["If-None-Match"] = lease.etag
        if lease.last_modified:
            headers["If-Modified-Since"] = lease.last_modified
        return headers


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
