"""Content fingerprints: an exact hash of the normalised body and a 64-bit simhash."""

from __future__ import annotations

import hashlib
import re

_WORD = re.compile(r"\w+", re.UNICODE)
SHINGLE_WORDS = 3


def normalize_body(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def content_hash(text: str) -> str:
    return hashlib.sha256(normalize_body(text).encode("utf-8")).hexdigest()[:32]


_LANE_BITS = 32
# SPREAD[v] puts bit j of byte v into lane j of a wide integer, so adding SPREAD values counts
# set bits for 8 positions at once: a simhash costs 8 additions per shingle instead of 64 tests.
_SPREAD = tuple(sum(1 << (_LANE_BITS * j) for j in range(8) if v >> j & 1) for v in range(256))
_LANE_MASK = (1 << _LANE_BITS) - 1


def shingle_digests(text: str) -> set[bytes]:
    """8-byte blake2b digests of the distinct 3-word shingles of ``text``."""
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        shingles = {" ".join(words)} if words else set()
    else:
        shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}
    return {hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest() for s in shingles}


def simhash(text: str) -> int:
    """Charikar's simhash over 3-word shingles: near-identical bodies differ in few bits."""
    return simhash_of_digests(shingle_digests(text))


def simhash_of_digests(digests: set[bytes]) -> int:
    if not digests:
        return 0
    packed = b"".join(digests)
    spread = _SPREAD
    half = len(digests) // 2
    value = 0
    for i in range(8):
        # Byte i of every digest at once: lane j of ``lanes`` counts how often its bit j is set.
        lanes = sum(spread[byte] for byte in packed[i::8])
        for j in range(8):
            if (lanes >> (_LANE_BITS * j)) & _LANE_MASK > half:
                value |= 1 << (8 * (7 - i) + j)  # digests are big-endian: byte 0 holds bits 63..56
    return value
