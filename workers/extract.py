"""Article extraction: structured data first (JSON-LD, OpenGraph, meta), the DOM for the rest.

Body text comes from trafilatura run on the already parsed tree; dates fall back to htmldate.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import html
import itertools
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from dateutil import parser as dateparser
from htmldate import find_date
from lxml import etree
from trafilatura.settings import Extractor
from trafilatura.xpaths import BODY_XPATH

from newscrawl.core.errors import ExtractionError, InvalidURL
from newscrawl.core.urls import normalize_url, registered_domain
from workers.language import decide_language
from workers.localtime import page_zone
from workers.parse import HtmlPage, jsonld_types, new_document

_WS = re.compile(r"\s+")


# Headings of blocks that point at other stories: related articles, "read more", most read
# (regular expressions, matched against the whole heading, case aside).
_RELATED_HEADINGS = (
    r"related(?: articles| stories| content| news| posts| coverage)?",
    r"more (?:on|about|from|stories|news)\b.*",
    r"read (?:more|also|next)",
    r"see also",
    r"you (?:may|might) (?:also )?like",
    r"recommended(?: for you)?",
    r"most (?:read|popular|viewed)",
    r"top stories",
    r"trending",
    r"mehr zum thema",
    r"mehr (?:aus|zu|von)\b.*",
    r"das könnte sie auch interessieren",
    r"lesen sie (?:auch|mehr)",
    r"auch interessant",
    r"weitere artikel",
    r"meistgelesen",
    r"à lire aussi",
    r"a lire aussi",
    r"lire aussi",
    r"sur le même sujet",
    r"leer más",
    r"lea también",
    r"te puede interesar",
    r"noticias relacionadas",
    r"relacionad[oa]s",
    r"leggi anche",
    r"potrebbe interessarti",
    r"articoli correlati",
    r"lees ook",
    r"meer over dit onderwerp",
    r"gerelateerd",
    r"läs också",
    r"les også",
    r"læs også",
    r"czytaj (?:też|także)",
    r"zobacz (?:też|także)",
    r"читайте также",
    r"по теме",
    r"관련 기사",
    r"関連記事",
    r"相关阅读",
)
# Class or id tokens of blocks that carry other stories (regular expressions). Whole tokens, by
# prefix: a substring match would also hit wrappers such as "entry-content-read-more" that hold
# the article itself. Not here: trafilatura's own discards ("outbrain", "taboola", "-stories"),
# which changed no page of the four corpora when listed here too (session 37).
_RELATED_TOKEN_PREFIXES = (
    "related",
    "recommend",
    "morestories",
    "also-read",
    "read-next",
    "readnext",
    "teaser-list",
    "most-read",
    "mostread",
    "latest-news",
    "newsletter",
    "subscribe(?!r)",  # "subscriber-only", "subscriber-preview": the article's paywalled text
    "signup",
    "sign-up",
    "factbox",
    "fact-box",
    "infobox",
    "info-box",
)


@dataclass(frozen=True)
class ExtractionRules:
    """The extractor's choices a corpus could tune: each rule can be switched off and each
    threshold moved, so that ``bench/extraction.py`` can choose them on training folds and score
    them on held-out publishers (README "Extraction quality"). The defaults are what runs."""

    # Body: what goes before trafilatura sees the page.
    strip_hidden: bool = True
    strip_related_classes: bool = True
    strip_related_headings: bool = True
    strip_teaser_lists: bool = True
    # A paragraph that is all one link to another page of the outlet is a teaser set in the story.
    strip_pointer_paragraphs: bool = True
    # A teaser list links to the outlet's own stories; a list of links elsewhere (shops, sources,
    # documents) is part of what the article says.
    teasers_link_home: bool = True
    # A related section ends where a wider block adds more than this factor of text.
    related_wrapper_growth: float = 1.5
    # The contents of those two rules, entry by entry, so that the cross-validation can drop each
    # one (bench/extraction.py --cv --lists).
    related_headings: tuple[str, ...] = _RELATED_HEADINGS
    related_class_tokens: tuple[str, ...] = _RELATED_TOKEN_PREFIXES
    # Body: lines dropped after extraction (referrals, picture credits, bare URLs, the headline).
    drop_referral_lines: bool = True
    # Body: trafilatura reads only the article's container (itemprop=articleBody, <article>) when
    # one holds this share of the page's paragraph text; the whole page otherwise.
    localise: bool = True
    localise_min_share: float = 0.5
    # Where no container holds that share, the page's main landmark (<main>, role=main) when it does.
    localise_landmarks: bool = True
    # Where neither does, the block trafilatura's own content queries name (class or id
    # "entry-content", "post-body", ...) when it does; and inside a container, the block they name
    # in it when that holds the share of the container's: what trafilatura would read anyway,
    # handed to it alone (a CPU rule: no field of the benchmarks' 762 pages changes).
    localise_named: bool = True
    # Of nested containers holding the same paragraphs, the innermost (an endless scroll's wrapper
    # holds the story and lists of the next ones).
    innermost_container: bool = True
    # A page that holds several headlined articles (an endless scroll appends the next stories):
    # the story is the one under the page's own headline.
    story_in_stream: bool = True
    # Body: trafilatura's slower comparison when the fast pass looks wrong.
    second_opinion: bool = True
    menu_line_chars: float = 50.0
    second_opinion_paragraph_share: float = 0.35
    # A longer second opinion replaces a fast pass of prose (an article's length) only when it
    # tells the same text (holds most of it); otherwise it found another block: a cookie notice,
    # a pitch, comments.
    second_opinion_same_text: bool = True
    # No second opinion where the publisher's structured text (JSON-LD articleBody) and the fast
    # pass tell the same story: the comparison could only disagree with the publisher (it changed
    # none of the four corpora's three such pages; it costs as much as trafilatura's whole pass).
    structured_body_vouches: bool = True
    script_body: bool = True
    # An article split into chunks (ads between its parts: several blocks of one tag and class) is
    # read as one block: an extractor that takes the first block of a content class reads it all.
    join_body_chunks: bool = True
    # Tables: data in an article (results, figures) or page furniture laid out in a grid.
    # Every table read as a table (on), or only those shaped as data: a grid of two rows or more
    # of two cells or more, no table inside; the rest are layout, and their cells read as blocks of
    # text (data_tables). With both off, trafilatura drops every table and what it holds.
    include_tables: bool = False
    data_tables: bool = True
    # Embedded posts (tweets, Instagram posts) quoted in the story are read, widget boxes or not.
    embedded_posts: bool = True
    # Authors.
    byline_elements: bool = True
    outlet_is_not_author: bool = True
    split_joined_names: bool = True
    # Byline elements: only the first byline block (off: the first dozen anywhere on the page).
    first_byline_block: bool = True
    # A byline inside the comments names a commenter.
    skip_comment_bylines: bool = True
    # Byline components named in generated class names ("AuthorLink-sc-…"), read for people.
    component_bylines: bool = True
    # Byline elements that link: the links' texts are the names (not those of links to a tag's page).
    byline_link_names: bool = True
    # JSON-LD authors given as references to other nodes of the page's graph are resolved.
    resolve_ld_references: bool = True
    # Labelled meta pairs (twitter:labelN "Written by" + twitter:dataN, as SEO plugins write them).
    labelled_meta_bylines: bool = True
    # Labelled bylines in the page's text ("<strong>Autor</strong> Jane Doe", <dt>/<dd> pairs).
    labelled_text_bylines: bool = True
    # Names without what qualifies them: "Jane Doe, NBA.com" and "View all posts by Jane Doe" are
    # Jane Doe; a job title beside a person ("Money Reporter") is nobody.
    names_without_qualifiers: bool = True
    # A short line after the headline that ends "by Jane Doe" ("Photos and Story By Jane Doe").
    text_bylines: bool = True
    # The last resort: the first links to author pages ("/author/jane-doe/") that read as names.
    author_page_links: bool = True
    # The page's byline shows the structured authors and more people ("By A and B, CNN" beside a
    # JSON-LD naming A): the byline's people.
    byline_extends_structured: bool = True
    # Structured authors that the text under the headline credits for something else ("Photography
    # by B" beside a JSON-LD naming A and B) are not authors.
    other_credits: bool = True
    # An author page linked from a line of prose (a picture's caption ending "By Jane Doe", a
    # sentence) is not the byline: the last resort takes links that stand on a short line.
    author_links_on_short_lines: bool = True
    # A first <time> element dated more than a day off the date in the page's address belongs
    # to a list of other stories (a sidebar of the latest): the address dates the story.
    address_date_checks_time: bool = True
    # Title: the shorter of the JSON-LD headline and og:title (off: the JSON-LD headline).
    shorter_headline: bool = True
    # Published time: the printed time beside a date-only stamp.
    shown_time: bool = True
    # Times without an offset are the page's local time when its country keeps one clock (else UTC).
    local_time_zone: bool = True


DEFAULT_RULES = ExtractionRules()
_PERSON_NOISE = re.compile(r"^(?:by|von|par|di|de|por|door|av|af)\s+", re.I)
# Zone abbreviations seen in news markup; dateutil knows none of them by itself.
_TZ_ABBREVIATIONS = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "BST": 3600,
    "IST": 19800,
    "CET": 3600,
    "MEZ": 3600,
    "CEST": 7200,
    "MESZ": 7200,
    "EET": 7200,
    "EEST": 10800,
    "MSK": 10800,
    "EST": -18000,
    "EDT": -14400,
    "CST": -21600,
    "CDT": -18000,
    "MST": -25200,
    "MDT": -21600,
    "PST": -28800,
    "PDT": -25200,
    "JST": 32400,
    "KST": 32400,
    "AEST": 36000,
    "AEDT": 39600,
}
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|\||\band\b|\bund\b|\bet\b|\by\b|\be\b|\bog\b|\boch\b|\ben\b|&)\s*")
# "Jane Doe (jd)": newsroom initials after a name.
# A separator left at either end of a name ("Jane Doe —", "| Jane Doe").
_DANGLING = re.compile(r"^[\s\-–—|:,;·•/]+|[\s\-–—|:,;·•/]+$")
_INITIALS_SUFFIX = re.compile(r"\s*\([a-zà-ÿ]{1,5}\.?\)$")
# A role written after a name in Korean, Japanese and Chinese bylines ("신현주 기자": reporter Shin).
_ROLE_SUFFIX = re.compile(r"\s*(?:기자|특파원|논설위원|記者|特派員|编辑|編集委員)$")
# JSON-LD types of authors that are not people.
_ORGANIZATION_TYPES = frozenset(
    {"organization", "newsmediaorganization", "corporation", "newsagency", "mediaorganization"}
)


@functools.cache
def _related_heading(phrases: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"^(?:" + "|".join(phrases or ["(?!)"]) + r")\s*[:.…]*$", re.IGNORECASE)


@functools.cache
def _related_class(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    """A class or id token that starts with one of the prefixes."""
    tokens = [p.replace("-", "[-_]") for p in prefixes] or ["(?!)"]
    return re.compile(r"(?:^|\s)(?:" + "|".join(tokens) + ")", re.IGNORECASE)


# Body lines that point elsewhere ("Read more: <headline>") or credit a picture ("Photo: AFP").
_REFERRAL_LINE = re.compile(
    r"^(?:read (?:more|also|next)|also read|see (?:also|more)|related|more on this"
    r"|lesen sie (?:auch|mehr)|mehr zum thema|auch interessant|les også|læs også|läs också|lue myös"
    r"|à lire aussi|a lire aussi|lire aussi|leer más"
    r"|lea también|leggi anche|lees ook|czytaj (?:też|także)|zobacz (?:też|także)|читайте также)\s*[:：]",
    re.IGNORECASE,
)
_CREDIT_LINE = re.compile(
    r"^(?:photo|foto|bild|image|picture|credit|quelle|source)s?\s*[:：].{0,60}$", re.IGNORECASE
)


_BARE_URL_LINE = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)


def drop_referral_lines(body: str, headlines: Iterable[str] = ()) -> str:
    """Drop lines that are not prose: referrals, picture credits, bare URLs, a repeated headline
    (in any of the versions the page gives)."""
    repeated = {_WS.sub(" ", h).strip() for h in headlines}
    kept = []
    for line in body.split("\n"):
        text = line.strip()
        if _REFERRAL_LINE.match(text) or _CREDIT_LINE.match(text) or _BARE_URL_LINE.match(text):
            continue
        if _WS.sub(" ", text) in repeated:
            continue
        kept.append(line)
    return "\n".join(_without_closing_credits(kept))


# A story's closing credit for the reporting: who contributed, who edited (wire style).
_REPORTING_CREDIT = re.compile(
    r"contributed (?:reporting|to this (?:report|story|article))|^(?:with )?(?:additional )?reporting by\b",
    re.IGNORECASE,
)


def _without_closing_credits(lines: list[str]) -> list[str]:
    """The lines without the credits for the reporting that close them (up to three): a byline's
    business, not the story's."""
    end = len(lines)
    for _ in range(3):
        last = end
        while last and not lines[last - 1].strip():
            last -= 1
        credit = lines[last - 1] if last > 1 else ""
        if not (len(credit.split()) <= 40 and _REPORTING_CREDIT.search(credit)):
            break
        end = last - 1
    return lines[:end]


