"""The shapes of a host's article URLs, learned from its feeds and news sitemaps.

The URL rule (``discovery.looks_like_article``) misses stories whose addresses carry no date, no
long number and a short slug (``/story/best-rain-jackets``) or an opaque id
(``/news/articles/clymn8zyrp9o``). A feed or a news sitemap lists stories by definition: the
shape of their addresses (each path segment a literal word or a class: ``<n>`` digits, ``<id>``
letters and digits, ``<slug>`` three words or more, ``<slug#>`` one with a long number in it)
seen on ``MIN_EVIDENCE`` different stories of a host makes a link of that shape on the host's
listing pages a story too, so it is fetched before the feed names it, or when the feed never
does. The evidence and the learned shapes are kept for every process
(``newscrawl/core/learned.py``), bounded in hosts and shapes.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from newscrawl.core.learned import LearnedFacts

# Different stories of one shape before links of that shape count as stories.
MIN_EVIDENCE = 3

Shape = tuple[str, ...]

_SUFFIX = re.compile(r"(\.[a-z]{2,5})$", re.IGNORECASE)
_WORDS = re.compile(r"[-_]+")
_LONG_NUMBER = re.compile(r"\d{4,}")
_ID = re.compile(r"^(?=.*[a-z])(?=.*\d)[a-z0-9]{6,}$", re.IGNORECASE)


def _segment(segment: str) -> str:
    """A path segment as a literal (lowercased) or the class of its variable part."""
    suffix_match = _SUFFIX.search(segment)
    suffix = suffix_match.group(1).lower() if suffix_match else ""
    stem = segment[: len(segment) - len(suffix)] if suffix else segment
    if stem.isdigit():
        return "<n>" + suffix
    if _ID.match(stem):
        return "<id>" + suffix
    words = [w for w in _WORDS.split(stem) if w]
    if len(words) >= 3:
        return ("<slug#>" if _LONG_NUMBER.search(stem) else "<slug>") + suffix
    return segment.lower()


def url_shape(url: str) -> tuple[str, Shape] | None:
    """(host, shape) of an address, or None when it has nothing that varies from story to story
    (a fixed page: a section, the home page) or no path. Of the query, only parameters whose
    value varies count (``story?id=105867721``): a fixed one (``?cmpid=rss``) is a feed's tag."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        return None
    shape = tuple(_segment(s) for s in segments)
    params = sorted(
        f"{key}={kind}" for key, value in parse_qsl(parts.query) if (kind := _segment(value)).startswith("<")
    )
    if not params and not any(c.startswith("<") for c in shape):
        return None
    if params:
        shape += ("?" + "&".join(params),)
    if parts.path.endswith("/"):
        shape += ("/",)
    return parts.netloc.lower(), shape


def shape_key(shape: Shape) -> str:
    """A shape as one string (a learned fact, ``newscrawl/core/learned.py``)."""
    return "\x1e".join(shape)  # in no segment: a path's segments are split on "/"


class ArticleShapes:
    """Per host, the shapes its feeds and news sitemaps show stories in (the module docstring).
    The evidence and the learned shapes are every process's (``facts``)."""

    def __init__(self, facts: LearnedFacts | None = None) -> None:
        self._facts = facts if facts is not None else LearnedFacts()

    def observe(self, url: str) -> None:
        """``url`` is a story (a feed or a news sitemap lists it)."""
        found = url_shape(url)
        if found is None:
            return
        host, shape = found
        self._facts.witness(host, "shape", shape_key(shape), url, MIN_EVIDENCE)

    def is_article(self, url: str) -> bool:
        """Whether ``url`` has a shape its host's stories were seen in."""
        found = url_shape(url)
        if found is None:
            return False
        host, shape = found
        return self._facts.knows(host, "shape", shape_key(shape))
