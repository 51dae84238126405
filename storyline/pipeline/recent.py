"""What the engine keeps in memory between batches, bounded by the live stream.

* :class:`RecentDuplicates`: the MinHash LSH of the canonical snippets first seen
  in a window of recent batches (by days where the stream has dates), and the
  latest ``Config.near_duplicate_max`` of them at most; older ones leave it as
  the window slides. Exact copies are found at any age
  through the store's index on the snippets' keys, not here.
* :class:`MemberCache`: rows kept per snippet (the hashed word and name counts of
  the live stories' recent members, see storyline.pipeline.statistics), so that
  a batch reweighs them without reading them again; whatever left the recent
  part is dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

import numpy as np
from rensa import RMinHash, RMinHashLSH
from scipy import sparse

from storyline.pipeline.dedupe import (
    NUM_BANDS,
    NUM_PERM,
    nearest_copy,
    numbers,
    signature_from_bytes,
    signatures,
)
from storyline.types import DuplicateMatch, Snippet


class RecentDuplicates:
    """Near-copy lookup over the snippets first seen since a batch ``seq``.

    ``exact`` looks keys up wherever they are kept (the store's unique index on
    them): an exact copy is found at any age, a near copy within the window.
    """

    def __init__(self, threshold: float, exact: Callable[[list[str]], dict[str, int]],
                 capacity: int | None = None) -> None:
        self.threshold = threshold
        self.capacity = capacity  # snippets held at most, the oldest leave first
        self._exact = exact
        self._lsh = RMinHashLSH(threshold, NUM_PERM, NUM_BANDS)
        self._signatures: dict[int, RMinHash] = {}
        self._numbers: dict[int, frozenset[str]] = {}
        self._order: deque[tuple[int, int]] = deque()  # (seq, snippet id), oldest first
        self._keys: dict[str, int] = {}  # this batch's new keys, until the store has them
        self._removed = 0  # removals since the LSH was built
        self.since = 0

    def __len__(self) -> int:
        return len(self._signatures)

    def load(self, rows: Iterable[tuple[int, int, bytes | None, str]]) -> None:
        """Fill from stored (snippet id, batch seq, signature, text) rows, oldest first."""
        stale: list[tuple[int, int, str]] = []
        for snippet_id, seq, blob, text in rows:
            sig = signature_from_bytes(blob) if blob else None
            if sig is None:
                stale.append((snippet_id, seq, text))
            else:
                self.add(snippet_id, seq, sig, text)
        for (snippet_id, seq, text), sig in zip(stale, signatures([t for _, _, t in stale])):
            self.add(snippet_id, seq, sig, text)

    def add(self, snippet_id: int, seq: int, sig: RMinHash, text: str,
            key: str | None = None) -> None:
        if key is not None:
            self._keys[key] = snippet_id
        if snippet_id in self._signatures:
            return
        self._signatures[snippet_id] = sig
        self._numbers[snippet_id] = numbers(text)
        self._lsh.insert(snippet_id, sig)
        self._order.append((seq, snippet_id))
        while self.capacity and len(self._order) > self.capacity:
            self._forget(self._order.popleft()[1])

    def _forget(self, snippet_id: int) -> None:
        self._lsh.remove(snippet_id)
        del self._signatures[snippet_id], self._numbers[snippet_id]
        self._removed += 1
        if self._removed > max(len(self._signatures), 1000):
            # The LSH keeps memory for what was removed from it (0.7 KB a signature
            # measured): built again, amortised, it follows what it holds.
            self._lsh = RMinHashLSH(self.threshold, NUM_PERM, NUM_BANDS)
            for _, kept in self._order:
                self._lsh.insert(kept, self._signatures[kept])
            self._removed = 0

    def slide(self, since: int) -> int:
        """Forget the snippets first seen before batch ``since``; returns how many."""
        self.since = max(self.since, since)
        gone = 0
        while self._order and self._order[0][0] < self.since:
            self._forget(self._order.popleft()[1])
            gone += 1
        return gone

    def begin_batch(self, keys: list[str]) -> None:
        """Look the batch's keys up in the store at once (one query, not one a record)."""
        self._keys = dict(self._exact(sorted(set(keys))))

    def match(self, snippet: Snippet, sig: RMinHash) -> DuplicateMatch:
        exact = self._keys.get(snippet.key)
        if exact is not None:
            return DuplicateMatch(canonical_id=exact, kind="exact")
        return nearest_copy(snippet, sig, self._lsh.query(sig), self._signatures,
                            self._numbers, self.threshold)


class MemberCache:
    """Per snippet: its hashed term and name counts and its embedding, in chunks.

    Rows are added a chunk at a time (one sparse matrix per chunk); :meth:`keep`
    drops the snippets no longer wanted and compacts the chunks they leave
    mostly empty, so memory follows the live stories' recent members.
    """

    def __init__(self) -> None:
        self._where: dict[int, tuple[int, int]] = {}  # snippet id -> (chunk, row)
        self._chunks: dict[int, tuple[sparse.csr_matrix, sparse.csr_matrix, np.ndarray]] = {}
        self._next = 0

    def __contains__(self, snippet_id: int) -> bool:
        return snippet_id in self._where

    def __len__(self) -> int:
        return len(self._where)

    def add(self, ids: list[int], terms: sparse.csr_matrix, names: sparse.csr_matrix,
            dense: np.ndarray) -> None:
        chunk, self._next = self._next, self._next + 1
        self._chunks[chunk] = (terms.tocsr(), names.tocsr(), np.asarray(dense, np.float32))
        for row, sid in enumerate(ids):
            self._where[sid] = (chunk, row)

    def rows(self, ids: list[int]) -> tuple[sparse.csr_matrix, sparse.csr_matrix, np.ndarray]:
        """Counts and embeddings of cached snippets, in the order asked."""
        where = np.array([self._where[sid] for sid in ids], dtype=np.int64).reshape(-1, 2)
        order = np.argsort(where[:, 0], kind="stable")
        chunks, rows_of = where[order, 0], where[order, 1]
        parts_t, parts_n, parts_d = [], [], []
        for chunk in np.unique(chunks):
            rows = rows_of[chunks == chunk]
            t, n, d = self._chunks[int(chunk)]
            parts_t.append(t[rows])
            parts_n.append(n[rows])
            parts_d.append(d[rows])
        restore = np.argsort(order, kind="stable")
        return (sparse.vstack(parts_t).tocsr()[restore], sparse.vstack(parts_n).tocsr()[restore],
                np.vstack(parts_d)[restore])

    def keep(self, wanted: set[int]) -> None:
        """Drop every snippet not in ``wanted``; rebuild chunks that fell below half."""
        for sid in [s for s in self._where if s not in wanted]:
            del self._where[sid]
        live: dict[int, list[int]] = {}
        for sid, (chunk, _) in self._where.items():
            live.setdefault(chunk, []).append(sid)
        for chunk in [c for c in self._chunks if c not in live]:
            del self._chunks[chunk]
        sparse_chunks = [c for c, sids in live.items()
                         if len(sids) * 2 < self._chunks[c][0].shape[0]]
        if sparse_chunks:
            ids = [sid for c in sparse_chunks for sid in live[c]]
            terms, names, dense = self.rows(ids)
            for c in sparse_chunks:
                del self._chunks[c]
            self.add(ids, terms, names, dense)