# Class tokens of inline pop-ups (a hover card about a person, a tooltip) and of text meant only
# for screen readers: invisible on the page, so not part of the story.
# The card, not its trigger: "rollover-people-block" goes, the linked name "rollover-people-link" stays.
_HIDDEN_CLASS = re.compile(
    r"(?:^|\s)(?:(?:rollover|tooltip|popover|hovercard)[-\w]*?(?:block|card|content|text|body|popup|panel)"
    r"|sr[-_]only|visually[-_]hidden|screen[-_]reader[-_]text)(?:\s|$)",
    re.IGNORECASE,
)
# Text a paywall hides until the reader subscribes is the article's all the same.
_PAYWALLED_CLASS = re.compile(r"subscriber|premium|paywall", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


# Elements a rule could match, found by libxml2 in C; the rules decide in Python, in one pass.
# The XPaths below name one axis step ("descendant::") rather than "//": libxml2 expands "//" into
# a set of every node before it filters, and each branch of a union walks the tree again (the
# byline query cost 2.9 ms a page as a union, 1.0 ms as one step; same elements, same order).
_MARKED = etree.XPath("descendant::*[@class or @id or @style or @hidden]")


def strip_boilerplate(
    tree: Any, rules: ExtractionRules = DEFAULT_RULES, home: frozenset[str] = frozenset()
) -> int:
    """Remove what is not the story; returns how many blocks went.

    First what a reader never sees (hidden elements, pop-up cards, screen-reader-only text), then
    blocks that carry other stories (see :func:`_related_blocks`). ``home`` holds the
    outlet's registered domains, where known: where the stories a teaser list links to live.
    """
    body = tree.find("body")
    if body is None:
        return 0
    hidden: list[Any] = []
    related: list[Any] = []
    related_class = _related_class(rules.related_class_tokens)
    for el in _MARKED(body):
        classes = el.get("class", "")
        if (
            rules.strip_hidden
            and (
                el.get("hidden") is not None
                or _HIDDEN_STYLE.search(el.get("style", ""))
                or _HIDDEN_CLASS.search(classes)
            )
            and not _PAYWALLED_CLASS.search(classes)
        ):
            hidden.append(el)
        elif rules.strip_related_classes and related_class.search(f"{classes} {el.get('id', '')}"):
            related.append(el)
    removed = _drop(hidden) + _drop(_related_blocks(body, rules, home) + related)
    if rules.data_tables and not rules.include_tables:
        _unwrap_layout_tables(body)
    if rules.embedded_posts:
        _unwrap_embedded_posts(body)
    return removed


_EMBEDDED_POST = etree.XPath(
    "descendant::blockquote[contains(concat(' ', normalize-space(@class), ' '), ' twitter-tweet ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' instagram-media ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' tiktok-embed ')]"
)


# The class and id tokens of the boxes publishers put around an embedded post; trafilatura
# discards a block whose class or id holds "social", "widget" or "embed".
_EMBED_WRAPPER = re.compile(r"social|widget|embed|tweet|twitter|instagram|tiktok", re.IGNORECASE)


def _among_paragraphs(el: Any) -> bool:
    """Whether ``el`` sits between paragraphs of text, as a quote in a story does (a post in a
    block of its own may be the only thing that keeps trafilatura from reading another block)."""

    def is_paragraph(sibling: Any) -> bool:
        return bool(sibling.tag == "p" and sibling.text_content().strip())

    return any(map(is_paragraph, el.itersiblings(preceding=True))) and any(
        map(is_paragraph, el.itersiblings())
    )


def _unwrap_embedded_posts(root: Any) -> None:
    """An embedded post (a tweet quoted in the story) in the place of the widget boxes around
    it: trafilatura drops boxes named "social" or "widget", and the quote with them."""
    for quote in _EMBEDDED_POST(root):
        outer = quote
        for wrapper in quote.iterancestors():
            if (
                wrapper.tag in _KEEP_TAGS
                or _is_main_content(wrapper)
                or not _EMBED_WRAPPER.search(f"{wrapper.get('class', '')} {wrapper.get('id', '')}")
            ):
                break
            outer = wrapper
        parent = outer.getparent()
        if outer is quote or parent is None or not _among_paragraphs(outer):
            continue
        # The box's posts (this one and any beside it) in the box's place.
        posts = _EMBEDDED_POST(outer)
        at = parent.index(outer)
        for offset, post in enumerate(posts):
            post.tail = None
            parent.insert(at + offset, post)
        posts[-1].tail = outer.tail
        parent.remove(outer)


_TABLE_PARTS = ("thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup", "col")


def _unwrap_layout_tables(root: Any) -> None:
    """Turn tables that lay a page out (rather than hold data) into plain blocks, so that what
    their cells say is read like any other text: a story set in a layout table, a code sample in
    a one-cell table. Data tables stay tables, for trafilatura to read as such."""
    layout = [table for table in root.iter("table") if not _is_data_table(table)]
    # Each table's own rows and cells, found before any is renamed: a data table inside stays whole.
    parts = [
        [el for el in table.iter(*_TABLE_PARTS) if next(el.iterancestors("table"), None) is table]
        for table in layout
    ]
    for table, own in zip(layout, parts, strict=True):
        for el in (table, *own):
            el.tag = "div"


def _is_data_table(table: Any) -> bool:
    """A grid of data: two rows or more of two cells or more, no table inside."""
    if table.get("role") in ("presentation", "none") or table.find(".//table") is not None:
        return False
    rows = sum(1 for row in table.iter("tr") if sum(1 for cell in row if cell.tag in ("td", "th")) >= 2)
    return rows >= 2


def _drop(doomed: list[Any]) -> int:
    """Remove the elements (with their text, keeping what follows them); never the article itself."""
    removed = 0
    for el in doomed:
        if el.getparent() is None or el.tag in _KEEP_TAGS or _is_dropped(el) or _is_main_content(el):
            continue
        _keep_tail_as_paragraph(el)
        el.drop_tree()
        removed += 1
    return removed


def _keep_tail_as_paragraph(el: Any) -> None:
    """The run of text after ``el`` (its tail and the inline elements that follow, up to the next
    block) as a paragraph of its own: dropped, ``el`` would hand its tail to the element before it,
    where trafilatura does not read it, and split the run in two."""
    if not (el.tail and el.tail.strip()):
        return
    paragraph = el.makeelement("p", {})
    paragraph.text, el.tail = el.tail, None
    run = []
    for sibling in el.itersiblings():
        if not isinstance(sibling.tag, str) or sibling.tag not in _INLINE_TAGS:
            break
        run.append(sibling)
    el.addnext(paragraph)
    paragraph.extend(run)


_INLINE_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "br",
        "cite",
        "code",
        "data",
        "dfn",
        "em",
        "font",
        "i",
        "kbd",
        "mark",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "time",
        "u",
        "var",
        "wbr",
    ]
)


_KEEP_TAGS = frozenset({"html", "body", "article", "main"})


def _related_blocks(body: Any, rules: ExtractionRules, home: frozenset[str] = frozenset()) -> list[Any]:
    """Blocks that carry other stories: a section headed "Related articles", a teaser list.

    Such blocks hold other articles' headlines and often their text; left in, they would make
    a republication look like a different story. A block holding the page's headline is never
    removed: it is the article, whatever its markup says.
    """
    doomed: list[Any] = []
    related_heading = _related_heading(rules.related_headings)
    headings = body.iter("h2", "h3", "h4", "h5", "h6", "p") if rules.strip_related_headings else ()
    for heading in headings:
        raw = heading.text_content()
        if len(raw) > 400:  # no heading's length, however it is spaced: no need to tidy it
            continue
        text = " ".join(raw.split())
        if not text or len(text) > 80 or not related_heading.match(text):
            continue
        if heading.tag == "p":
            # A paragraph serves as the heading of the links to other stories right after it.
            links = _linked_run(heading)
            if links:
                doomed += [heading, *links]
            continue
        container, size = heading, len(text)
        parent = heading.getparent()
        while parent is not None and parent.tag not in _KEEP_TAGS:
            leading = _WS.sub(" ", parent.text_content()).strip()
            if not leading.startswith(text):
                break
            # The section is the smallest block that holds the heading and what it introduces;
            # past it only wrappers that add little: a much wider block is the page around it.
            if size > len(text) and len(leading) > rules.related_wrapper_growth * size:
                break
            container, parent, size = parent, parent.getparent(), len(leading)
        doomed.append(container)
        if container is heading:
            # The heading sits in the article itself: what follows goes only if it is link lists.
            doomed.extend(
                s for s in heading.itersiblings() if s.tag in _LIST_TAGS and _linked_word_share(s) > 0.5
            )
    if rules.strip_teaser_lists:
        known = home if rules.teasers_link_home else frozenset()
        doomed.extend(el for el in _LINK_LISTS(body) if _is_teaser_list(el, known))
    if rules.strip_pointer_paragraphs:
        doomed.extend(p for p in _ONE_LINK_PARAGRAPHS(body) if _points_home(p, home))
    return doomed


def _points_home(paragraph: Any, home: frozenset[str]) -> bool:
    """A paragraph that is one link, of a headline's words or more, to another page of the
    outlet: a teaser set in the story ("WATCH: ...", another story's headline, "Subscribe to our
    channel"), not what the story says."""
    links = paragraph.findall(".//a")
    if len(links) != 1:
        return False
    text = _WS.sub(" ", paragraph.text_content()).strip()
    return (
        len(text.split()) >= 4
        and _WS.sub(" ", links[0].text_content()).strip() == text
        and _links_home(links[0].get("href", ""), home)
    )


_LIST_TAGS = frozenset({"ul", "ol", "div", "section", "aside", "nav"})
_ONE_LINK_PARAGRAPHS = etree.XPath(".//p[count(.//a) = 1]")


def _linked_run(el: Any) -> list[Any]:
    """The paragraphs and lists right after ``el`` that are mostly links (empty boxes between
    them, an advert's slot, do not end the run)."""
    run = []
    for sibling in el.itersiblings():
        if not _WS.sub("", sibling.text_content()):
            continue
        if (sibling.tag not in _LIST_TAGS and sibling.tag != "p") or _linked_word_share(sibling) <= 0.5:
            break
        run.append(sibling)
    return run


