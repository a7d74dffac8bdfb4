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


def _hash64(data: str) -> int:
    return int.from_bytes(hashlib.blake2b(data.encode("utf-8"), digest_size=8).digest(), "big")


def simhash(text: str) -> int:
    """Charikar's simhash over 3-word shingles: near-identical bodies differ in few bits."""
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        shingles = [" ".join(words)] if words else []
    else:
        shingles = [" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)]
    if not shingles:
        return 0
    hashes = [_hash64(s) for s in set(shingles)]
    half = len(hashes) / 2
    value = 0
    for bit in range(64):
        mask = 1 << bit
        if sum(1 for h in hashes if h & mask) > half:
            value |= mask
    return value


def simhash_hex(text: str) -> str:
    return f"{simhash(text):016x}"


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
