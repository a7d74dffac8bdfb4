"""Decoding bodies whose charset is declared wrongly, or not at all."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes
from w3lib.encoding import html_to_unicode

from newscrawl.errors import UnsupportedContent

_SNIFF_BYTES = 4096


def looks_binary(body: bytes) -> bool:
    """Text formats newscrawl reads never hold NUL bytes or many C0 controls near the start."""
    head = body[:_SNIFF_BYTES]
    if not head:
        return False
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls / len(head) > 0.05


def _detect(body: bytes) -> str | None:
    best = from_bytes(body[:65536]).best()
    return best.encoding if best is not None else None


def decode_body(body: bytes, content_type: str | None, url: str) -> tuple[str, str]:
    """Text and encoding of ``body``.

    Order: BOM, a valid UTF-8 body (a declared single-byte charset on a UTF-8 page is a common
    server mistake), the HTTP header, a meta or XML declaration, then statistical detection.
    """
    if looks_binary(body):
        raise UnsupportedContent("binary body where text was announced", url=url)
    if not body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and any(b > 127 for b in body[:65536]):
        try:
            return body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_detect)
    return text, encoding
