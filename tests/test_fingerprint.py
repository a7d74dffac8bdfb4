"""Content fingerprints stay what the stores hold: a faster simhash must give the same bits."""

from __future__ import annotations

import hashlib
import random

from workers.fingerprint import shingle_digests, simhash, simhash_of_digests

STORY = (
    "Storm closes harbour as ferries halt service. The harbour council met again today to talk "
    "about the budget and the ferries, and the mayor said the storm would pass by Friday."
)


def _counted(digests: set[bytes]) -> int:
    """Charikar's simhash written out bit by bit: bit b is set when more than half the digests
    (big-endian 64-bit integers) have it."""
    numbers = [int.from_bytes(d, "big") for d in digests]
    return sum(1 << b for b in range(64) if sum(n >> b & 1 for n in numbers) > len(numbers) // 2)


def test_the_simhash_of_a_story_is_the_one_stored_by_earlier_versions() -> None:
    # Values of the session-29 implementation: documents stored before an upgrade keep
    # matching their near duplicates fetched after it.
    assert simhash(STORY) == 17430607197886840226
    assert simhash("one two") == 561697725256166493
    assert simhash("") == 0


def test_the_simhash_counts_each_bit_over_the_digests() -> None:
    rng = random.Random(7)
    for size in (1, 2, 3, 8, 9, 100, 1501):
        digests = {rng.randbytes(8) for _ in range(size)}
        assert simhash_of_digests(digests) == _counted(digests)
    words = STORY.lower().replace(".", "").replace(",", "").split()
    shingles = {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}
    expected = {hashlib.blake2b(s.encode(), digest_size=8).digest() for s in shingles}
    assert shingle_digests(STORY) == expected
