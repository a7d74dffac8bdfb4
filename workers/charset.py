"""Decoding bodies whose charset is declared wrongly, or not at all."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes
from w3lib.encoding import html_to_unicode

from newscrawl.core.errors import UnsupportedContent

_SNIFF_BYTES = 4096
# C0 controls other than tab, newline, vertical tab, form feed and carriage return.
_CONTROLS = bytes([*range(9), *range(14, 32)])


def looks_binary(body: bytes) -> bool:
    """Text formats newscrawl reads never hold NUL bytes or many C0 controls near the start."""
    head = body[:_SNIFF_BYTES]
    if not head:
        return False
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROLS))
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
    if not body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not body.isascii():
        try:
            return body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_detect)
    return text, encoding
