"""The language of an article: what the page declares, and what its script says when it is silent.

Pages declare their language in several places (JSON-LD ``inLanguage``, ``<html lang>``,
``og:locale``, meta tags), and templates get them wrong: a Korean outlet's JSON-LD says "kr"
beside ``<html lang="ko">``, a Chinese one's meta says "utf-8", a Japanese page declares nothing.
Valid declarations vote. Where there are none, or they disagree, the body's writing system
decides when it names one language: Hangul is Korean, kana is Japanese, Han without kana is
Chinese, and so on. Latin, Cyrillic or Arabic text names no single language; a statistical
classifier (py3langid) would, but loading its model costs 0.6-0.7 s of CPU per process, which in
the crawl benchmark was 4% of the CPU per article, for 1 page in 164 of the fundus corpus.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

_SAMPLE_CHARS = 1200
# At least this many letters, and this share of them in one script, before the script decides.
_MIN_LETTERS = 40
_MIN_SHARE = 0.3

# Unicode character name prefixes of scripts that are written by one language (for news).
_SCRIPT_LANGUAGE = {
    "HANGUL": "ko",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "THAI": "th",
    "GREEK": "el",
    "HEBREW": "he",
    "GEORGIAN": "ka",
    "ARMENIAN": "hy",
}


def primary_subtag(raw: str | None) -> str | None:
    """ "de-AT" and "de_AT" -> "de"; None for what is no language tag ("utf-8", "")."""
    if not raw:
        return None
    primary = raw.strip().replace("_", "-").split("-")[0].lower()
    return primary if len(primary) == 2 and primary.isalpha() else None


def script_language(text: str) -> str | None:
    """The language the text's writing system names, if it names exactly one."""
    scripts: Counter[str] = Counter()
    letters = 0
    for char in text[:_SAMPLE_CHARS]:
        if not char.isalpha():
            continue
        letters += 1
        name = unicodedata.name(char, "")
        if name.startswith("CJK UNIFIED IDEOGRAPH"):
            scripts["HAN"] += 1
        else:
            scripts[name.split(" ", 1)[0]] += 1
    if letters < _MIN_LETTERS:
        return None
    if scripts["HIRAGANA"] + scripts["KATAKANA"] >= _MIN_SHARE * letters / 3:
        return "ja"  # Japanese mixes kana with Han: a fair share of kana is enough
    if scripts["HAN"] >= _MIN_SHARE * letters:
        return "zh"
    script, count = max(scripts.items(), key=lambda item: item[1])
    return _SCRIPT_LANGUAGE.get(script) if count >= _MIN_SHARE * letters else None


def decide_language(declared: list[str | None], body: str) -> str | None:
    """The article's language from the page's declarations (in order of trust) and its body."""
    codes = [c for c in map(primary_subtag, declared) if c]
    vote = Counter(codes).most_common()
    if len(vote) == 1:
        return vote[0][0]
    seen = script_language(body)
    if seen is not None and (not codes or seen in codes or vote[0][1] == vote[-1][1]):
        # Silent or split declarations: the script decides (among them when it can).
        return seen
    # Most declarations win; on a tie, the most trusted source (the first in ``declared``).
    return max(vote, key=lambda item: (item[1], -codes.index(item[0])))[0] if vote else None
