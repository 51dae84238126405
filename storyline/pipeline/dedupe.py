"""Stage 3 — find exact and near-identical copies.

Exact copies share the hash of their comparison form (see
:func:`storyline.pipeline.normalize.comparison_form`). Near copies — the same
sentence with a word changed, a name spelt differently, a clause added — are
found with MinHash LSH over character 5-grams (datasketch), then confirmed on
the estimated Jaccard similarity. Paraphrases (the same fact in other words)
share few 5-grams and are left to the clusterer: they are different snippets.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash, MinHashLSH

from storyline.pipeline.normalize import comparison_form
from storyline.types import DuplicateMatch, Snippet

NUM_PERM = 128
SHINGLE = 5
SCHEME = "affine32"  # stored signatures must be read back with the scheme that made them


def shingles(text: str) -> set[bytes]:
    form = comparison_form(text)
    if len(form) <= SHINGLE:
        return {form.encode()}
    return {form[i : i + SHINGLE].encode() for i in range(len(form) - SHINGLE + 1)}


def _crc32(data: bytes) -> int:
    # A fast, deterministic 32-bit hash (datasketch's default is SHA-1, ten
    # times slower); signatures are stored, so Python's salted hash() won't do.
    return zlib.crc32(data)


def signatures(texts: list[str]) -> list[MinHash]:
    """MinHash signatures of many texts, sharing one set of permutations."""
    return MinHash.bulk([list(shingles(t)) for t in texts], num_perm=NUM_PERM, hashfunc=_crc32,
                        scheme=SCHEME)


def signature(text: str) -> MinHash:
    return signatures([text])[0]


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers(text: str) -> frozenset[str]:
    """The figures a text states: a copy must state the same ones."""
    return frozenset(n.replace(",", "") for n in _NUMBER.findall(text))


def signature_bytes(m: MinHash) -> bytes:
    return m.hashvalues.astype(np.uint64).tobytes()


def signature_from_bytes(blob: bytes) -> MinHash:
    return MinHash(num_perm=NUM_PERM, hashvalues=np.frombuffer(blob, dtype=np.uint64),
                   scheme=SCHEME)


class DuplicateIndex:
    """Exact keys and an LSH index over the canonical snippets seen so far."""

    def __init__(self, threshold: float = 0.65) -> None:
        self.threshold = threshold
        # The LSH band threshold sits below the confirmation threshold so that
        # true near copies are rarely missed by banding.
        self._lsh = MinHashLSH(threshold=max(0.4, threshold - 0.15), num_perm=NUM_PERM)
        self._keys: dict[str, int] = {}
        self._signatures: dict[int, MinHash] = {}
        self._numbers: dict[int, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def load(self, rows: Iterable[tuple[int, str, bytes | None, str]]) -> None:
        """Fill from stored (snippet id, key, signature, text) rows."""
        for snippet_id, key, blob, text in rows:
            self._keys[key] = snippet_id
            if blob:
                self.add(snippet_id, key, signature_from_bytes(blob), text)

    def add(self, snippet_id: int, key: str, sig: MinHash, text: str) -> None:
        self._keys[key] = snippet_id
        self._numbers[snippet_id] = numbers(text)
        if snippet_id not in self._signatures:
            self._signatures[snippet_id] = sig
            self._lsh.insert(snippet_id, sig)

    def match(self, snippet: Snippet, sig: MinHash) -> DuplicateMatch:
        """Is ``snippet`` a copy of a canonical snippet already indexed?"""
        exact = self._keys.get(snippet.key)
        if exact is not None:
            return DuplicateMatch(canonical_id=exact, kind="exact")
        best_id, best = None, 0.0
        figures = numbers(snippet.text)
        for candidate in self._lsh.query(sig):
            # "300 killed" and "3,000 killed" differ by one character and are two
            # claims, not one: a near copy states the same figures.
            if self._numbers[candidate] != figures:
                continue
            similarity = sig.jaccard(self._signatures[candidate])
            if similarity > best or (similarity == best and best_id is not None
                                     and candidate < best_id):
                best_id, best = candidate, similarity
        if best_id is not None and best >= self.threshold:
            return DuplicateMatch(canonical_id=best_id, kind="near", similarity=best)
        return DuplicateMatch(canonical_id=None, kind="new", similarity=best)
