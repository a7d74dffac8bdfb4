"""Records that cross role boundaries: what the frontier hands out and hears back, what a page yields.

Plain data only. The scheduler's policy, the workers' pipeline and the app all speak in these.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

UrlKind = Literal["feed", "sitemap", "listing", "article", "robots"]
URL_KINDS: tuple[UrlKind, ...] = ("feed", "sitemap", "listing", "article", "robots")

_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class FrontierEntry:
    url: str
    kind: UrlKind
    outlet: str | None = None
    depth: int = 0
    # Publication time announced by a feed or sitemap: articles run newest first.
    published_ts: float | None = None
    referrer: str | None = None
    # Place among the links of a page without dates (a listing's teasers): the top one runs first.
    position: int = 0
    # When a feed (``updated``) or sitemap (``lastmod``) says the page last changed: a story
    # fetched before that is fetched again (the policy's ``refetch_due``).
    modified_ts: float | None = None
    # The story's headline as this page shows it (:func:`headline_key`): the same page showing
    # it under another later says the story changed (the policy's ``headline_refetch``) since
    # the page's previous visit (``previous_visit_ts``): a fetch after that has the change.
    headline: str | None = None
    previous_visit_ts: float | None = None


@dataclass(frozen=True)
class Lease:
    url: str
    host: str
    kind: UrlKind
    outlet: str | None
    depth: int
    attempts: int = 0
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    # When the frontier handed it out: a report for an expired lease is ignored.
    leased_at: float | None = None
    # When it became due (its host's turn came later: the politeness wait).
    due_at: float | None = None
    # A revisited source's schedule so far: the policy adapts the next interval from it.
    interval_s: float | None = None
    fetched_at: float | None = None  # the previous fetch
    last_new_at: float | None = None  # the last visit that yielded a new article link
    # The source's rate of new links: a decayed count of them over a decayed span of seconds.
    new_ewma: float | None = None
    span_ewma: float | None = None
    # Times its holder died with it (the lease expired unreported) since it was last settled.
    lost: int = 0
    # A live blog's: until when it is fetched again (FrontierPolicy.after_success).
    live_until: float | None = None

    @property
    def found_section(self) -> bool:
        """A listing the crawl found on a seed page (a possible section), not one the outlets
        file gave (those are at depth 0)."""
        return self.kind == "listing" and self.depth > 0

    @property
    def section_on_trial(self) -> bool:
        """A possible section not yet shown to be one: its first visit, or a later look at one
        that listed too few articles before (it has no revisit schedule of its own yet)."""
        return self.found_section and self.interval_s is None


_LEASE_FIELDS = frozenset(f.name for f in fields(Lease))


def lease_to_json(lease: Lease) -> dict[str, Any]:
    """A lease as a task argument (JSON)."""
    return asdict(lease)


def lease_from_json(data: dict[str, Any]) -> Lease:
    """A task's lease; fields this version does not know (from a newer scheduler, during a
    rolling update) are left out rather than failing the task."""
    return Lease(**{k: v for k, v in data.items() if k in _LEASE_FIELDS})


@dataclass(frozen=True)
class Outcome:
    """What a successful fetch tells the frontier."""

    status: int
    final_url: str | None = None
    kind: UrlKind | None = None  # the kind the page turned out to be
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    # Article URLs this visit added to the frontier for the first time (found by no other source
    # before), and whether the page changed at all (a 304 or the same body: no).
    new_articles: int = 0
    changed: bool = True
    # The article links the page listed with a publication date, and the oldest date: on a
    # first visit, the rate a feed or sitemap has been publishing at.
    dated_links: int = 0
    oldest_dated_ts: float | None = None
    # False for a page found as a possible section that lists too few articles to be one (a
    # service page, a search form, or a section still nearly empty): it is looked at again
    # less and less often (FrontierPolicy.after_success), and becomes a source once it lists enough.
    keep_source: bool = True
    # The page is a live blog, its coverage starting at ``coverage_start_ts`` and ending at
    # ``coverage_end_ts`` when it says so: it is fetched again while it runs.
    live: bool = False
    coverage_end_ts: float | None = None
    coverage_start_ts: float | None = None


@dataclass
class AddResult:
    added: int = 0
    known: int = 0
    new_articles: int = 0  # of ``added``, those of kind "article"
    # Stories fetched before, queued again because their feed or sitemap says they changed since.
    updated: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1


@dataclass(frozen=True)
class Link:
    url: str
    # "page" (judged by the discovery policy), "sitemap" (a child sitemap), "feed" (one a
    # listing page names in its head)
    kind: str
    published_ts: float | None = None
    title: str | None = None
    # A sitemap entry in Google News markup (<news:news>): its sitemap lists the latest stories.
    news: bool = False
    # When the page last changed, by the feed (``updated``) or the sitemap (``lastmod``).
    modified_ts: float | None = None


def normalize_text(text: str) -> str:
    """Case- and whitespace-folded text: what "the same block" means everywhere."""
    return _WS.sub(" ", text).strip().lower()


# Fewer words than this is a label ("Read more", "Live", a comment count), not a headline.
_HEADLINE_MIN_WORDS = 3


_DIGITS = re.compile(r"\d+")


def headline_key(title: str | None) -> str | None:
    """A short digest of a headline (case, spacing and numbers folded), or None for no headline:
    what a listing, feed or sitemap shows of a story, compared from one visit to the next.
    Numbers are left out: a link that carries its story's age ("5 min ago") or a counter
    would change at every visit, while a rewritten headline changes its words."""
    text = normalize_text(_DIGITS.sub("#", title or ""))
    if len(text.split(" ")) < _HEADLINE_MIN_WORDS:
        return None
    return hashlib.blake2b(text.encode("utf-8"), digest_size=6).hexdigest()


@dataclass(frozen=True)
class Teaser:
    """A block on a listing page that points at one article (headline, kicker, lede)."""

    page_url: str
    article_url: str
    text: str
    headline: str = ""  # the link text: the teased article's headline, as this host prints it

    @property
    def block_hash(self) -> str:
        return hashlib.sha1(normalize_text(self.text).encode("utf-8")).hexdigest()