# Lists of three or more items, every one of which holds a link.
_LINK_LISTS = etree.XPath(
    ".//ul[count(li) >= 3 and not(li[not(.//a)])] | .//ol[count(li) >= 3 and not(li[not(.//a)])]"
)


def _is_teaser_list(el: Any, home: frozenset[str]) -> bool:
    """A list whose every item is mostly link text: headlines of other stories, which are the
    outlet's own (on a ``home`` domain, where known) at least half of the time."""
    if not all(_linked_word_share(li) > 0.7 for li in el.iterchildren("li")):
        return False
    if not home:
        return True
    hrefs = [a.get("href", "") for a in el.iter("a")]
    staying = sum(1 for href in hrefs if _links_home(href, home))
    return 2 * staying >= len(hrefs)


# An absolute or protocol-relative link ("https://host/", "//host/"): its host, without user or port.
_ABSOLUTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//(?:[^/?#@]*@)?([^/?#:]*)", re.IGNORECASE)


def _links_home(href: str, home: frozenset[str]) -> bool:
    """Whether a link stays on the site: relative links do, absolute ones to the same domain."""
    absolute = _ABSOLUTE.match(href.strip())
    if absolute is None:
        return True
    host = absolute[1].casefold()
    # The host or a subdomain of a registered domain: no suffix list needed per link.
    return any(host == site or host.endswith(f".{site}") for site in home)


def _site_of(url: str) -> str | None:
    """The registered domain of the URL's host (the host itself for an address)."""
    try:
        return registered_domain(urlsplit(url).hostname or "") or None
    except ValueError:  # a malformed address (an unclosed IPv6 bracket): no site to match
        return None


def _linked_word_share(el: Any) -> float:
    """Share of the element's words that sit inside links."""
    words = len(el.text_content().split())
    linked = sum(len(a.text_content().split()) for a in el.iter("a"))
    return linked / words if words else 1.0


def _is_main_content(el: Any) -> bool:
    return el.tag == "h1" or el.find(".//h1") is not None


def _is_dropped(el: Any) -> bool:
    # An element whose ancestor was dropped already is detached from the document root.
    return el.getroottree().getroot() is el or el.getroottree().getroot().tag != "html"


@dataclass
class Article:
    url: str
    canonical_url: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    modified_at: datetime | None = None
    language: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    body: str = ""
    image_url: str | None = None
    paywalled: bool = False
    site_name: str | None = None
    # A live blog (schema.org LiveBlogPosting): it grows for hours, so it is fetched again while
    # it runs; from ``coverage_start`` (its coverageStartTime, else its own datePublished, when
    # either gives a time of day) to ``coverage_end`` when the page says so.
    live: bool = False
    coverage_start: datetime | None = None
    coverage_end: datetime | None = None


# Invisible format characters (soft hyphen, zero-width space and joiners, word joiner, BOM): a
# reader never sees them, and inside a word they split it for the search engine's tokenizer.
# A character class, not str.translate: translating with a table looks up every character of a
# non-ASCII text in Python (0.6 ms for 12 KB of German); the pattern scans in C (0.04 ms).
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")


def visible_text(text: str) -> str:
    # ASCII has none of them, and most values are ASCII: skip the copy.
    return text if text.isascii() else _INVISIBLE.sub("", text)


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = _WS.sub(" ", visible_text(value)).strip()
    return text or None


def _parse_stamp(value: Any) -> datetime | None:
    """A datetime as written: aware when the text has an offset or a zone, naive otherwise; none
    for a date type's zero value, which a template writes for a date it was never given."""
    text = _clean(value)
    if not text:
        return None
    try:
        stamp: datetime | None = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            stamp = dateparser.parse(text, tzinfos=_TZ_ABBREVIATIONS)
        except (ValueError, OverflowError):
            return None
    return None if stamp is None or _zero_value(stamp) else stamp


# Go's and .NET's zero time is the year 1; SQL Server's and spreadsheets' is 1 January 1900;
# Unix time 0 is 1 January 1970, midnight UTC.
_ZERO_DAYS = ((1900, 1, 1), (1970, 1, 1))


def _zero_value(stamp: datetime) -> bool:
    if stamp.year == 1:
        return True
    midnight = stamp.time() == datetime.min.time() and stamp.utcoffset() in (None, timedelta(0))
    return midnight and (stamp.year, stamp.month, stamp.day) in _ZERO_DAYS


def parse_datetime(value: Any) -> datetime | None:
    """An aware datetime; a stamp without an offset is taken as UTC."""
    stamp = _parse_stamp(value)
    if stamp is None:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _names(value: Any, nodes: dict[str, dict[str, Any]] | None = None) -> tuple[list[str], list[str]]:
    """(people, organisations) named by a JSON-LD author value; a reference to a node of the
    page's graph (``{"@id": ...}``, as SEO plugins write it) is that node."""
    items = value if isinstance(value, list) else [value]
    people: list[str] = []
    orgs: list[str] = []
    for item in items:
        if isinstance(item, str):
            people.extend(_split_byline(item))
        elif isinstance(item, dict):
            if nodes and not item.get("name") and isinstance(item.get("@id"), str):
                item = nodes.get(item["@id"], item)
            value = item.get("name")
            names = [n for n in map(_clean, value if isinstance(value, list) else [value]) if n]
            kinds = item.get("@type")
            kinds = {k.lower() for k in (kinds if isinstance(kinds, list) else [kinds]) if isinstance(k, str)}
            (orgs if kinds & _ORGANIZATION_TYPES else people).extend(names)
    return people, orgs


def _split_byline(text: str) -> list[str]:
    text = _PERSON_NOISE.sub("", _clean(text) or "")
    if not text or text.startswith("http"):
        return []
    return [p for p in (_clean(x) for x in _AUTHOR_SPLIT.split(text)) if p and len(p) < 80]


_BYLINE_WORDS = frozenset({"by", "von", "par", "di", "de", "por", "door", "av", "af", "and", "und", "og"})
_CONJUNCTION = re.compile(r"\s+(?:and|und|og|och|et|y|e|en|&)\s+", re.IGNORECASE)


def _initials(name: str) -> bool:
    """A newsroom abbreviation ("amw", "red"): it names nobody a reader would know."""
    return len(name) <= 4 and name.isalpha() and name.islower()


# Degrees and suffixes written after a name ("Jane Doe, MD"): split off at the comma, they are
# nobody.
_CREDENTIALS = frozenset(
    {"ma", "ms", "msc", "mba", "mfa", "mph", "msn", "ba", "bs", "bsc", "md", "do", "phd", "drph"}
    | {"edd", "pharmd", "dds", "dvm", "jd", "llm", "esq", "rn", "np", "rd", "lcsw", "cfa", "cpa"}
    | {"facp", "rdn", "ld", "cdces", "cscs", "ibclc", "lpc", "lmft", "psyd", "msw", "dnp", "aprn"}
    | {"faap", "mbbs", "frcp", "jr", "sr", "ii", "iii", "iv"}
)
_CREDENTIAL_TOKEN = re.compile(r"[^\W\d_][\w.]*")


# Written as degrees are ("MS", "PhD"), unlike surnames that spell the same ("Do", "Ma").
_DEGREE_SPELLINGS = frozenset({"PhD", "PharmD", "EdD", "DrPH", "MSc", "BSc", "LLM"})


def _without_trailing_degrees(name: str) -> str:
    """ "Lauren Manaker MS RD" -> "Lauren Manaker": degrees written after a name without a comma."""
    tokens = name.split()
    while len(tokens) > 2:
        last = tokens[-1].rstrip(".,")
        written_as_degree = (last.isupper() and len(last) > 1) or last in _DEGREE_SPELLINGS
        if not (written_as_degree and last.replace(".", "").casefold() in _CREDENTIALS - _NAME_SUFFIXES):
            break
        tokens.pop()
    return " ".join(tokens)


_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})


def _only_credentials(name: str) -> bool:
    tokens = _CREDENTIAL_TOKEN.findall(name)
    return bool(tokens) and all(t.replace(".", "").casefold() in _CREDENTIALS for t in tokens)


# Words that make a byline part an organisation ("Associated Press", "Bleacher Report",
# "Redaktion") or a role ("Money Reporter", "Chief Technology Officer", "Sponsored").
_ORGANISATION_WORDS = frozenset(
    {"press", "news", "times", "post", "journal", "herald", "tribune", "gazette", "telegraph"}
    | {"report", "daily", "weekly", "media", "agency", "wire", "newsroom", "bureau", "desk"}
    | {"staff", "team", "redaktion", "rédaction", "redacción", "redazione", "redação", "redactie"}
    | {"agentur", "agence", "agencia", "zeitung", "nachrichten"}
)  # fmt: skip
_ROLE_WORDS = frozenset(
    {"reporter", "editor", "correspondent", "writer", "contributor", "contributing", "columnist"}
    | {"officer", "head", "director", "producer", "photographer", "analyst", "critic", "chief"}
    | {"senior", "manager", "president", "journalist", "redakteur", "redakteurin", "korrespondent"}
    | {"korrespondentin", "sponsored", "freelance", "intern", "anchor", "host", "of", "for"}
    | {"edited", "updated", "published"}
)  # fmt: skip
_DOMAIN_NAME = re.compile(r"[^\W\d_]\.[a-z]{2,}\b")
_ACRONYM_CHARS = 6
_QUALIFIER_SEPARATORS = re.compile(r"\s*[|,]\s*")
_GLUED_PUBLICATION = re.compile(r"^([^|,]*?\w)\s+(The\s+\S.*)$")
_POSTS_BY = re.compile(r"^\S.*?\bby\s+(?=\S)", re.IGNORECASE)


def _words(name: str) -> set[str]:
    return {t.casefold().strip(".,:()") for t in name.split()}


def _role(name: str) -> bool:
    """A job ("Money Reporter"), not somebody."""
    return bool(_words(name) & _ROLE_WORDS)


def _affiliation(name: str) -> bool:
    """An organisation, a role or a web address: what a byline adds to a person's name."""
    tokens = name.split()
    return (
        name.casefold().startswith("the ")
        or bool(_words(name) & _ORGANISATION_WORDS)
        or _role(name)
        or bool(_DOMAIN_NAME.search(name))
        or (len(tokens) == 1 and name.isupper() and len(name) <= _ACRONYM_CHARS)
        or _only_credentials(name)
    )


def _person_like(name: str) -> bool:
    """Two to five words, two of them capitalised, and no affiliation: a person's name."""
    tokens = name.split()
    return (
        2 <= len(tokens) <= 5
        and sum(t[:1].isupper() for t in tokens) >= 2
        and not any(ch.isdigit() for ch in name)
        and not _affiliation(name)
    )


def _people_apart(name: str) -> list[str]:
    """The people one string names: "Jane Doe, John Roe" is two; "Jane Doe, NBA.com" and "Jane
    Doe | The Jersey Journal" and "Jane Doe The Associated Press" are Jane Doe (the rest qualifies
    her); "Doe, Jane" stays whole."""
    glued = _GLUED_PUBLICATION.match(name)
    if glued and _person_like(glued[1]) and bool(_words(glued[2]) & _ORGANISATION_WORDS):
        return [glued[1]]  # "John Roe The Associated Press": a wire credit glued to the name
    parts = [p for p in _QUALIFIER_SEPARATORS.split(name) if p]
    if len(parts) > 1 and _person_like(parts[0]) and all(_person_like(p) or _affiliation(p) for p in parts):
        return [p for p in parts if _person_like(p)]
    return [name]


def _name_after_by(text: str) -> str:
    """ "View all posts by Jane Doe" -> "Jane Doe"; kept whole when what follows is no name."""
    name = _POSTS_BY.sub("", text)
    return name if name != text and _person_like(name) else text


