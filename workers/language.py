"""The language of an article: what the page declares, checked against what its text reads as.

Pages declare their language in several places (JSON-LD ``inLanguage``, ``<html lang>``,
``og:locale``, meta tags), and templates get them wrong: a Korean outlet's JSON-LD says "kr", a
Chinese one's meta says "utf-8", a site serves every page with ``lang="en"``. The declarations
vote; py3langid reads the body (0.3 ms a page), and a confident reading of enough text overrules
the vote unless the two are languages a classifier confuses (Norwegian and Danish, say), where
the page knows better.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

_MIN_TEXT_CHARS = 200
_SAMPLE_CHARS = 1200
_CONFIDENT = 0.95
# Languages a character n-gram classifier mixes up: between these, a declaration is trusted.
_KIN = (
    frozenset({"no", "nb", "nn", "da", "sv"}),
    frozenset({"id", "ms"}),
    frozenset({"hr", "sr", "bs", "sl", "mk"}),
    frozenset({"cs", "sk"}),
    frozenset({"es", "gl", "ca", "pt"}),
    frozenset({"zh", "yue", "wuu"}),
)

_identifier: Any = None
_lock = threading.Lock()


def _classifier() -> Any:
    # Loading the model takes ~0.7 s of CPU: once per process, and only when an article needs it.
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier


def known_languages() -> frozenset[str]:
    return frozenset(_classifier().nb_classes) | {"nb"}


def primary_subtag(raw: str | None) -> str | None:
    """ "de-AT" and "de_AT" -> "de"; None for what is no language tag ("utf-8", "")."""
    if not raw:
        return None
    primary = raw.strip().replace("_", "-").split("-")[0].lower()
    return primary if 2 <= len(primary) <= 3 and primary.isalpha() else None


def read_language(text: str) -> str | None:
    """The language the text reads as, when there is enough of it and the reading is confident."""
    sample = " ".join(text[:_SAMPLE_CHARS].split())
    if len(sample) < _MIN_TEXT_CHARS:
        return None
    code, probability = _classifier().classify(sample)
    return str(code) if probability >= _CONFIDENT and code != "zxx" else None


def _kin(a: str, b: str) -> bool:
    return any(a in group and b in group for group in _KIN)


def decide_language(declared: list[str | None], body: str) -> str | None:
    """The article's language from the page's declarations (in order of trust) and its body."""
    known = known_languages()
    codes = [c for c in map(primary_subtag, declared) if c and c in known]
    vote = Counter(codes).most_common()
    # Most declarations win; on a tie, the most trusted source (the first in ``declared``).
    best = max(vote, key=lambda item: (item[1], -codes.index(item[0])))[0] if vote else None
    read = read_language(body)
    if read is None or best is None or read == best:
        return best or read
    if read in codes:
        return read
    return best if _kin(read, best) else read
