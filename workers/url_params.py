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

What is learned lives in the process (bounded; a restarted worker learns again from its first
few articles of each host).
"""

from __future__ import annotations

from collections import OrderedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newscrawl.core.errors import InvalidURL
from newscrawl.core.urls import normalize_url

# Pages of this many distinct canonical URLs must drop a parameter before it is stripped.
MIN_EVIDENCE = 2
MAX_HOSTS = 10_000
MAX_PARAMS_PER_HOST = 32


class LearnedParams:
    def __init__(self, *, max_hosts: int = MAX_HOSTS) -> None:
        self._max_hosts = max_hosts
        # host -> parameter name -> canonical URLs that dropped it (up to MIN_EVIDENCE)
        self._evidence: OrderedDict[str, dict[str, set[str]]] = OrderedDict()
        self._learned: dict[str, frozenset[str]] = {}

    def ignorable(self, host: str) -> frozenset[str]:
        return self._learned.get(host, frozenset())

    def observe(self, url: str, canonical_url: str) -> None:
        """``url`` (as linked and fetched) declared ``canonical_url``: the parameters it has and
        the canonical lacks, on the same host and path, did not make it another page."""
        shed = _shed_params(url, canonical_url)
        if not shed:
            return
        host = urlsplit(url).netloc
        evidence = self._evidence.get(host)
        if evidence is None:
            evidence = self._evidence[host] = {}
            if len(self._evidence) > self._max_hosts:
                old, _ = self._evidence.popitem(last=False)
                self._learned.pop(old, None)
        else:
            self._evidence.move_to_end(host)
        learned = set(self._learned.get(host, ()))
        for name in shed:
            if name in learned or (name not in evidence and len(evidence) >= MAX_PARAMS_PER_HOST):
                continue
            seen = evidence.setdefault(name, set())
            seen.add(canonical_url)
            if len(seen) >= MIN_EVIDENCE:
                learned.add(name)
        if learned:
            self._learned[host] = frozenset(learned)

    def clean(self, url: str) -> str:
        """``url`` without the parameters its host's pages were seen to ignore."""
        parts = urlsplit(url)
        names = self._learned.get(parts.netloc)
        if not names or not parts.query:
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
