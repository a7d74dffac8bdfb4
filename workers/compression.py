"""The one bounded inflater: every path that decompresses a body goes through it.

HTTP Content-Encoding is undone by aiohttp while the fetcher counts the bytes (``fetch.py``);
what remains is gzip inside the body itself: ``.xml.gz`` sitemaps, a saved ``.html.gz``, a body
sent gzipped without saying so. All of it is inflated here, within the same cap.
"""

from __future__ import annotations

import zlib

from newscrawl.core.errors import BodyTooLarge, ParseError

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 65536


def is_gzip(body: bytes) -> bool:
    return body[:2] == GZIP_MAGIC


def gunzip_capped(body: bytes, url: str | None, max_bytes: int) -> bytes:
    """``body`` inflated when it is gzip (else as it is); BodyTooLarge past ``max_bytes``."""
    if not is_gzip(body):
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16+: gzip framing
    out = bytearray()
    try:
        for start in range(0, len(body), _CHUNK):
            data = body[start : start + _CHUNK]
            while data:
                out += inflater.decompress(data, max_bytes + 1 - len(out))
                if len(out) > max_bytes:
                    raise BodyTooLarge(f"gzipped body exceeds {max_bytes} bytes after decompression", url=url)
                data = inflater.unconsumed_tail
            if inflater.eof:
                break
    except zlib.error as exc:
        raise ParseError(f"corrupt gzip body: {exc}", url=url) from exc
    if not inflater.eof:
        raise ParseError("truncated gzip body", url=url)
    return bytes(out)
