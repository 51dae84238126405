"""The stream's statistics, kept across batches in the store.

Document frequencies of words and names (what makes a word rare in this
stream), the running mean of the embeddings, and a cache of each snippet's
hashed counts (live stories' members are weighed again every batch, as the
document frequencies move, but their counts never change).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from storyline.pipeline.represent import N_FEATURES, TermWeights, leads, names, words

if TYPE_CHECKING:
    from storyline.store import Store


class StreamStatistics:
    """Document frequencies, the dense mean and the count cache of one store."""

    def __init__(self, store: Store, lead_words: int, mean_prior_docs: int) -> None:
        self.store = store
        self.lead_words = lead_words
        self.mean_prior_docs = mean_prior_docs
        self._terms: TermWeights | None = None
        self._names: TermWeights | None = None
        # snippet id -> (chunk, row) of its hashed counts in self._count_chunks
        self._count_cache: dict[int, tuple[int, int]] = {}
        self._count_chunks: list[tuple[sparse.csr_matrix, sparse.csr_matrix]] = []

    def weights(self) -> tuple[TermWeights, TermWeights]:
        """The word and name weights, loaded from the store on first use."""
        if self._terms is None or self._names is None:
            self._terms = TermWeights(words, *self._stored_df("terms"))
            self._names = TermWeights(names, *self._stored_df("names"))
        return self._terms, self._names

    def save(self) -> None:
        """Write the document frequencies back (inside the batch's transaction)."""
        terms, names_ = self.weights()
        self._save_df("terms", terms)
        self._save_df("names", names_)

    def discard(self) -> None:
        """After a failed batch the store rolled back: so must the in-memory state."""
        self._terms = self._names = None
        self._count_cache = {}  # rolled-back snippet ids will be reused
        self._count_chunks = []

    def cached(self, snippet_id: int) -> bool:
        return snippet_id in self._count_cache

    def _stored_df(self, name: str) -> tuple[np.ndarray | None, int]:
        blob = self.store.get_state(f"df:{name}")
        if blob is None:
            return None, 0
        data = np.load(io.BytesIO(blob))
        df = np.zeros(data["size"].item(), dtype=np.int32)
        df[data["index"]] = data["count"]
        return df, int(data["docs"])

    def _save_df(self, name: str, weights: TermWeights) -> None:
        index = weights.columns.astype(np.int32)
        buf = io.BytesIO()
        np.savez_compressed(buf, index=index, count=weights.df[index], size=len(weights.df),
                            docs=weights.docs)
        self.store.set_state(f"df:{name}", buf.getvalue())

    def counts(self, ids: list[int], texts: list[str]
               ) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """Hashed word and name counts of the snippets' leads, cached by snippet id."""
        terms, names_ = self.weights()
        missing = [i for i, sid in enumerate(ids) if sid not in self._count_cache]
        if missing:
            lead_texts = leads([texts[i] for i in missing], self.lead_words)
            chunk = len(self._count_chunks)
            self._count_chunks.append((terms.counts(lead_texts), names_.counts(lead_texts)))
            for row, i in enumerate(missing):
                self._count_cache[ids[i]] = (chunk, row)
        # Gather the rows chunk by chunk (scipy row indexing), then restore the order.
        where = np.array([self._count_cache[sid] for sid in ids], dtype=np.int64).reshape(-1, 2)
        order = np.argsort(where[:, 0], kind="stable")
        chunks, rows_of = where[order, 0], where[order, 1]
        parts_t, parts_n = [], []
        for chunk in np.unique(chunks):
            rows = rows_of[chunks == chunk]
            t_counts, n_counts = self._count_chunks[chunk]
            parts_t.append(t_counts[rows])
            parts_n.append(n_counts[rows])
        if not parts_t:
            empty = sparse.csr_matrix((0, N_FEATURES), dtype=np.float64)
            return empty, empty
        restore = np.argsort(order, kind="stable")
        return (sparse.vstack(parts_t).tocsr()[restore], sparse.vstack(parts_n).tocsr()[restore])

    def dense_mean(self, new: np.ndarray) -> np.ndarray:
        """Running mean of all embeddings so far, ``new`` included, shrunk towards
        zero while the stream is young (a prior of ``mean_prior_docs`` zero
        vectors), so a small first batch is not centred on its own main story."""
        blob = self.store.get_state("dense_sum")
        total = np.frombuffer(blob, dtype=np.float64).copy() if blob else np.zeros(new.shape[1])
        if total.shape[0] != new.shape[1]:
            total = np.zeros(new.shape[1])
        total += new.sum(axis=0)
        docs = int(self.store.get_state("dense_docs") or 0) + len(new)
        self.store.set_state("dense_sum", total.tobytes())
        self.store.set_state("dense_docs", docs)
        return (total / (docs + self.mean_prior_docs)).astype(np.float32)
