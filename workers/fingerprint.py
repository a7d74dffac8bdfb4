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


# One byte with bit j set: repeated once per digest, a mask that keeps bit j of every byte of a
# column, so that counting how many digests have a bit set is one AND and one popcount in C.
_BYTE_BIT = tuple(bytes([1 << j]) for j in range(8))


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
    half = len(digests) // 2
    masks = [int.from_bytes(bit * len(digests)) for bit in _BYTE_BIT]
    value = 0
    for i in range(8):
        column = int.from_bytes(packed[i::8])  # byte i of every digest
        for j, mask in enumerate(masks):
            if (column & mask).bit_count() > half:
                value |= 1 << (8 * (7 - i) + j)  # digests are big-endian: byte 0 holds bits 63..56
    return value
