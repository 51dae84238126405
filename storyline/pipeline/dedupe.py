"""Stage 3 — find exact and near-identical copies.

Exact copies share the hash of their comparison form (see
:func:`storyline.pipeline.normalize.comparison_form`). Near copies — the same
sentence with a word changed, a name spelt differently, a clause added — are
found with MinHash LSH over character 5-grams (rensa, a Rust MinHash: about
twenty times faster than datasketch here, which made dedupe the slowest stage),
then confirmed on the estimated Jaccard similarity and on the figures stated.
Paraphrases (the same fact in other words) share few 5-grams and are left to
the clusterer: they are different snippets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rensa import RMinHash, RMinHashLSH

from storyline.pipeline.normalize import comparison_form
from storyline.types import DuplicateMatch, Snippet

NUM_PERM = 128
SEED = 42  # stored signatures are compared with new ones: never change it
SHINGLE = 5
# 32 bands of 4 rows: a pair becomes a candidate with probability 1-(1-J^4)^32,
# above 0.5 from J = 0.42, above 0.99 from J = 0.59 — below the 0.65 confirmation
# threshold, so banding rarely hides a true near copy.
NUM_BANDS = 32
_STATE_PREFIX = b"Rensa:"  # older stores kept datasketch hash values instead


def shingles(text: str) -> list[str]:
    form = comparison_form(text)
    if len(form) <= SHINGLE:
        return [form]
    return [form[i : i + SHINGLE] for i in range(len(form) - SHINGLE + 1)]


def signatures(texts: list[str]) -> list[RMinHash]:
    """MinHash signatures of many texts (one call into rensa for all of them)."""
    return RMinHash.from_token_sets([shingles(t) for t in texts], NUM_PERM, SEED)


def signature(text: str) -> RMinHash:
    return signatures([text])[0]


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers(text: str) -> frozenset[str]:
    """The figures a text states: a copy must state the same ones."""
    return frozenset(n.replace(",", "") for n in _NUMBER.findall(text))


def signature_bytes(m: RMinHash) -> bytes:
    """rensa's own versioned serialisation (what pickle stores)."""
    return m.__getstate__()


def signature_from_bytes(blob: bytes) -> RMinHash | None:
    """The stored signature, or None where an older storyline made it."""
    if not blob.startswith(_STATE_PREFIX):
        return None
    m = RMinHash(NUM_PERM, SEED)
    m.__setstate__(blob)  # the inverse of signature_bytes, as pickle uses it
    return m


class DuplicateIndex:
    """Exact keys and an LSH index over the canonical snippets seen so far.

    >>> from storyline.pipeline.normalize import normalize
    >>> from storyline.types import Record
    >>> def snippet(text):
    ...     return normalize(Record(text=text, batch="1"))
    >>> index = DuplicateIndex()
    >>> first = snippet("Fed official says the weak data of the winter were caused by weather")
    >>> index.add(1, first.key, signature(first.text), first.text)
    >>> copy = snippet("Fed official says the weak data of the winter were caused by the weather")
    >>> match = index.match(copy, signature(copy.text))
    >>> match.kind, match.canonical_id
    ('near', 1)
    >>> other = snippet("Apple releases iOS 7.1 with CarPlay")
    >>> index.match(other, signature(other.text)).kind
    'new'
    """

    def __init__(self, threshold: float = 0.65) -> None:
        self.threshold = threshold
        self._lsh = RMinHashLSH(threshold, NUM_PERM, NUM_BANDS)
        self._keys: dict[str, int] = {}
        self._signatures: dict[int, RMinHash] = {}
        self._numbers: dict[int, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def load(self, rows: Iterable[tuple[int, str, bytes | None, str]]) -> None:
        """Fill from stored (snippet id, key, signature, text) rows."""
        stale: list[tuple[int, str, str]] = []
        for snippet_id, key, blob, text in rows:
            self._keys[key] = snippet_id
            sig = signature_from_bytes(blob) if blob else None
            if sig is None:
                stale.append((snippet_id, key, text))
            else:
                self.add(snippet_id, key, sig, text)
        # Signatures from an older format are recomputed from the text (cheap).
        for (snippet_id, key, text), sig in zip(stale, signatures([t for _, _, t in stale])):
            self.add(snippet_id, key, sig, text)

    def add(self, snippet_id: int, key: str, sig: RMinHash, text: str) -> None:
        self._keys[key] = snippet_id
        self._numbers[snippet_id] = numbers(text)
        if snippet_id not in self._signatures:
            self._signatures[snippet_id] = sig
            self._lsh.insert(snippet_id, sig)

    def match(self, snippet: Snippet, sig: RMinHash) -> DuplicateMatch:
        """Is ``snippet`` a copy of a canonical snippet already indexed?"""
        exact = self._keys.get(snippet.key)
        if exact is not None:
            return DuplicateMatch(canonical_id=exact, kind="exact")
        return nearest_copy(snippet, sig, self._lsh.query(sig), self._signatures,
                            self._numbers, self.threshold)


def nearest_copy(snippet: Snippet, sig: RMinHash, candidates: Iterable[int],
                 signatures_of: dict[int, RMinHash], numbers_of: dict[int, object],
                 threshold: float) -> DuplicateMatch:
    """The near copy among LSH ``candidates``: the most similar one stating the same
    figures, at or over ``threshold`` (ties to the oldest id), else a new snippet."""
    best_id, best = None, 0.0
    figures = numbers(snippet.text)
    for candidate in candidates:
        # "300 killed" and "3,000 killed" differ by one character and are two
        # claims, not one: a near copy states the same figures.
        if numbers_of[candidate] != figures:
            continue
        similarity = sig.jaccard(signatures_of[candidate])
        if similarity > best or (similarity == best and best_id is not None
                                 and candidate < best_id):
            best_id, best = candidate, similarity
    if best_id is not None and best >= threshold:
        return DuplicateMatch(canonical_id=best_id, kind="near", similarity=best)
    return DuplicateMatch(canonical_id=None, kind="new", similarity=best)
