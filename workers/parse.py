"""Parsing: HTML once into a tree, classification, structured data, and links from listings.

A page is parsed once; the tree, its meta tags and its JSON-LD objects are handed on to
extraction and discovery in an :class:`HtmlPage`.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from newscrawl.core.errors import ParseError
from newscrawl.core.urls import join_url

HtmlKind = Literal["article", "listing"]

ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
        "backgroundnewsarticle",
        "blogposting",
        "socialmediaposting",
        "liveblogposting",
        "report",
        "scholarlyarticle",
        "techarticle",
        "advertisercontentarticle",
        "satiricalarticle",
    }
)

# A DOCTYPE may carry an internal subset in brackets, with ">" inside it.
_XML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>\s*)?(?:<!--.*?-->\s*)*<([\w:]+)",
    re.S,
)
# C0 controls other than tab and line breaks: libxml2 refuses a document holding them.
_CONTROL_BYTES = bytes([*range(9), 11, 12, *range(14, 32)])


@dataclass
class HtmlPage:
    url: str
    tree: Any  # lxml.html.HtmlElement
    base_url: str
    meta: dict[str, list[str]] = field(default_factory=dict)
    jsonld: list[dict[str, Any]] = field(default_factory=list)
    canonical: str | None = None
    lang: str | None = None

    def first_meta(self, *names: str) -> str | None:
        for name in names:
            for value in self.meta.get(name, ()):
                if value.strip():
                    return value.strip()
        return None

    def article_object(self) -> dict[str, Any] | None:
        for obj in self.jsonld:
            if jsonld_types(obj) & ARTICLE_TYPES:
                return obj
        return None


def jsonld_types(obj: dict[str, Any]) -> set[str]:
    """A JSON-LD object's ``@type`` names, lowercased."""
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.lower() for k in kinds if isinstance(k, str)}


def sniff_xml_root(body: bytes) -> str | None:
    """The root element name of an XML body, or None when it does not look like XML."""
    match = _XML_START.match(body[:2048].lstrip(b"\xef\xbb\xbf"))
    return match.group(1).decode("ascii", "replace").lower() if match else None


def classify_body(body: bytes, content_type: str) -> Literal["feed", "sitemap", "html", "other"]:
    root = sniff_xml_root(body)
    if root in ("rss", "feed", "rdf:rdf"):
        return "feed"
    if root in ("urlset", "sitemapindex"):
        return "sitemap"
    if root == "html" or "html" in content_type or b"<html" in body[:4096].lower():
        return "html"
    if content_type.endswith(("rss+xml", "atom+xml")):
        return "feed"
    return "other"


# Comments go at parse time: a comment inside a paragraph makes trafilatura drop the text after it
# (measured: half of one scrapinghub-aeb article), and nothing downstream reads comments.
# The text is handed over as UTF-8 bytes with the encoding named: libxml2 reads them faster than a
# str, and deleting control bytes is a C loop where a regex over the str cost half a parse.
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False, encoding="utf-8")
_DEEP_PARSER = etree.HTMLParser(
    remove_comments=True, remove_pis=True, collect_ids=False, huge_tree=True, encoding="utf-8"
)
# Every element an lxml.html HtmlElement, chosen in C: lxml.html's own lookup calls a Python
# method for each element Python touches (a tenth of the extraction's CPU, measured).
for _parser in (_PARSER, _DEEP_PARSER):
    _parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=lxml.html.HtmlElement,
            comment=lxml.html.HtmlComment,
            pi=lxml.html.HtmlProcessingInstruction,
            entity=lxml.html.HtmlEntity,
        )
    )


# A nesting bomb opens the same tag thousands of times; no page nests the very same opening tag
# 32 times on purpose, so such a run becomes one tag (only for pages past the depth limit).
_NESTING_BOMB = re.compile(rb"(<([a-z][a-z0-9]{0,9})\b[^<>]{0,200}>\s*)\1{31,}", re.IGNORECASE)


def _parse_too_deep(data: bytes) -> Any:
    """Past libxml2's depth limit everything after is dropped: collapse runs of the same opening
    tag, then parse without the limit (the body is already capped in bytes)."""
    return lxml.html.document_fromstring(_NESTING_BOMB.sub(rb"\1", data), parser=_DEEP_PARSER)


def new_document() -> Any:
    """An empty ``<html>`` element whose descendants are classed like a parsed page's (in C): a
    subtree moved into it is then walked without a Python call per element."""
    return _PARSER.makeelement("html")


