"""The exception tree of newscrawl.

Library errors (aiohttp, lxml, sqlite3, ...) are mapped to these at the boundary that calls the
library, with the URL attached, so that callers handle one family of errors and every error
recorded for a URL has a stable ``kind``::

    NewscrawlError
    ├── ConfigError                 bad settings or outlets file (exit status 2)
    ├── FetchError                  one URL could not be fetched
    │   ├── InvalidURL, BlockedAddress, TooManyRedirects, BodyTooLarge, UnsupportedContent,
    │   │   RobotsDisallowed, OutOfScope (OutletRemoved), ProtocolError
    │   ├── ConnectError (transient)
    │   │   └── DNSError
    │   ├── FetchTimeout (transient)
    │   └── HTTPStatusError         transient for 408, 429 and 5xx
    ├── ParseError, ExtractionError one page could not be read
    ├── InternalError               a bug, confined to one URL
    ├── TaskTimeLimit (transient)
    ├── WorkerLost                  its holder died with it too often (a page that kills workers)
    └── StoreError (transient)      a store failed or timed out: waited out, never a failed URL
        └── IndexBackendError
            └── SearchEngineError
"""

from __future__ import annotations


class NewscrawlError(Exception):
    """Base of every error newscrawl raises on purpose."""

    kind = "error"
    # Whether trying again later may succeed (timeouts, 429, 5xx, refused connections).
    transient = False

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.url = url

    def __str__(self) -> str:
        return f"{self.message} ({self.url})" if self.url else self.message


class ConfigError(NewscrawlError):
    """Settings or an outlets file are invalid."""

    kind = "config"


# --- fetching -----------------------------------------------------------------------------


class FetchError(NewscrawlError):
    """A URL could not be fetched. ``transient`` errors are retried with back-off."""

    kind = "fetch"


class InvalidURL(FetchError):
    kind = "invalid_url"


class BlockedAddress(FetchError):
    """The target resolves to a private, loopback, link-local or reserved address."""

    kind = "blocked_address"


class ConnectError(FetchError):
    kind = "connect"
    transient = True


class DNSError(ConnectError):
    """The host's name does not resolve (NXDOMAIN, no resolver): not a refused connection."""

    kind = "dns"


class ProtocolError(FetchError):
    """The peer broke HTTP (oversized or malformed headers, bad chunking, corrupt encoding, a
    reply that is not HTTP): retrying will not help, so the URL fails at once."""

    kind = "protocol"


class FetchTimeout(FetchError):
    kind = "timeout"
    transient = True


class TooManyRedirects(FetchError):
    kind = "redirects"


class BodyTooLarge(FetchError):
    kind = "body_too_large"


class UnsupportedContent(FetchError):
    """The response is not a kind of document newscrawl parses (content type or binary body)."""

    kind = "content_type"


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    kind = "http_status"

    def __init__(
        self, message: str, *, url: str | None = None, status: int, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.retry_after_s = retry_after_s
        # 408, 429 and 5xx may succeed later; other 4xx will not.
        self.transient = status in (408, 429) or status >= 500
        self.kind = f"http_{status}"


class RobotsDisallowed(FetchError):
    kind = "robots"


class OutOfScope(FetchError):
    """A redirect or link leaves the outlet's allowed hosts."""

    kind = "out_of_scope"


class OutletRemoved(OutOfScope):
    """A queued URL that no outlet of the outlets file covers any more: not fetched."""

    kind = "outlet_removed"


# --- parsing and extraction ------------------------------------------------------------------


class ParseError(NewscrawlError):
    """A body could not be parsed as the document type it claims to be."""

    kind = "parse"


class ExtractionError(NewscrawlError):
    """An article page yielded no usable article."""

    kind = "extraction"


class InternalError(NewscrawlError):
    """A bug met while handling one URL: recorded for that URL so the crawl goes on."""

    kind = "internal"


class TaskTimeLimit(NewscrawlError):
    """A worker's task ran out of time before this URL was done: it is tried again."""

    kind = "task_time_limit"
    transient = True


class WorkerLost(NewscrawlError):
    """The process holding this URL died before reporting it, time after time: the page itself
    may kill it (memory, a crash in a parser). Given up, so one page cannot take a worker (or
    the embedded crawl) down for ever."""

    kind = "worker_lost"


# --- storage ---------------------------------------------------------------------------------


class StoreError(NewscrawlError):
    """A store (Redis, SQLite, the search engine) failed or timed out: the URL is tried again."""

    kind = "store"
    transient = True


class IndexBackendError(StoreError):
    kind = "index"


class SearchEngineError(IndexBackendError):
    """Elasticsearch or OpenSearch refused a request or could not be reached (``status`` 0)."""

    def __init__(self, message: str, *, url: str | None = None, status: int = 0) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.transient = status == 0 or status == 429 or status >= 500


# What parsers of hostile input raise besides our own errors (lxml, json, dateutil, urllib):
# caught where a page is processed and recorded as that page's ParseError.
HOSTILE_INPUT_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, LookupError, RecursionError)
