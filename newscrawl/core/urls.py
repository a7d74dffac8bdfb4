"""URL normalisation and the cheap checks made before a URL enters the frontier."""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import SplitResult, urljoin, urlsplit

from courlan import extract_domain
from courlan import normalize_url as _courlan_normalize
from w3lib.url import canonicalize_url

from newscrawl.core.errors import InvalidURL

# Links to these are never documents newscrawl parses.
_SKIP_EXTENSIONS = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|ico|bmp|tiff?|avif|mp[34]|m4[av]|mov|avi|wmv|webm|ogg|wav|flac|"
    r"pdf|docx?|xlsx?|pptx?|odt|zip|gz|tgz|bz2|xz|7z|rar|exe|dmg|apk|iso|css|js|json|woff2?|ttf|eot)$",
    re.IGNORECASE,
)


def join_url(base: str, href: str) -> str:
    """``href`` resolved against ``base``; a protocol-relative ``//host/path`` in a page read from
    a file takes https (the file's own scheme would turn it into a local path). Raises ValueError
    on what urllib cannot parse, as urljoin does."""
    if href.startswith("//") and not base.startswith(("http://", "https://")):
        return "https:" + href
    return urljoin(base, href)


def normalize_url(url: str, base: str | None = None) -> str:
    """Return the normal form of ``url``: the key of the seen-URL filter.

    Resolves against ``base``; lower-cases scheme and host; drops the default port, the fragment
    and tracking parameters (utm_*, fbclid, ...); resolves dot segments and sorts the query.
    """
    return _normalized(url, base)


# A listing's links are mostly those of its last visit and of its host's other pages (menus,
# the same stories in several sections): most normalisations were done before. Bounded: a few MB.
_NORMALIZED_CACHE_SIZE = 16_384


@functools.lru_cache(maxsize=_NORMALIZED_CACHE_SIZE)
def _normalized(url: str, base: str | None) -> str:
    raw = url.strip()
    try:
        # urllib raises ValueError on what strangers write: "http://[oops/", ports past 65535.
        if base is not None:
            raw = join_url(base, raw)
        parts = urlsplit(raw)
        absolute = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise InvalidURL(f"malformed URL: {exc}", url=url) from exc
    if not absolute:
        raise InvalidURL("not an absolute http(s) URL", url=url)
    hostname = parts.hostname or ""
    if hostname.endswith("."):
        if not hostname.strip("."):
            raise InvalidURL("not an absolute http(s) URL: no host name", url=url)
        raw = _without_root_dot(parts).geturl()
    try:
        cleaned = _courlan_normalize(raw)
        return str(canonicalize_url(cleaned, keep_fragments=False))
    except ValueError as exc:
        raise InvalidURL(f"malformed URL: {exc}", url=url) from exc


def _without_root_dot(parts: SplitResult) -> SplitResult:
    """``example.com.`` spells out the DNS root: it is ``example.com``, one host with one
    politeness key and one outlet, however a link writes it."""
    userinfo, at, host_port = parts.netloc.rpartition("@")
    host, colon, port = host_port.partition(":")  # a bracketed IPv6 address never ends in a dot
    return parts._replace(netloc=f"{userinfo}{at}{host.rstrip('.')}{colon}{port}")


def host_of(url: str) -> str:
    """The politeness key of a URL: host and non-default port, lower case, an IPv6 address in
    brackets as in the URL (``robots_lease`` builds the host's robots.txt address from it)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a normalised URL never has a bad port; a raw one may
        return host
    if port and not (parts.scheme == "http" and port == 80) and not (parts.scheme == "https" and port == 443):
        return f"{host}:{port}"
    return host


def is_fetchable(url: str, max_length: int) -> str | None:
    """Why ``url`` should not enter the frontier, or None when it may."""
    if len(url) > max_length:
        return "url_too_long"
    try:
        path = urlsplit(url).path
    except ValueError:
        return "invalid_url"
    if _SKIP_EXTENSIONS.search(path) and not path.lower().endswith(".xml.gz"):  # gzipped sitemaps
        return "not_a_document"
    # A path repeating the same segment many times is a classic spider trap.
    segments = [s for s in path.split("/") if s]
    if len(segments) > 12 or (segments and max(segments.count(s) for s in segments) > 3):
        return "trap"
    return None


def registered_domain(host: str) -> str:
    """The domain a host was registered under, by the Public Suffix List, its private section
    included: ``www.example.gouv.fr`` -> ``example.gouv.fr``, ``x.blogspot.com`` stays itself (one
    blog, not all of Blogspot). An IP address is its own domain; a name under a suffix the list
    does not have (``.test``, ``localhost``) keeps its last two labels, the list's default rule.
    A ``:port`` is dropped.
    """
    name = host.lower().rstrip(".")
    if name.startswith("["):  # [v6]:port
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    try:
        listed = extract_domain(f"http://{name}/")
    except ValueError:  # a name urllib cannot split
        listed = None
    return listed or ".".join(name.split(".")[-2:])


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allowed_target(entry: str) -> tuple[Network, int | None]:
    """An allowed target: "CIDR" (any port), "CIDR:port" or "[v6 CIDR]:port"."""
    text, port = entry.strip(), None
    if text.startswith("["):
        net, _, rest = text[1:].partition("]")
        text, port = net, int(rest.removeprefix(":")) if rest else None
    elif text.count(":") == 1:
        text, port_text = text.split(":")
        port = int(port_text)
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{entry!r}: port out of range")
    return ipaddress.ip_network(text, strict=False), port
