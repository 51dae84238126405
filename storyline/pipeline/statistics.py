"""The stream's statistics, kept across batches in the store.

Document frequencies of words and names (what makes a word rare in this
stream), the running mean of the embeddings, and a cache of the hashed counts of the
live stories' recent members (weighed again every batch, as the document
frequencies move, but their counts never change; what leaves the recent parts
leaves the cache).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from storyline.pipeline.recent import MemberCache
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
        # Hashed counts of the live stories' recent members (see keep).
        self._counts = MemberCache()

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
        self._counts = MemberCache()  # rolled-back snippet ids will be reused

    def cached(self, snippet_id: int) -> bool:
        return snippet_id in self._counts

    def keep(self, wanted: set[int]) -> None:
        """Forget the counts of every snippet not in ``wanted`` (those that left
        the live stories' recent parts): memory follows the live stream."""
        self._counts.keep(wanted)

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
        missing = [i for i, sid in enumerate(ids) if sid not in self._counts]
        if missing:
            lead_texts = leads([texts[i] for i in missing], self.lead_words)
            self._counts.add([ids[i] for i in missing], terms.counts(lead_texts),
                             names_.counts(lead_texts), np.zeros((len(missing), 0), np.float32))
        if not ids:
            empty = sparse.csr_matrix((0, N_FEATURES), dtype=np.float64)
            return empty, empty
        term_counts, name_counts, _ = self._counts.rows(ids)
        return term_counts, name_counts

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