def _without_roles(names: list[str]) -> list[str]:
    """A byline's names without its job titles, when it names a person at all. An organisation
    listed on its own ("Jane Doe", "AP") stays: it is an author too (fundus's guidelines)."""
    if any(_person_like(n) for n in names):
        return [n for n in names if not _role(n)]
    return names


def _plausible_name(name: str) -> bool:
    return (
        bool(name)
        and len(name) < 80
        and "@" not in name
        and not name.isdigit()
        and "://" not in name
        and name.casefold() not in _BYLINE_WORDS
        and not _only_credentials(name)
    )


def _authors(page: HtmlPage, obj: dict[str, Any] | None, rules: ExtractionRules = DEFAULT_RULES) -> list[str]:
    """People first: JSON-LD authors, else meta bylines, else the page's byline elements.

    A name that is the outlet itself (og:site_name) is an organisation: people named elsewhere
    on the page win over it.
    """
    site = (_unescaped(page.first_meta("og:site_name")) or "").casefold()
    label = _host_label(page.url)

    def is_outlet(name: str) -> bool:
        if not rules.outlet_is_not_author:
            return False
        folded = name.casefold()
        if site and (folded in site or site in folded):
            return True
        # "Stuttgarter Zeitung" on stuttgarter-zeitung.de, "n-tv NACHRICHTEN" on n-tv.de.
        squashed = ""
        for token in folded.split():
            squashed += _NON_ALNUM.sub("", token)
            if len(squashed) >= 3 and squashed == label:
                return True
        return False

    def tidy(names: list[str]) -> list[str]:
        cleaned = [
            _DANGLING.sub("", _ROLE_SUFFIX.sub("", _INITIALS_SUFFIX.sub("", html.unescape(n)).strip()))
            for n in names
        ]
        if rules.names_without_qualifiers:
            # "View all posts by Jane Doe": the name is what follows "by".
            cleaned = [_name_after_by(n) for n in cleaned]
            cleaned = _without_roles(
                [_without_trailing_degrees(p) for n in cleaned for p in _people_apart(n)]
            )
        return list(dict.fromkeys(n for n in cleaned if _plausible_name(n)))

    nodes = _graph_nodes(page) if rules.resolve_ld_references else None
    ld_people, ld_orgs = _names(obj.get("author"), nodes) if obj else ([], [])
    if rules.names_without_qualifiers:
        # A template that left the person blank (", The Worcester Telegram & Gazette") credits
        # the publication: an organisation, which people in the byline come before.
        blank = [n for n in ld_people if _BLANK_PERSON.match(n)]
        ld_people = [n for n in ld_people if n not in blank]
        ld_orgs = [*ld_orgs, *(_BLANK_PERSON.sub("", n) for n in blank)]
    # One JSON-LD name holding two people ("A and B") is two authors; commas may be "Last, First".
    found = tidy(
        [part for n in ld_people for part in (_CONJUNCTION.split(n) if rules.split_joined_names else [n])]
    )
    if found and not all(is_outlet(n) for n in found):
        if rules.other_credits and len(found) > 1:
            found = _without_other_credits(page, found)
        if rules.byline_extends_structured:
            shown, block = _byline_block(page, rules, _headline_bylines)
            people = [n for n in tidy(shown) if not is_outlet(n)]
            return _extended_by_byline(found, people, _shown_text(block) if block is not None else "")
        return found
    # An organisation as the author is the outlet's fallback: people in the byline come first.
    found = found or tidy(ld_orgs)
    keys = [*_AUTHOR_META, *(k for k in page.meta if k.endswith(("_authors", "-authors")))]

    def bylines() -> Iterator[list[str]]:
        for key in keys:
            for value in page.meta.get(key, ()):
                names = _split_byline(value)
                if rules.names_without_qualifiers and names and is_outlet(names[0]):
                    # "hessenschau.de, Frankfurt, Germany": the outlet and its address, nobody.
                    names = names[:1]
                yield tidy(names)
        if rules.labelled_meta_bylines:
            yield tidy([n for value in _labelled_bylines(page) for n in _split_byline(value)])
        if rules.byline_elements:
            yield tidy(_dom_byline(page, rules))  # searched only when no meta byline names a person
        if rules.component_bylines:
            yield [n for n in tidy(_dom_byline(page, rules, _COMPONENT_BYLINES)) if _person_like(n)]
        if rules.labelled_text_bylines:
            # A label's names count when they look like people: "von APA" credits an agency.
            yield [n for n in tidy(_split_byline(_labelled_text_byline(page) or "")) if len(n.split()) > 1]
        if rules.text_bylines:
            yield [n for n in tidy(_text_byline(page)) if _person_like(n)]
        if rules.author_page_links:
            yield tidy(_author_page_links(page, rules))

    abbreviations: list[str] = []
    for names in bylines():
        people = [n for n in names if not is_outlet(n) and not _initials(n)]
        if people:
            return people
        abbreviations.extend(n for n in names if _initials(n))
    # Newsroom initials name somebody only to insiders: the last resort, after an organisation.
    return found or list(dict.fromkeys(abbreviations))


def _extended_by_byline(structured: list[str], shown: list[str], text: str) -> list[str]:
    """The structured authors, or the people the page's byline shows where it names them all and
    more people, listed together in its text ("By A and B" beside a JSON-LD naming A): metadata
    templates often keep only the first of several authors."""
    wanted = {n.casefold() for n in structured}
    people = [n for n in shown if n.casefold() in wanted or _person_like(n)]
    more_people = len(people) > len(wanted) and wanted <= {n.casefold() for n in people}
    return people if more_people and _listed_together(people, text) else structured


def _listed_together(names: list[str], text: str) -> bool:
    """Whether ``text`` lists the names one after another, joined as a byline joins its names."""
    joined = _AUTHOR_SPLIT.pattern.join(re.escape(n) for n in names)
    return re.search(joined, _WS.sub(" ", text), re.IGNORECASE) is not None


_NON_ALNUM = re.compile(r"[\W_]+")
_BLANK_PERSON = re.compile(r"^\s*[,|;/]\s*(?=\S)")


def _graph_nodes(page: HtmlPage) -> dict[str, dict[str, Any]]:
    """The page's JSON-LD nodes by their ``@id`` (those that say more than their id)."""
    return {node["@id"]: node for node in page.jsonld if isinstance(node.get("@id"), str) and len(node) > 1}


# What SEO plugins (Yoast and its translations) label a twitter:dataN that names the author.
_WRITTEN_BY_LABELS = frozenset(
    {
        "written by", "author", "authors", "by", "verfasst von", "geschrieben von", "autor",
        "autorin", "von", "écrit par", "auteur", "escrito por", "scritto da", "autore",
        "geschreven door", "skrevet av", "skrivet av", "napisane przez", "autor(a)",
    }
)  # fmt: skip


def _labelled_bylines(page: HtmlPage) -> Iterator[str]:
    """twitter:dataN values whose twitter:labelN says they name who wrote the page."""
    for n in range(1, 5):
        label = page.first_meta(f"twitter:label{n}")
        if label and label.casefold().rstrip(":") in _WRITTEN_BY_LABELS:
            value = page.first_meta(f"twitter:data{n}")
            if value:
                yield value


# Short leaf elements: where a visible label ("Autor:", "Written by") may sit.
_SHORT_LEAVES = etree.XPath(
    "//body//*[not(*)][not(self::a or self::script or self::style or self::option)]"
    "[string-length(normalize-space(text())) > 1][string-length(normalize-space(text())) < 26]"
)


def _labelled_text_byline(page: HtmlPage) -> str | None:
    """The names after the page's first visible "who wrote it" label: the label's own tail
    ("<strong>Autor</strong> Jane Doe") or the element after it (<dt>Author</dt><dd>...)."""
    for el in _SHORT_LEAVES(page.tree):
        label = " ".join((el.text or "").split()).casefold().rstrip(":： ")
        if label not in _WRITTEN_BY_LABELS and not set(label.split("/")) <= _WRITTEN_BY_LABELS:
            continue
        after = _clean(el.tail)
        if not after:
            following = el.getnext()
            after = _clean(" ".join(following.itertext())) if following is not None else None
        if after and len(after) <= 80 and not any(ch.isdigit() for ch in after):
            return after
    return None


# A line that ends with "by" and names (no digits: a date before "by" is fine, after it is not).
_ENDS_WITH_BY = re.compile(r"(?:^|[\s(])(?:by|von|par|por|door):?\s+([^\d|•·:]{4,60})$", re.IGNORECASE)
# Who took the pictures, made or sponsored the page: credited "by" somebody who did not write it.
# Contributors and additional reporters helped; the byline names who wrote it.
_NOT_WRITTEN_BY = re.compile(
    r"\b(?:(?:photos?|photographs?|photography|images?|pictures?|illustrations?|illustrated|videos?|"
    r"graphics?|powered|sponsored|presented|supported|produced|edited|reviewed|checked|translated|styled|"
    r"hosted|narrated|read|shared|posted)\s+(?:by|von|par|por|door)"
    r"|(?:with\s+)?(?:additional\s+)?contributions?\s+(?:by|from)|additional\s+reporting\s+(?:by|from))\s",
    re.IGNORECASE,
)
_NOT_WRITTEN_BY_AT = re.compile(f"(?=({_NOT_WRITTEN_BY.pattern}))", re.IGNORECASE)
_TEXT_BYLINE_MAX_CHARS = 120


def _without_other_credits(page: HtmlPage, names: list[str]) -> list[str]:
    """``names`` without the people the text after the headline credits for something other than
    the writing ("Photography by Jane Doe"); all of them when that would leave nobody."""
    body = page.tree.find("body")
    headline = next(body.iter("h1"), None) if body is not None else None
    if headline is None:
        return names
    text = " ".join(_lines_after(headline))
    # What follows each credit, overlapping ones included: one scan of the text, where a pattern
    # per name cost a compilation of the long credit pattern for every name of every page.
    credited = [text[m.end(1) :].lstrip().lower() for m in _NOT_WRITTEN_BY_AT.finditer(text)]
    kept = [n for n in names if not any(after.startswith(n.lower()) for after in credited)]
    return kept or names


# How far past the headline a byline line is looked for: the article's first long paragraph, or
# this much text, ends the search.
_LEAD_PARAGRAPH_CHARS = 150
_TEXT_BYLINE_SCAN_CHARS = 3000


def _text_byline(page: HtmlPage) -> list[str]:
    """Names from the first short line between the headline and the article's first long
    paragraph that ends "by Jane Doe": bylines written as plain text, without markup."""
    body = page.tree.find("body")
    headline = next(body.iter("h1"), None) if body is not None else None
    if headline is None:
        return []
    lines = _lines_after(headline)
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        if len(line) >= _LEAD_PARAGRAPH_CHARS:
            return []
        if line.casefold() in _BYLINE_WORDS:  # "By" on a line of its own, the names on the next
            line = f"{line} {following}"
        found = _ENDS_WITH_BY.search(line) if len(line) <= _TEXT_BYLINE_MAX_CHARS else None
        if found and not _NOT_WRITTEN_BY.search(line):
            return _split_byline(found[1])
    return []


# Elements that start a new line of text.
_LINE_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "section"}
    | {"header", "footer", "article", "aside", "figure", "figcaption", "table", "tr", "td", "blockquote"}
)


