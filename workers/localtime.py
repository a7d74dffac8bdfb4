"""The time zone a page's clock times are written in, when the page does not say.

A stamp without an offset ("2025-01-05 15:23", or a time printed beside the date) is written in
the newsroom's local time far more often than in UTC: read as UTC, a Swiss page's 15:23 in
January is an hour late and its time to index comes out an hour short. The page rarely names its
zone, but it names its country: the host's country-code domain, else the region of a declared
locale ("de-AT", og:locale "en_GB"), else a language written in one zone only. Only countries
that keep one clock are mapped; a page from anywhere else (.com in English, the US, Brazil,
Russia) keeps UTC, the old answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Countries with one civil time (as far as news goes) and their zone.
_COUNTRY_ZONE = {
    **dict.fromkeys(
        ("de", "at", "ch", "li", "it", "fr", "es", "nl", "be", "lu", "pl", "cz", "sk", "hu", "si", "hr"),
        "Europe/Berlin",
    ),
    **dict.fromkeys(
        ("dk", "se", "no", "rs", "ba", "mk", "al", "mt", "va", "sm", "mc", "ad"), "Europe/Berlin"
    ),
    **dict.fromkeys(("fi", "ee", "lv", "lt", "gr", "ro", "bg", "cy", "ua", "md"), "Europe/Helsinki"),
    **dict.fromkeys(("uk", "gb", "ie", "pt"), "Europe/London"),
    "is": "Atlantic/Reykjavik",
    "tr": "Europe/Istanbul",
    "il": "Asia/Jerusalem",
    "by": "Europe/Minsk",
    "ge": "Asia/Tbilisi",
    "az": "Asia/Baku",
    "ae": "Asia/Dubai",
    "sa": "Asia/Riyadh",
    "qa": "Asia/Qatar",
    "eg": "Africa/Cairo",
    "za": "Africa/Johannesburg",
    "ng": "Africa/Lagos",
    "ke": "Africa/Nairobi",
    "gh": "Africa/Accra",
    "ma": "Africa/Casablanca",
    "in": "Asia/Kolkata",
    "pk": "Asia/Karachi",
    "bd": "Asia/Dhaka",
    "lk": "Asia/Colombo",
    "np": "Asia/Kathmandu",
    "th": "Asia/Bangkok",
    "vn": "Asia/Ho_Chi_Minh",
    "my": "Asia/Kuala_Lumpur",
    "sg": "Asia/Singapore",
    "ph": "Asia/Manila",
    "hk": "Asia/Hong_Kong",
    "cn": "Asia/Shanghai",
    "tw": "Asia/Taipei",
    "kr": "Asia/Seoul",
    "jp": "Asia/Tokyo",
    "nz": "Pacific/Auckland",
    "ar": "America/Argentina/Buenos_Aires",
    "co": "America/Bogota",
    "pe": "America/Lima",
    "ve": "America/Caracas",
    "uy": "America/Montevideo",
}
# Country-code domains sold worldwide as names (".tv", ".io", ".co", ".me"): they name no country.
_VANITY_DOMAINS = frozenset(
    {"co", "io", "tv", "me", "fm", "ai", "ly", "cc", "to", "ws", "la", "gg", "am", "nu"}
)
# Languages whose news is written in one zone (German: Germany, Austria, Switzerland alike).
_LANGUAGE_COUNTRY = {
    "de": "de",
    "it": "it",
    "nl": "nl",
    "pl": "pl",
    "cs": "cz",
    "sk": "sk",
    "hu": "hu",
    "sl": "si",
    "hr": "hr",
    "da": "dk",
    "sv": "se",
    "nb": "no",
    "nn": "no",
    "no": "no",
    "fi": "fi",
    "et": "ee",
    "lv": "lv",
    "lt": "lt",
    "el": "gr",
    "ro": "ro",
    "bg": "bg",
    "tr": "tr",
    "he": "il",
    "ja": "jp",
    "ko": "kr",
    "zh": "cn",
    "th": "th",
    "vi": "vn",
}


def host_country(url: str) -> str | None:
    """The country a host's country-code domain names ("www.srf.ch" -> "ch"), or None."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    tld = host.rstrip(".").rsplit(".", 1)[-1].lower()
    if len(tld) != 2 or not tld.isalpha() or tld in _VANITY_DOMAINS:
        return None
    return tld


def _split_tag(tag: str) -> tuple[str, str | None]:
    """ "de_AT" -> ("de", "at"); "en" -> ("en", None); scripts ("zh-Hant-TW") are skipped."""
    parts = [p.lower() for p in tag.strip().replace("_", "-").split("-") if p]
    if not parts:
        return "", None
    region = next((p for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
    return parts[0], region


def page_country(url: str, locales: Iterable[str | None]) -> str | None:
    """The page's country, as far as it can be told without a guess: its domain, the region of a
    declared locale, or a language written in one country's zone."""
    country = host_country(url)
    if country in _COUNTRY_ZONE:
        return country
    tags = [_split_tag(t) for t in locales if t]
    for _, region in tags:
        if region in _COUNTRY_ZONE:
            return region
    for language, _ in tags:
        if language in _LANGUAGE_COUNTRY:
            return _LANGUAGE_COUNTRY[language]
    return None


@cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:  # a system without time zone data: UTC, as before
        return None


def page_zone(url: str, locales: Iterable[str | None]) -> ZoneInfo | None:
    """The zone of the page's country when that country keeps one clock; None otherwise."""
    country = page_country(url, locales)
    return _zone(_COUNTRY_ZONE[country]) if country else None