def parse_html(text: str, url: str) -> HtmlPage:
    """Parse once; collect meta tags, JSON-LD, canonical link and language."""
    data = text.encode("utf-8", "replace").translate(None, _CONTROL_BYTES)
    if not data.strip():
        raise ParseError("empty HTML document", url=url)
    try:
        tree = lxml.html.document_fromstring(data, parser=_PARSER)
        if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in _PARSER.error_log):
            tree = _parse_too_deep(data)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"unparseable HTML: {exc}", url=url) from exc
    base = url
    for href in tree.xpath("//head/base/@href")[:1]:
        with contextlib.suppress(ValueError):  # a malformed <base href>: the page's own URL stands
            base = urljoin(url, str(href).strip())
    page = HtmlPage(url=url, tree=tree, base_url=base)
    _collect_meta(page)
    _collect_jsonld(page)
    return page


def _collect_meta(page: HtmlPage) -> None:
    for el in page.tree.iter("meta"):
        key = el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv")
        content = el.get("content")
        if key and content is not None:
            page.meta.setdefault(key.strip().lower(), []).append(content)
    for el in page.tree.iter("link"):
        rel = (el.get("rel") or "").lower().split()
        if "canonical" in rel and el.get("href") and page.canonical is None:
            try:
                page.canonical = join_url(page.base_url, el.get("href").strip())
            except ValueError:  # "http://[oops/": no canonical, the page's own URL stands
                continue
    html_lang = page.tree.get("lang") or page.tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    page.lang = html_lang.strip() if html_lang else None


# Structured data nests a few levels (a @graph, a mainEntity); deeper is not worth reading.
_JSONLD_MAX_DEPTH = 16


def _flatten(obj: Any, out: list[dict[str, Any]], depth: int = 0) -> None:
    if depth > _JSONLD_MAX_DEPTH:
        return
    if isinstance(obj, list):
        for item in obj:
            _flatten(item, out, depth + 1)
    elif isinstance(obj, dict):
        out.append(obj)
        if "@graph" in obj:
            _flatten(obj["@graph"], out, depth + 1)
        main = obj.get("mainEntity")
        if isinstance(main, dict | list):
            _flatten(main, out, depth + 1)


_JSONLD_SCRIPTS = etree.XPath(
    '/descendant::script[@type][contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]'
)


def _collect_jsonld(page: HtmlPage) -> None:
    for script in _JSONLD_SCRIPTS(page.tree):
        raw = (script.text or "").strip()
        if not raw:
            continue
        raw = raw.removeprefix("<!--").removesuffix("-->").strip()
        raw = raw.removeprefix("//<![CDATA[").removesuffix("//]]>").strip()
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue  # broken (or absurdly nested) structured data is common; the DOM still speaks
        _flatten(data, page.jsonld)


_HUB_TYPES = frozenset({"collectionpage", "itemlist", "website", "searchresultspage", "profilepage"})


def classify_html(page: HtmlPage, leased_as: str) -> HtmlKind:
    """Article or listing.

    A seed listing stays a listing. A URL that a feed, sitemap or listing announced as an article
    stays one unless the page declares itself a hub (og:type website, a CollectionPage) and has
    no article markup; pages found otherwise are judged on markup and running text.
    """
    if leased_as == "listing":
        return "listing"
    if page.article_object() is not None:
        return "article"
    og_type = (page.first_meta("og:type") or "").lower()
    if og_type == "article" or page.first_meta("article:published_time"):
        return "article"
    declared_hub = og_type in ("website", "section") or any(jsonld_types(o) & _HUB_TYPES for o in page.jsonld)
    if leased_as == "article":
        # Many article pages call themselves "website"; a hub is also mostly links.
        return "listing" if declared_hub and _page_linked_word_share(page) > 0.5 else "article"
    paragraphs = page.tree.xpath("//p")
    text_len = sum(len(p.text_content()) for p in paragraphs[:300])
    links = int(page.tree.xpath("count(/descendant::a[@href])"))
    return "article" if text_len > 1500 and links < text_len / 40 else "listing"


def _page_linked_word_share(page: HtmlPage) -> float:
    """Share of the whole page body's words that sit inside links (a hub page is mostly links)."""
    body = page.tree.find("body")
    if body is None:
        return 0.0
    total = len(" ".join(body.itertext()).split())
    linked = sum(len(a.text_content().split()) for a in body.iter("a"))
    return linked / total if total else 1.0