def _lines_after(headline: Any) -> list[str]:
    """The text that follows ``headline`` in the document, as a reader sees it in lines, up to
    a few thousand characters."""
    parts: list[str] = []
    budget = [_TEXT_BYLINE_SCAN_CHARS]

    def add(text: str | None) -> None:
        if text:
            # A newline in the source is a space on the screen: only elements break lines.
            parts.append(text.replace("\n", " ") if text != "\n" else text)
            budget[0] -= len(text)

    def walk(node: Any) -> None:
        if budget[0] <= 0 or not isinstance(node.tag, str) or node.tag in _UNSHOWN_TAGS:
            return
        breaks = node.tag in _LINE_TAGS
        add("\n" if breaks else None)
        add(node.text)
        for child in node:
            walk(child)
            add(child.tail)
        add("\n" if breaks else None)

    el = headline
    while el is not None and budget[0] > 0:
        add(el.tail)
        for sibling in el.itersiblings():
            walk(sibling)
            add(sibling.tail)
        el = el.getparent()
        add("\n")
    lines = (_WS.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return [line for line in lines if line]


def _host_label(url: str) -> str:
    """The registered name of the page's host without punctuation ("www.n-tv.de" -> "ntv")."""
    domain = _site_of(url) or ""
    return _NON_ALNUM.sub("", domain.split(".")[0].casefold())


_AUTHOR_META = (
    "author",
    "article:author",
    "dc.creator",
    "parsely-author",
    "byl",
    "twitter:misc:written by",
    "sailthru.author",
    "cxenseparse:author",
)


# Elements that hold a byline by markup or by name.
_BYLINE_TEST = (
    "[@rel='author' or @itemprop='author' or (@class and (contains(@class, 'byline')"
    " or (contains(@class, 'author') and (contains(concat(' ', normalize-space(@class), ' '), ' author ')"
    " or contains(@class, 'author-name') or contains(@class, 'authorname')"
    " or contains(@class, '__author')))))]"
)
_BYLINE_ELEMENTS = etree.XPath(f"/descendant::*{_BYLINE_TEST}")
_BYLINE_ELEMENTS_UNDER = etree.XPath(f"descendant::*{_BYLINE_TEST}")
# A byline sits beside the headline: within a few blocks of the <h1>.
_HEADLINE_BLOCK_LEVELS = 3


def _headline_bylines(tree: Any) -> list[Any]:
    """The byline elements of the block around the page's first headline (none without one)."""
    scope = next(tree.iter("h1"), None)
    for _ in range(_HEADLINE_BLOCK_LEVELS):
        if scope is None or scope.tag == "body":
            break
        scope = scope.getparent()
    return [] if scope is None else _BYLINE_ELEMENTS_UNDER(scope)


# Component names in generated class names and test ids ("AuthorLink-sc-10pl2l7-4",
# data-testid="BylineWrapper"): a byline too, but such components also hold "Follow" buttons.
_COMPONENT_BYLINES = etree.XPath(
    "/descendant::body/descendant::*[(@class and (contains(@class, 'Author') or contains(@class, 'Byline')))"
    " or (@data-testid and (contains(@data-testid, 'uthor') or contains(@data-testid, 'yline')))]"
)
_BYLINE_CANDIDATES = 12


def _dom_byline(
    page: HtmlPage, rules: ExtractionRules = DEFAULT_RULES, elements: Callable[[Any], Any] = _BYLINE_ELEMENTS
) -> list[str]:
    """Names in the page's first byline block: the first byline element that names somebody and
    the others inside its parent (several authors linked one by one). Byline elements further
    down belong to other stories (teasers, comments, "more from"), not to this article."""
    return _byline_block(page, rules, elements)[0]


def _byline_block(
    page: HtmlPage, rules: ExtractionRules, elements: Callable[[Any], Any] = _BYLINE_ELEMENTS
) -> tuple[list[str], Any]:
    """:func:`_dom_byline`'s names and the block they were found in (None without names)."""
    names: list[str] = []
    block = None
    for el in elements(page.tree)[:_BYLINE_CANDIDATES]:
        if block is not None and rules.first_byline_block and not _within(el, block):
            continue
        if rules.skip_comment_bylines and _in_comments(el):
            continue
        text = _byline_text(el, rules)
        if text and rules.names_without_qualifiers:
            text = _undated(text)
        if not text or len(text) > 80 or any(ch.isdigit() for ch in text):
            continue
        found = _split_byline(text)
        if found and block is None:
            block = el.getparent() if el.getparent() is not None else el
        names.extend(found)
    return names, block


_BYLINE_PARTS = re.compile(r"\s*[|•·]\s*")


def _undated(byline: str) -> str:
    """ "By Jane Doe | March 9, 2023" -> "By Jane Doe": the parts of a byline with no digits."""
    if not any(ch.isdigit() for ch in byline):
        return byline
    return " | ".join(p for p in _BYLINE_PARTS.split(byline) if p and not any(ch.isdigit() for ch in p))


# Links to an author's page ("/author/jane-doe/", "/writer/1218/Jane_Doe/", "/staff/71569320007/jane-doe/",
# "/bios/news/jane-doe"): their texts are names.
_AUTHOR_PAGE_LINKS = etree.XPath(
    "//body//a[contains(@href, '/author/') or contains(@href, '/authors/') or contains(@href, '/writer/')"
    " or contains(@href, '/writers/') or contains(@href, '/autor/') or contains(@href, '/autoren/')"
    " or contains(@href, '/auteur/') or contains(@href, '/autore/') or contains(@href, '/journalist/')"
    " or contains(@href, '/staff/') or contains(@href, '/bio/') or contains(@href, '/bios/')"
    " or contains(@href, '/reporter/') or contains(@href, '/reporters/') or contains(@href, '/contributor/')"
    " or contains(@href, '/contributors/')]"
)


def _author_page_links(page: HtmlPage, rules: ExtractionRules = DEFAULT_RULES) -> list[str]:
    """The people named by the page's first links to author pages (and the others beside it)."""
    names: list[str] = []
    block = None
    for link in _AUTHOR_PAGE_LINKS(page.tree)[:_BYLINE_CANDIDATES]:
        if block is not None and not _within(link, block):
            continue
        text = _clean(_shown_text(link))
        if not text or not _person_like(text):
            continue
        if rules.author_links_on_short_lines and len(_line_of(link)) > _TEXT_BYLINE_MAX_CHARS:
            continue
        if block is None:
            block = link.getparent() if link.getparent() is not None else link
        names.append(text)
    return names


def _line_of(el: Any) -> str:
    """The shown text of the line ``el`` stands on: the inline content of its nearest ancestor
    that starts a line, without the lines inside that ancestor (its paragraphs, its blocks)."""
    line = el.getparent()
    while line is not None and line.tag not in _LINE_TAGS:
        line = line.getparent()
    if line is None:
        return _shown_text(el)
    return _WS.sub(" ", _shown_text(line, skip=_LINE_TAGS)).strip()


_TAXONOMY_LINK = re.compile(
    r"[/?&](?:tags?|topics?|category|categories|section|sections|subjects?|keywords?|thema|themen)[/=]", re.I
)


def _byline_text(el: Any, rules: ExtractionRules) -> str | None:
    """A byline element's names: its links' texts when it links somewhere (author pages: "Jane
    Doe" without the "Games Editor" or "Updated 3 pm" around it), else its whole text."""
    if rules.byline_link_names:
        # A link to a tag's or a topic's page names what the story is about, not who wrote it.
        links = [_clean(_shown_text(a)) for a in el.iter("a") if not _TAXONOMY_LINK.search(a.get("href", ""))]
        names = [t for t in links if t and len(t) <= 80 and not any(ch.isdigit() for ch in t)]
        if names:
            return ", ".join(names)
    return _clean(_shown_text(el))


# Elements whose text a reader never sees as text: an icon's <svg><title>Share on Facebook</title>.
_UNSHOWN_TAGS = frozenset({"svg", "script", "style", "noscript", "template", "title"})


def _shown_text(el: Any, skip: Collection[str] = ()) -> str:
    """The text a reader sees in ``el``, without the elements whose tags ``skip`` names (their
    tails stay: they are ``el``'s text)."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if not isinstance(node.tag, str) or node.tag in _UNSHOWN_TAGS:
            return
        parts.append(node.text or "")
        for child in node:
            if child.tag not in skip:
                walk(child)
            parts.append(child.tail or "")

    walk(el)
    return " ".join(parts)


_COMMENT_CLASSES = frozenset({"comment", "comments", "commentlist", "comment-list", "comments-list"})
_COMMENT_ID = re.compile(r"^comments?(?:$|[-_])", re.IGNORECASE)


def _in_comments(el: Any) -> bool:
    """Whether ``el`` sits in the reader comments: an ancestor classed "comment" or with an id
    such as "comments" or "comment-123" (a class like "comments-open" only says they exist)."""
    for ancestor in el.iterancestors():
        classes = ancestor.get("class", "").casefold().split()
        if not _COMMENT_CLASSES.isdisjoint(classes) or _COMMENT_ID.match(ancestor.get("id", "")):
            return True
    return False


def _within(el: Any, ancestor: Any) -> bool:
    while el is not None:
        if el is ancestor:
            return True
        el = el.getparent()
    return False


def _first_str(value: Any) -> str | None:
    if isinstance(value, list):
        for item in value:
            found = _first_str(item)
            if found:
                return found
        return None
    if isinstance(value, dict):
        return _clean(value.get("url") or value.get("contentUrl") or value.get("name"))
    return _clean(value)


def _keywords(value: Any) -> list[str]:
    if isinstance(value, list):
        return [k for k in (_clean(v) for v in value) if k]
    text = _clean(value)
    return [k for k in (_clean(x) for x in text.split(",")) if k] if text else []


def _language(page: HtmlPage, obj: dict[str, Any] | None, body: str) -> str | None:
    declared = [_first_str(obj.get("inLanguage")) if obj else None, page.lang]
    declared += [page.first_meta(key) for key in ("og:locale", "content-language", "language", "dc.language")]
    return decide_language(declared, body)


_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ", " / ", "｜", "|", " -", "-")


def _unescaped(value: Any) -> str | None:
    # Structured data is often HTML-escaped twice (&amp;quot;): unescape what the parser left.
    text = _clean(value)
    return _clean(html.unescape(text)) if text else None


def _strip_site(title: str, site: str | None) -> str:
    """Drop a site name glued to a headline ("Headline | Site", "Site - Headline")."""
    if not site:
        return title
    for sep in _TITLE_SEPARATORS:
        if title.endswith(sep + site) and len(title) > len(sep + site):
            return title[: -len(sep + site)].strip()
        if title.startswith(site + sep) and len(title) > len(site + sep):
            return title[len(site + sep) :].strip()
    return title


@dataclass(frozen=True)
class _Headlines:
    title: str | None  # the headline
    versions: tuple[str, ...]  # every version the page gives (structured data, meta, <h1>)


def _headlines(
    page: HtmlPage, obj: dict[str, Any] | None, rules: ExtractionRules = DEFAULT_RULES
) -> _Headlines:
    """The headline: JSON-LD headline, og:title, twitter:title, <h1>, <title>, each without a
    glued site name.

    Where the JSON-LD headline and og:title differ, the shorter is the headline: a publisher's
    two headlines differ by a kicker ("Olympics: ..."), a subheading or an SEO tail more often
    than anything else, and the fundus guidelines ask for the headline "as short as possible,
    without subheaders" (on its shared pages the truth is the shorter of the two on 40 of 58
    such pages, the JSON-LD one on 36). <h1> often carries a kicker.
    """
    site = _unescaped(page.first_meta("og:site_name", "application-name"))
    h1 = page.tree.xpath("//h1")
    title_el = page.tree.find(".//title")
    headline = _unescaped(obj.get("headline")) if obj else None
    og_title = _unescaped(page.first_meta("og:title"))
    named = [
        headline,
        og_title,
        _unescaped(page.first_meta("twitter:title")),
        _clean(" ".join(h1[0].itertext())) if h1 else None,
    ]
    versions = [_strip_site(c, site) for c in named if c]
    title_tag = _clean(title_el.text_content()) if title_el is not None else None
    found = [*versions, _strip_site(title_tag, site)] if title_tag else versions
    if not found:
        return _Headlines(None, ())
    best = found[0]
    if rules.shorter_headline and headline and og_title:
        best = _shorter_headline(found[0], found[1], site, found)  # both present: the first two
    # "Headline | Site" where another candidate is just "Headline": the site name is glued on.
    for other in found:
        if best != other and best.startswith(other) and len(best) - len(other) < 40:
            rest = best[len(other) :].strip()
            if rest[:1] in "|-–—·/｜:":
                best = other
                break
    # <title> counts as a version only where it is the headline: it usually carries the site name.
    return _Headlines(best, tuple(dict.fromkeys([*versions, best])))


def _shorter_headline(first: str, second: str, site: str | None, versions: list[str]) -> str:
    """The shorter of two versions of a headline, unless it is cut off ("Storm hits the…", or a
    meta value that ends where an unescaped quote closed its attribute) or is only the site's
    name: then the other."""
    short, long = sorted((first, second), key=len)
    stem = short.rstrip(".… ")
    cut = (stem != short and long.startswith(stem)) or _cut_at_a_quote(short, versions)
    only_site = bool(site) and short.casefold() == (site or "").casefold()
    return long if cut or only_site or not stem else short


def _cut_at_a_quote(version: str, versions: list[str]) -> bool:
    """``content="Marathon: winner and "royal visit""`` gives the meta value ``Marathon: winner
    and``: another version (the <h1>, the <title>) goes on from there with the quote."""
    return any(
        other.startswith(version) and other[len(version) :].lstrip().startswith('"') for other in versions
    )


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _paywalled(page: HtmlPage) -> bool:
    for obj in page.jsonld:
        parts = obj.get("hasPart")
        holders = [obj, *(parts if isinstance(parts, list) else [parts] if isinstance(parts, dict) else [])]
        if any(isinstance(h, dict) and _is_false(h.get("isAccessibleForFree")) for h in holders):
            return True
    tier = (page.first_meta("article:content_tier") or "").lower()
    return tier in ("locked", "metered")


_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "article:published:time",
    "pubdate",
    "publishdate",
    "date",
    "dc.date.issued",
    "dc.date",
    "sailthru.date",
    "parsely-pub-date",
)
_MODIFIED_META = ("article:modified_time", "og:updated_time", "article:modified:time")


def _published(
    page: HtmlPage, obj: dict[str, Any] | None, rules: ExtractionRules = DEFAULT_RULES
) -> datetime | None:
    """Structured data first, then meta tags, <time>, and htmldate's date from the page.

    A stamp without an offset takes the offset of another source that gives the same wall-clock
    time with one (JSON-LD "2023-04-28 18:11:01" beside meta "2023-04-28T18:11:01+02:00"); with
    none it is the page's local time (``_naive_zone``).
    """
    # Lazily: the later sources are parsed only when the first stamp lacks an offset.
    raws = itertools.chain(
        [obj.get("datePublished"), obj.get("dateCreated")] if obj else [],
        (page.first_meta(key) for key in _PUBLISHED_META),
        _first_time_element(page, rules),
    )
    stamps = (s for s in map(_parse_stamp, raws) if s is not None)
    first = next(stamps, None)
    if first is not None:
        return _with_offset(first, stamps, lambda: _naive_zone(page, obj, rules))
    found = find_date(
        page.tree,
        url=page.url,
        original_date=True,
        extensive_search=True,
        outputformat="%Y-%m-%d",
        max_date=_latest_day_anywhere(_utc_now()),
    )
    day = _parse_stamp(found) if found else None
    if day is None:
        return None
    shown = _shown_time(page, day) if rules.shown_time else None
    return (shown or day).replace(tzinfo=_naive_zone(page, obj, rules))


def _first_time_element(page: HtmlPage, rules: ExtractionRules) -> Iterator[str | None]:
    """The page's first ``<time datetime>``, unless its address dates the story on another day:
    then that element is a list's of other stories (the site's latest, in a sidebar before the
    article), and htmldate reads the address."""
    for element in page.tree.xpath("/descendant::time[@datetime][1]"):
        value = element.get("datetime")
        if rules.address_date_checks_time and _off_address_date(page.url, value):
            return
        yield value


# A date in an address's path: /2023/12/19/ or /2023-12-19/ (a year of four digits first).
_ADDRESS_DATE = re.compile(r"/((?:19|20)\d\d)[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?=[/._-]|$)")


def _off_address_date(url: str, value: str | None) -> bool:
    """Whether a stamp falls more than a day (a time zone's worth) off the date in ``url``."""
    match = _ADDRESS_DATE.search(urlsplit(url).path)
    stamp = _parse_stamp(value) if match else None
    if match is None or stamp is None:
        return False
    try:
        year, month, day_of_month = map(int, match.groups())
        day = datetime(year, month, day_of_month).date()
    except ValueError:  # 31 February
        return False
    return abs((stamp.date() - day).days) > 1


def _utc_now() -> datetime:
    return datetime.now(UTC)


# The zone furthest ahead of UTC (Kiribati's Line Islands).
_FURTHEST_AHEAD = timedelta(hours=14)


def _latest_day_anywhere(now: datetime) -> datetime:
    """The end of the latest calendar day anywhere on Earth at ``now``: the latest date a page
    can print for today. htmldate's own bound is the end of the crawler's local day, which
    refuses the date of a story published this morning in Sydney or Auckland while it is still
    yesterday in UTC, the freshest stories of those outlets."""
    latest = (now.astimezone(UTC) + _FURTHEST_AHEAD).replace(tzinfo=None)
    return latest.replace(hour=23, minute=59, second=59, microsecond=999999)


def _naive_zone(page: HtmlPage, obj: dict[str, Any] | None, rules: ExtractionRules) -> tzinfo:
    """The zone of a time the page writes without an offset: its country's, or UTC."""
    if not rules.local_time_zone:
        return UTC
    locales = [_first_str(obj.get("inLanguage")) if obj else None, page.lang, page.first_meta("og:locale")]
    return page_zone(page.url, locales) or UTC


_TIME_AFTER_DATE = (
    r"[\s,|·•–-]*(?:um|at|à|kl\.?|alle|a las|om|klo)?\s*"
    r"(?P<h>[01]?\d|2[0-3])[:.h](?P<m>[0-5]\d)(?!\d)\s*(?P<ampm>[ap]\.?m\.?)?"
)
# A date and time printed with an article sit near its top.
_VISIBLE_TEXT_CHARS = 20_000
_UNSEEN_TAGS = frozenset({"script", "style", "noscript", "template"})


def _leading_text(page: HtmlPage, limit: int) -> str:
    """The first ``limit`` characters of the body's visible text."""
    body = page.tree.find("body")
    parts: list[str] = []
    size = 0
    for event, el in etree.iterwalk(body, events=("start", "end")) if body is not None else ():
        # An element's own text unless it is never shown; what follows it (its tail) always is.
        text = (None if el.tag in _UNSEEN_TAGS else el.text) if event == "start" else el.tail
        if text:
            parts.append(text)
            size += len(text)
            if size >= limit:
                break
    return " ".join(parts)[:limit]


def _shown_time(page: HtmlPage, day: datetime) -> datetime | None:
    """The time printed next to the page's date ("25.04.24 | 14:07 Uhr"), on that day (naive)."""
    d, m, y = day.day, day.month, day.year
    dates = (
        rf"\b0?{d}\.\s?0?{m}\.\s?(?:{y}|{y % 100:02d})\b",
        rf"\b0?{d}/0?{m}/(?:{y}|{y % 100:02d})\b",
        rf"\b{y}[-./]0?{m}[-./]0?{d}\b",
        rf"\b0?{d}\.?\s+[^\W\d_]{{3,}}\.?\s+{y}\b",
        rf"\b[^\W\d_]{{3,}}\.?\s+0?{d},?\s+{y}\b",
    )
    pattern = re.compile(f"(?:{'|'.join(dates)}){_TIME_AFTER_DATE}", re.IGNORECASE)
    match = pattern.search(_WS.sub(" ", _leading_text(page, _VISIBLE_TEXT_CHARS)))
    if match is None:
        return None
    hour = int(match["h"])
    if match["ampm"]:
        hour = hour % 12 + (12 if match["ampm"].lower().startswith("p") else 0)
    return day.replace(hour=hour, minute=int(match["m"]))


def _with_offset(stamp: datetime, others: Iterable[datetime], local: Callable[[], tzinfo]) -> datetime:
    if stamp.tzinfo is not None:
        return stamp
    for other in others:
        if other.tzinfo is not None and abs((other.replace(tzinfo=None) - stamp).total_seconds()) <= 60:
            return stamp.replace(tzinfo=other.tzinfo)
    return stamp.replace(tzinfo=local())


def _modified(page: HtmlPage, obj: dict[str, Any] | None, rules: ExtractionRules) -> datetime | None:
    raw = obj.get("dateModified") if obj else None
    stamp = _parse_stamp(raw) or _parse_stamp(page.first_meta(*_MODIFIED_META))
    if stamp is None or stamp.tzinfo is not None:
        return stamp
    return stamp.replace(tzinfo=_naive_zone(page, obj, rules))


def _trafilatura_text(page: HtmlPage, rules: ExtractionRules, *, fast: bool, document: Any = None) -> str:
    """trafilatura's body text of ``document`` (default: the page's tree)."""
    result = trafilatura.bare_extraction(
        page.tree if document is None else document,
        options=_trafilatura_options(page.url, fast=fast, tables=rules.include_tables or rules.data_tables),
    )
    return str(getattr(result, "text", None) or "")


def _trafilatura_options(url: str, *, fast: bool, tables: bool) -> Extractor:
    # Built once per kind: building them reads trafilatura's config file's values each time (a
    # twentieth of a pass on a container). Each call gets its own copy, named after its page.
    options = copy.copy(_base_trafilatura_options(fast, tables))
    options.url = options.source = url
    return options


@functools.cache
def _base_trafilatura_options(fast: bool, tables: bool) -> Extractor:
    return Extractor(
        output_format="python",
        fast=fast,
        comments=False,
        tables=tables,
        dedup=False,
        with_metadata=False,
    )


def _told_by_structured_body(page: HtmlPage, text: str) -> bool:
    """Whether the page's JSON-LD articleBody, an article's length, and ``text`` each hold most
    of the other: the same story, not a teaser of it or a page around it."""
    obj = page.article_object()
    told = obj.get("articleBody") if obj else None
    if not isinstance(told, str) or len(told) < _ARTICLE_MIN_CHARS:
        return False
    return _holds_most_of(text, told) and _holds_most_of(told, text)


# Below this many characters the DOM's text may be a shell around a client-rendered article.
_SHORT_BODY_CHARS = 200
# Below this many characters (about 80 words) a text is a teaser or a caption, not an article.
_ARTICLE_MIN_CHARS = 500


def _mean_line(text: str) -> float:
    lines = [line for line in text.split("\n") if line.strip()]
    return sum(map(len, lines)) / len(lines) if lines else 0.0


def _holds_most_of(text: str, part: str) -> bool:
    """Whether most of ``part``'s word trigrams occur in ``text``."""
    wanted = _trigrams(part)
    return not wanted or len(wanted & _trigrams(text)) * 2 > len(wanted)


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = text.casefold().split()
    return set(zip(words, words[1:], words[2:], strict=False))


def _needs_second_opinion(text: str, scope_chars: Callable[[], int], rules: ExtractionRules) -> bool:
    """The fast pass looks wrong: menu-like short lines, or far less than the paragraphs of its
    scope (the page; the story, on a page that streams several), ``scope_chars()`` of text."""
    if _mean_line(text) < rules.menu_line_chars:
        return True
    return len(text) < rules.second_opinion_paragraph_share * scope_chars()


# A client-rendered page (Next.js and the like) ships its article as an HTML string inside the
# state a script hands to the browser: {"contentHtml": "<p>...</p>"}.
_SCRIPT_HTML_FIELD = re.compile(
    r'"(?:contentHtml|content_html|bodyHtml|body_html|articleBody|articleHtml|html|body|content)"'
    r'\s*:\s*"((?:[^"\\]|\\.){400,})"'
)
_SCRIPT_SCAN_CHARS = 2_000_000


def _script_body(page: HtmlPage, rules: ExtractionRules) -> str:
    """Text of the longest article-like HTML string in the page's scripts, or ""."""
    best = ""
    scanned = 0
    for script in page.tree.iter("script"):
        source = script.text or ""
        scanned += len(source)
        if scanned > _SCRIPT_SCAN_CHARS:
            break
        for match in _SCRIPT_HTML_FIELD.finditer(source):
            try:
                fragment = json.loads(f'"{match.group(1)}"')
            except ValueError:
                continue
            if "<p" in fragment and len(fragment) > len(best):
                best = fragment
    if not best:
        return ""
    return _trafilatura_text(
        page, rules, fast=True, document=f"<html><body><article>{best}</article></body></html>"
    )


# Containers that hold an article by markup.
_CONTAINERS = etree.XPath("//*[@itemprop='articleBody'] | //article")
# Where no container marks the article: the landmark that holds a page's main content.
_LANDMARKS = etree.XPath("//main | //*[@role='main']")
_MIN_PARAGRAPH_CHARS = 500


def _holding_most(sizes: dict[Any, int], total: int, rules: ExtractionRules) -> Any | None:
    """Of the candidates (keys of ``sizes``: their paragraph text), the one holding the most of
    the page's ``total``, if that is at least ``localise_min_share`` of it."""
    best, best_chars = None, 0
    for candidate, chars in sizes.items():
        # Of nested candidates holding the same paragraphs, the innermost: less around them.
        if chars > best_chars or (rules.innermost_container and chars == best_chars and chars):
            best, best_chars = candidate, chars
    return best if best is not None and best_chars >= rules.localise_min_share * total else None


def _paragraph_chars(el: Any) -> int:
    return sum(len(p.text_content()) for p in el.iter("p"))


def _own_headline(container: Any) -> str | None:
    for heading in container.iter("h1", "h2"):
        return _clean(" ".join(heading.itertext()))
    return None


def _story_in_stream(
    total: int, sizes: dict[Any, int], headlines: Iterable[str], min_share: float
) -> Any | None:
    """Where several containers (keys of ``sizes``: their paragraph text) carry headlines of their
    own, the page is a stream of stories (an endless scroll appends the next ones): the smallest
    container under the page's own headline, if it holds an article's worth of paragraphs and most
    of those outside the other stories (a container holding only the headline and a lead is not
    the story), else none. ``total`` is the page's paragraph text."""
    own = {c: _own_headline(c) for c in sizes}
    if len({h for h in own.values() if h}) < 2:
        return None
    wanted = {_norm_headline(h) for h in headlines if h}
    matching = [c for c, h in own.items() if h and _norm_headline(h) in wanted]
    story = min(matching, key=sizes.__getitem__, default=None)
    if story is None or sizes[story] < _MIN_PARAGRAPH_CHARS:
        return None
    around = set(story.iterancestors())
    others = {c for c, h in own.items() if h and _norm_headline(h) not in wanted and c not in around}
    outermost = [c for c in others if not any(a in others for a in c.iterancestors())]
    rest = total - sum(sizes[c] for c in outermost)
    return story if sizes[story] >= min_share * rest else None


def _norm_headline(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass(frozen=True)
class _Container:
    document: Any  # the container as a document of its own
    in_stream: bool  # one story of several on the page: the rest is not this article's
    page_chars: int  # the page's paragraph text, as the container was chosen


def _localised(page: HtmlPage, rules: ExtractionRules, headlines: Iterable[str] = ()) -> _Container | None:
    """The article's container as a document of its own, when one holds most of the page's
    paragraph text or is the page's story among several; else the page's main landmark when it
    does; else the block trafilatura's content queries name, when it does (and of a container or
    landmark, the block they name in it, when that holds most of its text): trafilatura then
    cleans and scores a fraction of the tree (the cost of its pass grows with the tree), and what
    lies outside cannot leak in."""
    body = page.tree.find("body")
    if not rules.localise or body is None:
        return None
    total = _paragraph_chars(body)
    if total < _MIN_PARAGRAPH_CHARS:
        return None
    sizes = {c: _paragraph_chars(c) for c in _CONTAINERS(page.tree)}  # in document order
    best: Any = (
        _story_in_stream(total, sizes, headlines, rules.localise_min_share) if rules.story_in_stream else None
    )
    in_stream = best is not None
    if best is None:
        best = _holding_most(sizes, total, rules)
    if best is None and rules.localise_landmarks:
        landmarks = {c: _paragraph_chars(c) for c in _LANDMARKS(page.tree)}
        sizes.update(landmarks)
        best = _holding_most(landmarks, total, rules)
    if best is not None and rules.localise_named:
        best = _named_within(best, sizes[best], rules)
    elif best is None and rules.localise_named and (named := named_block(body)) is not None:
        best = _holding_most({named: _paragraph_chars(named)}, total, rules)
    if best is None:
        return None
    document = new_document()
    etree.SubElement(document, "body").append(copy.deepcopy(best))
    return _Container(document, in_stream, total)


def _named_within(container: Any, container_chars: int, rules: ExtractionRules) -> Any:
    """The block trafilatura's content queries name inside ``container`` when it holds
    ``localise_min_share`` of the container's paragraph text ``container_chars`` (what
    trafilatura reads of it), else the container."""
    inner = named_block(container)
    if inner is None or inner is container:
        return container
    narrowed = _holding_most({inner: _paragraph_chars(inner)}, container_chars, rules)
    return container if narrowed is None else narrowed


def named_block(root: Any) -> Any | None:
    """The block below ``root`` trafilatura's content queries (``BODY_XPATH``) choose: the first
    block the first matching query names.

    The queries test a block's tag and attributes only, but with a Python callback per block and
    query (a regular expression each): 1-3 ms on a large page. They run here on bare copies of
    only the blocks whose attributes hold a value they look for (``_QUERY_VALUES``), in document
    order, so they choose the same block for a fraction of that."""
    blocks = [
        el
        for el in root.iter(*_NAMED_TAGS)
        if el.tag in _TAG_ONLY_QUERIES or any(_may_be_named(v) for a in _NAMED_ATTRIBUTES if (v := el.get(a)))
    ]
    if not blocks:
        return None
    copies = new_document()
    listed = etree.SubElement(copies, "body")
    for block in blocks:
        attributes = {a: v for a in _NAMED_ATTRIBUTES if (v := block.get(a))}
        try:
            etree.SubElement(listed, block.tag, attributes)
        except ValueError:  # a character lxml refuses to set (&#xFFFE;): one no query looks for
            settable = {a: _UNSETTABLE.sub("\ufffd", v) for a, v in attributes.items()}
            etree.SubElement(listed, block.tag, settable)
    for query in BODY_XPATH:
        found = next(iter(query(copies)), None)
        if found is not None:
            return blocks[listed.index(found)]
    return None


# What trafilatura's content queries (BODY_XPATH) test: these tags and these attributes, against
# the values written in them (literals, and regular expressions in re:test).
_NAMED_TAGS = ("article", "div", "main", "section")
_NAMED_ATTRIBUTES = ("class", "id", "itemprop", "role")
_TAG_ONLY_QUERIES = frozenset({"article", "main"})  # (.//article)[1], (.//main)[1]
# What XML 1.0 cannot hold, which the HTML parser lets through from character references.
_UNSETTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XPATH_LITERAL = re.compile(r"'([^']*)'|\"([^\"]*)\"")
# What comes before a literal says how the query uses it.
_QUOTED = r"(?:'[^']*'|\"[^\"]*\")"
_BEFORE_PATTERN = re.compile(r"re:test\(\s*[@\w|]+\s*,\s*$")  # re:test(@class, 'pattern'
_BEFORE_FLAGS = re.compile(rf"re:test\(\s*[@\w|]+\s*,\s*{_QUOTED}\s*,\s*$")  # ..., 'i')
_BEFORE_TRANSLATION = re.compile(rf"translate\(\s*@\w+\s*,\s*(?:{_QUOTED}\s*,\s*)?$")  # 'CM', 'cm'
_BEFORE_EQUALS = re.compile(r"=\s*$")  # @class='post'
_BEFORE_START = re.compile(r"starts-with\(\s*@\w+\s*,\s*$")  # starts-with(@class, 'main')


def _query_values(queries: Iterable[Any]) -> re.Pattern[str]:
    """One pattern matching, in lower case, every attribute value a query could accept: a whole
    value it compares with, a value's start, a part it looks for, a regular expression it tests.
    Blind to case, anything unknown read as a part: never less than the queries accept, so a
    block none of whose attributes it matches is named by no query."""
    alternatives: list[str] = []
    for query in queries:
        source = query.path
        for literal in _XPATH_LITERAL.finditer(source):
            before, value = source[: literal.start()], literal[1] or literal[2] or ""
            if _BEFORE_FLAGS.search(before) or _BEFORE_TRANSLATION.search(before):
                continue
            if _BEFORE_PATTERN.search(before):
                alternatives.append(f"(?:{value})")
            elif _BEFORE_EQUALS.search(before):
                alternatives.append(f"^{re.escape(value)}$")
            elif _BEFORE_START.search(before):
                alternatives.append(f"^{re.escape(value)}")
            else:
                alternatives.append(re.escape(value))
    pattern = "|".join(dict.fromkeys(alternatives))
    # Lower-cased, escapes kept, for lower-cased values: as IGNORECASE, at a third of its cost.
    try:
        return re.compile(re.sub(r"\\.|[A-Z]+", lambda m: m[0] if m[0][0] == "\\" else m[0].lower(), pattern))
    except re.error:  # queries written in a way this cannot read: every block is a candidate
        return re.compile("")


_QUERY_VALUES = _query_values(BODY_XPATH)


def _may_be_named(value: str) -> bool:
    if len(value) > _CACHED_VALUE_CHARS:  # a stranger's page could fill the cache with long values
        return _QUERY_VALUES.search(value.lower()) is not None
    return _may_be_named_short(value)


_CACHED_VALUE_CHARS = 200


@functools.lru_cache(maxsize=8192)  # an outlet's pages repeat their class names
def _may_be_named_short(value: str) -> bool:
    return _QUERY_VALUES.search(value.lower()) is not None


# A chunk of an article holds at least this much paragraph text (a teaser's summary holds less).
_CHUNK_MIN_CHARS = 150
_CHUNK_TAGS = ("div", "section", "article")


def _chunks(root: Any) -> list[Any]:
    """The chunks of an article split by what sits between them (adverts, embeds): blocks of one
    tag and class, none inside another, that each hold paragraphs and together most of the
    document's paragraph text; [] when there are none."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for el in root.iter(*_CHUNK_TAGS):
        css = el.get("class")
        if css:
            groups.setdefault((el.tag, css), []).append(el)
    total = 0
    found: list[list[Any]] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        sizes = {m: size for m in members if (size := _paragraph_chars(m)) >= _CHUNK_MIN_CHARS}
        if len(sizes) < 2:
            continue
        inside = set(members)
        kept = [
            m for m in sizes if m.find(".//h1") is None and not any(a in inside for a in m.iterancestors())
        ]
        if len(kept) < 2:
            continue
        total = total or _paragraph_chars(root)
        if sum(sizes[c] for c in kept) >= 0.5 * total and all(_linked_word_share(c) <= 0.5 for c in kept):
            found.append(kept)
    # Chunks wrapped in chunks (a grid row around each part of the text): the innermost.
    return max(found, key=lambda kept: sum(1 for _ in kept[0].iterancestors()), default=[])


def _joined(root: Any, chunks: list[Any]) -> Any:
    """A copy of ``root`` with the later chunks moved into the first, in order."""
    paths = [c.getroottree().getpath(c) for c in chunks]
    copied = copy.deepcopy(root)
    tree = copied.getroottree()
    first, *later = (tree.xpath(p)[0] for p in paths)
    for chunk in later:
        first.extend(list(chunk))
    return copied


def _missed_chunks(text: str, chunks: list[Any]) -> bool:
    """Whether ``text`` lacks most of the chunks after the first (told by their openings)."""
    told = _trigrams(text)
    missed = 0
    for chunk in chunks[1:]:
        wanted = _trigrams(_opening(chunk))
        missed += len(wanted & told) * 2 <= len(wanted)
    return missed * 2 > len(chunks) - 1


# A chunk's opening paragraphs, this long, tell whether a text holds the chunk.
_OPENING_CHARS = 400


def _opening(chunk: Any) -> str:
    parts: list[str] = []
    size = 0
    for paragraph in chunk.iter("p"):
        parts.append(paragraph.text_content())
        size += len(parts[-1])
        if size >= _OPENING_CHARS:
            break
    return " ".join(parts)


def _chunked_text(page: HtmlPage, rules: ExtractionRules, *, fast: bool, document: Any) -> str:
    """trafilatura's text of ``document``; of its chunks joined when it read only the first."""
    text = _trafilatura_text(page, rules, fast=fast, document=document)
    # A text as long as the document's paragraphs missed none of them.
    if not rules.join_body_chunks or not text or len(text) >= _paragraph_chars(document):
        return text
    chunks = _chunks(document)
    if chunks and _missed_chunks(text, chunks):
        whole = _trafilatura_text(page, rules, fast=fast, document=_joined(document, chunks))
        if len(whole) > len(text) and _holds_most_of(whole, text):
            return whole
    return text


def _body(
    page: HtmlPage, container: _Container | None, compare: bool, rules: ExtractionRules, home: frozenset[str]
) -> str:
    """The article's text: from its container when one was found, else (or when that gave
    nothing, or looks wrong) from the whole page, which is stripped of boilerplate only then."""
    read: Any = None  # the stripped page as trafilatura reads it: made once, read by either pass

    def whole_page(*, fast: bool) -> str:
        nonlocal read
        if read is None:
            strip_boilerplate(page.tree, rules, home)
            read = _without_chrome(page.tree)
        return _chunked_text(page, rules, fast=fast, document=read)

    def scope_chars() -> int:
        if container is not None and container.in_stream:
            return _paragraph_chars(container.document)
        # The page as the container was chosen on, unless the whole page was stripped since.
        return container.page_chars if container is not None and read is None else _paragraph_chars(page.tree)

    text = ""
    if container is not None:
        strip_boilerplate(container.document, rules, home)
        text = _chunked_text(page, rules, fast=not compare, document=container.document)
    if not text:
        text = whole_page(fast=not compare)
    if (
        not compare
        and rules.second_opinion
        and _needs_second_opinion(text, scope_chars, rules)
        and not (rules.structured_body_vouches and _told_by_structured_body(page, text))
    ):
        # trafilatura's comparison with readability and jusText: costly, so only when in doubt.
        second = whole_page(fast=False)
        menu_like = _mean_line(text) < rules.menu_line_chars
        prose = _mean_line(second) >= rules.menu_line_chars
        # A menu-like fast pass loses to prose even when the prose is shorter; nothing loses to anything.
        longer = len(second) > len(text) and (
            not rules.second_opinion_same_text
            or len(text) < _ARTICLE_MIN_CHARS  # a teaser, not an article the second might contradict
            or _holds_most_of(second, text)
        )
        if not text or (prose and (longer or menu_like)):
            text = second
    if rules.script_body and len(text) < _SHORT_BODY_CHARS:
        embedded = _script_body(page, rules)
        if len(embedded) > len(text):
            text = embedded
    return text.strip()


# The page's chrome: trafilatura deletes these in its cleaning whatever they hold, but only after
# its first passes (its pruning queries, its measure of the page's text) have walked them.
_CHROME_TAGS = ("nav", "footer", "aside", "menu")


def _without_chrome(tree: Any) -> Any:
    """A copy of the page without its chrome (navigation, footers, asides, menus). A copy: the
    page's dates are read later from the page itself, and a footer or an aside is where some
    pages print them."""
    copied = copy.deepcopy(tree)
    body = copied.find("body")
    if body is not None:
        etree.strip_elements(body, *_CHROME_TAGS, with_tail=False)
    return copied


def canonical_of(page: HtmlPage, obj: dict[str, Any] | None) -> str:
    for raw in (
        page.canonical,
        page.first_meta("og:url"),
        _first_str(obj.get("mainEntityOfPage")) if obj else None,
        _first_str(obj.get("url")) if obj else None,
    ):
        if raw:
            try:
                return normalize_url(raw, page.base_url)
            except InvalidURL:  # malformed, or relative to a saved file's URL: try the next one
                continue
    try:
        return normalize_url(page.url)
    except InvalidURL:
        return page.url  # a saved file (file:// URL) without a canonical of its own


def _published_at(page: HtmlPage, canonical_url: str) -> HtmlPage:
    """``page`` as published: at its canonical URL when it was read from a saved file."""
    if _is_web_address(page.url) or not _is_web_address(canonical_url):
        return page
    return dataclasses.replace(page, url=canonical_url)


def _is_web_address(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _home_sites(url: str, canonical_url: str) -> frozenset[str]:
    """The outlet's registered domains: of the URL the page came from and of the canonical URL it
    declares (a syndicated copy's original; a saved file's only clue); web addresses only."""
    sites = (_site_of(u) for u in (url, canonical_url) if _is_web_address(u))
    return frozenset(s for s in sites if s)


def extract_article(
    page: HtmlPage, *, compare_extractors: bool = False, rules: ExtractionRules = DEFAULT_RULES
) -> Article:
    """Every field of the article on ``page``; raises ExtractionError when it has no body.

    ``compare_extractors`` runs trafilatura's readability/jusText comparison on every page rather
    than only where the fast pass looks wrong (README "Extraction quality").
    """
    _drop_unread(page.tree)
    obj = page.article_object()
    headlines = _headlines(page, obj, rules)
    title = headlines.title
    canonical_url = canonical_of(page, obj)
    # What the outlet's address tells (its name, its country's time zone, a date in its path) a
    # saved file's URL does not: there the page's own canonical URL stands in for it.
    published = _published_at(page, canonical_url)
    # Bylines are read from the page as served: boilerplate removal below edits the tree, and a
    # byline sitting in a list of links is not a teaser.
    authors = _authors(published, obj, rules)
    # The container is found before any boilerplate goes: then only the container is stripped.
    container = None if compare_extractors else _localised(page, rules, headlines.versions)
    home = _home_sites(page.url, canonical_url)
    body = visible_text(_body(page, container, compare_extractors, rules, home))
    if rules.drop_referral_lines:
        body = drop_referral_lines(body, headlines.versions)
    for version in sorted(headlines.versions, key=len, reverse=True):
        if body.startswith(version):
            # trafilatura keeps a headline that sits inside the article element: it is not body text.
            body = body[len(version) :].lstrip()
            break
    if not body:
        raise ExtractionError("no article text found", url=page.url)
    section = (_first_str(obj.get("articleSection")) if obj else None) or page.first_meta("article:section")
    tags = (
        (_keywords(obj.get("keywords")) if obj else [])
        or [t for t in (_clean(x) for x in page.meta.get("article:tag", [])) if t]
        or _keywords(page.first_meta("news_keywords", "keywords"))
    )
    image = (_first_str(obj.get("image")) if obj else None) or page.first_meta("og:image", "twitter:image")
    return Article(
        url=page.url,
        canonical_url=canonical_url,
        title=title,
        authors=list(dict.fromkeys(authors)),
        published_at=_published(published, obj, rules),
        modified_at=_modified(published, obj, rules),
        language=_language(page, obj, body),
        section=section,
        tags=list(dict.fromkeys(tags))[:50],
        description=(_clean(obj.get("description")) if obj else None)
        or page.first_meta("og:description", "description", "twitter:description"),
        body=body,
        image_url=urljoin(page.base_url, image) if image else None,
        paywalled=_paywalled(page),
        site_name=page.first_meta("og:site_name", "application-name"),
        **_live(page),
    )


# Elements whose content no reader sees as text: styles, vector drawings (an icon is dozens of
# paths), fallbacks for browsers without scripts, templates, frames and media players. Scripts stay:
# JSON-LD was read at parse time, but a client-rendered article's text is looked for in them.
_UNREAD_TAGS = ("style", "svg", "noscript", "template", "iframe", "canvas", "video", "audio", "picture")


def _drop_unread(tree: Any) -> None:
    """Remove from the body what no reader sees as text, keeping the text that follows each: every
    later pass (localisation, boilerplate, trafilatura's cleaning and scoring) walks less
    (README "Cost"). Links were discovered before: the tree is the extraction's now."""
    body = tree.find("body")
    if body is not None:
        etree.strip_elements(body, *_UNREAD_TAGS, with_tail=False)


def _live(page: HtmlPage) -> dict[str, Any]:
    """Whether the page is a live blog, and when its coverage starts and ends (``Article.live``)."""
    for obj in page.jsonld:
        if "liveblogposting" in jsonld_types(obj):
            return {
                "live": True,
                "coverage_start": _live_stamp(obj.get("coverageStartTime") or obj.get("datePublished")),
                "coverage_end": _live_stamp(obj.get("coverageEndTime")),
            }
    return {}


def _live_stamp(value: Any) -> datetime | None:
    """A live blog's own time of day, in UTC where it gives no offset (an hour off at worst: it
    only bounds the refetching). A bare date is none: read as midnight, it would end a blog
    started that evening within hours."""
    stamp = _parse_stamp(value) if isinstance(value, str) and ":" in value else None
    if stamp is not None and stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp


def warm_up() -> None:
    """Build now the tables the extraction's libraries load on their first use: jusText's
    stoplists of every language and their lower-cased set, the public-suffix list, dateparser's
    locales and time-zone patterns, htmldate's month names (about 0.4 s of CPU and 30 MB).

    This module calls it once when it is imported, so that the bill is the process's start-up
    and not the first page that happens to need a table: unwarmed, one page's extraction took
    160 ms instead of 23 (dateparser's time-zone patterns, session 42), and in a process that
    runs trafilatura too the one that goes first pays for both. A worker's parent imports this
    before it forks its pool: the children share the tables instead of each building them.
    """
    import dateparser as date_parser
    import trafilatura.external as trafilatura_fallbacks
    from htmldate.extractors import month_words
    from justext.core import define_stoplist

    if trafilatura_fallbacks.JT_STOPLIST is None:  # built anew on every call
        trafilatura_fallbacks.jt_stoplist_init()
    # jusText lower-cases the 150,000 words into a set on a stoplist's first use, then caches it
    define_stoplist(trafilatura_fallbacks.JT_STOPLIST)
    registered_domain("www.example.co.uk")
    month_words()
    date_parser.parse("12 novembre 2019 14:07 CET")


warm_up()
