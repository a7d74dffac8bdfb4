"""Query parameters a host's articles shed in their canonical URL: learned, then stripped.

Feeds and newsletters link a site's stories with parameters of their own (``?cmpid=rss``,
``?partner=rss&emc=rss``, ``?intcid=...``) that no fixed list knows all of; the home page links
the same stories without them, so each would be fetched twice (the dedup stage then finds the
copy by its canonical URL, after the fetch and the extraction were paid for). The site says
which parameters do not change a page: its ``rel=canonical`` drops them. A parameter is taken
for ignorable on a host once pages of ``MIN_EVIDENCE`` different canonical URLs have dropped
it (one page whose canonical drops ``?id=`` may be a template that names every article the
same; a site whose canonicals tell its articles apart keeps them apart), and only canonical
URLs that name an article by themselves count (the page processor asks the discovery policy:
``/video`` and ``/gallery`` as the canonicals of ``?id=`` pages are two templates, not two
stories). From then on the article links found on that host lose it before they reach the
frontier's seen filter.

The evidence and what it shows are kept beside the frontier for every process
(``newscrawl/core/learned.py``): two stories read by two workers show a parameter as well as two
read by one, and another worker, a replaced one and the embedded crawl after a restart strip the
parameter from the start.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newscrawl.core.errors import InvalidURL
from newscrawl.core.learned import LearnedFacts
from newscrawl.core.urls import normalize_url

# Pages of this many distinct canonical URLs must drop a parameter before it is stripped.
MIN_EVIDENCE = 2
MAX_HOSTS = 10_000


class LearnedParams:
    """A parameter the evidence shows to be ignorable is a fact of ``facts``; the evidence and
    the facts are every process's (``newscrawl/core/learned.py``)."""

    def __init__(self, facts: LearnedFacts | None = None, *, max_hosts: int = MAX_HOSTS) -> None:
        self._facts = facts if facts is not None else LearnedFacts(max_hosts=max_hosts)

    def ignorable(self, host: str) -> frozenset[str]:
        return self._facts.facts(host, "param")

    def observe(self, url: str, canonical_url: str) -> None:
        """``url`` (as linked and fetched) declared ``canonical_url``: the parameters it has and
        the canonical lacks, on the same host and path, did not make it another page."""
        shed = _shed_params(url, canonical_url)
        if not shed:
            return
        host = urlsplit(url).netloc
        for name in sorted(shed - self.ignorable(host)):
            self._facts.witness(host, "param", name, canonical_url, MIN_EVIDENCE)

    def clean(self, url: str) -> str:
        """``url`` without the parameters its host's pages were seen to ignore."""
        parts = urlsplit(url)
        if not parts.query:
            return url
        names = self.ignorable(parts.netloc)
        if not names:
            return url
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if k not in names]
        if len(kept) == len(pairs):
            return url
        try:
            return normalize_url(urlunsplit(parts._replace(query=urlencode(kept))))
        except InvalidURL:
            return url


def _shed_params(url: str, canonical_url: str) -> set[str]:
    a, b = urlsplit(url), urlsplit(canonical_url)
    if not a.query or (a.netloc, a.path) != (b.netloc, b.path):
        return set()
    own = parse_qsl(a.query, keep_blank_values=True)
    kept = parse_qsl(b.query, keep_blank_values=True)
    if not set(kept) <= set(own):
        return set()  # the canonical is not this URL with parameters dropped
    kept_names = {k for k, _ in kept}
    return {k for k, _ in own if k not in kept_names}
