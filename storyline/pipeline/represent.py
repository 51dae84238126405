"""Stage 4 — represent snippets as vectors for clustering.

Three views of a snippet, each L2-normalised, combined by the clusterer as a
weighted sum of cosines:

* ``dense``: a sentence embedding from a pluggable encoder (model2vec static
  model, MiniLM through ONNX, any local sentence-transformers model);
* ``terms``: TF-IDF over words, with document frequencies counted over the
  whole stream so far (the store keeps them), because rare shared words
  ("Plosser", "MH370") are the strongest sign of one story;
* ``names``: TF-IDF over names and numbers only (capitalised words inside a
  sentence, figures), which tells two events of the same kind apart.

Terms are hashed so the vocabulary never has to be stored or refitted; only a
document-frequency array is kept. The hashing is scikit-learn's
HashingVectorizer's (signed MurmurHash3 of the UTF-8 token, abs, mod 2**20),
done here with mmh3: the same columns, without importing scikit-learn, whose
import (scipy.stats with it) took 1.9 s of every command's start-up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mmh3
import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

N_FEATURES = 2**20
_WORD = re.compile(r"(?u)\b\w[\w'-]*\b")
# A name: a capitalised word that does not start a sentence, or a number.
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b([A-Z][\w'-]+|\d[\d,.]*\d|\d)")
_ENGLISH_STOP_WORDS = frozenset(
    line for line in (Path(__file__).with_name("stop_words.txt").read_text().split("\n"))
    if line and not line.startswith("#")
)
_STOP = _ENGLISH_STOP_WORDS | {"says", "said", "say", "new", "report", "reports"}


def leads(texts: Sequence[str], limit: int) -> list[str]:
    """The first ``limit`` words of each text: what represents it.

    Stories are told in leads: a whole article is represented by its first
    words, which is also what keeps long items comparable to short ones.
    """
    return [t if len(t) < limit * 4 else " ".join(t.split()[:limit]) for t in texts]


def words(text: str) -> list[str]:
    """Content words, lower-cased, possessives folded ("Korea's" -> "korea")."""
    out = []
    for w in _WORD.findall(text.lower()):
        w = w.removesuffix("'s").strip("'-")
        if len(w) > 1 and w not in _STOP:
            out.append(w)
    return out


def names(text: str) -> list[str]:
    """Names and numbers: what tells one event from another of its kind."""
    out = []
    for w in _NAME.findall(text):
        w = w.lower().removesuffix("'s").strip(".,'-")
        if w and w not in _STOP:
            out.append(w)
    return out


@dataclass
class Features:
    """The three views of a list of snippets, row-aligned."""

    dense: np.ndarray  # (n, d) float32, rows unit length (zero rows allowed)
    terms: sparse.csr_matrix  # (n, N_FEATURES), rows unit length
    names: sparse.csr_matrix

    def __len__(self) -> int:
        return self.dense.shape[0]


class TermWeights:
    """Streaming TF-IDF: hashed counts weighted by document frequencies so far.

    >>> weights = TermWeights(words)
    >>> counts = weights.counts(["Fed holds rates", "Fed cuts rates again"])
    >>> weights.learn(counts)
    >>> weighed = weights.weigh(counts)
    >>> weights.docs, weighed.shape == (2, N_FEATURES)
    (2, True)
    >>> weighed.multiply(weighed).sum(axis=1).round(3).tolist()  # unit rows
    [[1.0], [1.0]]
    """

    def __init__(self, analyzer: Callable[[str], list[str]], df: np.ndarray | None = None,
                 docs: int = 0) -> None:
        self.analyzer = analyzer
        self.df = df if df is not None else np.zeros(N_FEATURES, dtype=np.int32)
        self.docs = docs
        self._columns = np.flatnonzero(self.df)  # the columns in use, kept as they fill

    def counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Token counts per text, in hashed columns."""
        from scipy import sparse  # here: the words and names alone need no scipy

        indptr, indices = [0], []
        for text in texts:
            indices.extend(hashed_column(token) for token in self.analyzer(text))
            indptr.append(len(indices))
        m = sparse.csr_matrix(
            (np.ones(len(indices)), np.asarray(indices, dtype=np.int32), np.asarray(indptr)),
            shape=(len(texts), N_FEATURES),
        )
        m.sum_duplicates()
        return m

    def learn(self, counts: sparse.csr_matrix) -> None:
        """Add documents to the frequencies (call once per new canonical snippet)."""
        # Counts are summed per row, so each (row, column) appears once: one document.
        used = counts.indices[: counts.indptr[-1]]
        fresh = np.unique(used[self.df[used] == 0])
        np.add.at(self.df, used, 1)
        self.docs += counts.shape[0]
        if len(fresh):
            self._columns = np.union1d(self._columns, fresh)

    @property
    def columns(self) -> np.ndarray:
        """The columns any document so far uses, ascending (what has to be stored)."""
        return self._columns

    def weigh(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """Sublinear tf times smoothed idf, rows L2-normalised."""
        from scipy import sparse

        m = sparse.csr_matrix(counts, dtype=np.float32, copy=True)
        m.sum_duplicates()
        m.data = 1.0 + np.log(m.data)
        idf = np.log((1.0 + self.docs) / (1.0 + self.df[m.indices])) + 1.0
        m.data *= idf.astype(np.float32)
        # Rows scaled in place: a diagonal-matrix product cost more than the rest.
        per_row = np.diff(m.indptr)
        squares = np.zeros(m.shape[0], dtype=np.float64)
        filled = per_row > 0
        if filled.any():
            squares[filled] = np.add.reduceat(m.data.astype(np.float64) ** 2, m.indptr[:-1][filled])
        norms = np.sqrt(squares)
        norms[norms == 0] = 1.0
        m.data /= np.repeat(norms, per_row).astype(np.float32)
        return m


def hashed_column(token: str) -> int:
    """scikit-learn HashingVectorizer's column for a token (n_features = 2**20)."""
    h = mmh3.hash(token, 0, signed=True)
    if h == -(2**31):  # abs() would overflow int32 in scikit-learn; same result
        return (2**31 - 1 - (N_FEATURES - 1)) % N_FEATURES
    return abs(h) % N_FEATURES


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)
