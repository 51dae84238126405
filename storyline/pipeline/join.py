"""The learned join decision: do two clusters tell one story?

Average-link clustering (storyline.pipeline.cluster) proposes each merge of two
mutually closest clusters; with a learned model the threshold drops to the
model's ``floor`` and a logistic regression over what the clusters already
carry decides each proposal instead of the hand-set bars and vetoes. Its
features are cheap sums over the clusters' members: average-link and centroid
cosines of each view, sizes, names of their own and shared names.

The model ships as JSON (feature names, means, scales, coefficients,
intercept, floor); benchmarks/train_join.py writes it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from storyline.pipeline.represent import Features

MODEL = Path(__file__).with_name("story_model.json")
FEATURES = ("sim", "dense", "terms", "names", "c_dense", "c_terms", "c_names",
            "log_min", "log_max", "own_min", "own_max", "shared", "story")


@lru_cache(maxsize=8)
def load_join_model(path: str) -> dict:
    """A model file by path; "default" is the one shipped in the package."""
    source = MODEL if path == "default" else Path(path)
    model = json.loads(source.read_text(encoding="utf-8"))
    model["_mean"] = np.asarray(model["mean"])
    model["_scale"] = np.asarray(model["scale"])
    model["_coef"] = np.asarray(model["coef"])
    return model


class LearnedJoin:
    """``keep_apart`` for average_link: True when the model says two clusters are
    two stories. Units are the starting clusters: ``k`` live stories (summed
    vectors), then the batch's snippets."""

    def __init__(self, units: Features, sizes: np.ndarray, named_by: sparse.csr_matrix,
                 k: int, w, model: dict) -> None:
        self.dense = units.dense
        self.terms = _compact(units.terms)
        self.names = _compact(units.names)
        self.named_by = named_by
        self.sizes = sizes
        self.k = k
        self.w = w
        self.model = model
        self.veto = None  # today's rule veto (cluster.DistinctEvents), consulted first

    @classmethod
    def factory(cls, model: dict):
        return lambda units, sizes, named_by, k, w: cls(units, sizes, named_by, k, w, model)

    def features(self, a: list[int], b: list[int]) -> np.ndarray:
        w = self.w
        n_a, n_b = float(self.sizes[a].sum()), float(self.sizes[b].sum())
        views = []
        for get in (self._dense_sum, self._terms_sum, self._names_sum):
            sa, sb = get(a), get(b)
            dot = float(sa @ sb)
            norms = float(np.sqrt((sa @ sa) * (sb @ sb)))
            views.append((dot / (n_a * n_b), dot / norms if norms > 0 else 0.0))
        (dd, cd), (tt, ct), (nn, cn) = views
        share_a, share_b = self._share(a, n_a), self._share(b, n_b)
        own_a = np.count_nonzero((share_a >= 0.5) & (share_b <= 0.1))
        own_b = np.count_nonzero((share_b >= 0.5) & (share_a <= 0.1))
        shared = np.count_nonzero((share_a >= 0.5) & (share_b >= 0.5))
        return np.array([
            w.dense * dd + w.terms * tt + w.names * nn, dd, tt, nn, cd, ct, cn,
            np.log(min(n_a, n_b)), np.log(max(n_a, n_b)),
            min(own_a, own_b, 4), min(max(own_a, own_b), 4), min(shared, 4),
            float(min(min(a), min(b)) < self.k),
        ])

    def score(self, a: list[int], b: list[int]) -> float:
        """The model's log-odds that ``a`` and ``b`` are one story."""
        m = self.model
        x = (self.features(a, b) - m["_mean"]) / m["_scale"]
        return float(x @ m["_coef"] + m["intercept"])

    def __call__(self, a: list[int], b: list[int]) -> bool:
        if self.veto is not None and self.veto(a, b):
            return True
        return self.score(a, b) < self.model.get("cut", 0.0)

    def _dense_sum(self, members: list[int]) -> np.ndarray:
        return self.dense[members].sum(axis=0, dtype=np.float64)

    def _terms_sum(self, members: list[int]) -> np.ndarray:
        return _row_sum(self.terms, members)

    def _names_sum(self, members: list[int]) -> np.ndarray:
        return _row_sum(self.names, members)

    def _share(self, members: list[int], size: float) -> np.ndarray:
        return _row_sum(self.named_by, members) / size


def _compact(m: sparse.csr_matrix) -> sparse.csr_matrix:
    """The matrix on only the columns it uses (the hashed views have 2**20)."""
    m = sparse.csr_matrix(m)
    used, inverse = np.unique(m.indices[: m.indptr[-1]], return_inverse=True)
    return sparse.csr_matrix((m.data[: m.indptr[-1]], inverse, m.indptr),
                             shape=(m.shape[0], max(len(used), 1)))


def _row_sum(m: sparse.csr_matrix, rows: list[int]) -> np.ndarray:
    """Sum of CSR rows as a dense vector (row slices by hand: scipy's fancy
    indexing costs more than the sum)."""
    if len(rows) == 1:
        r = rows[0]
        out = np.zeros(m.shape[1])
        out[m.indices[m.indptr[r]:m.indptr[r + 1]]] = m.data[m.indptr[r]:m.indptr[r + 1]]
        return out
    cols = np.concatenate([m.indices[m.indptr[r]:m.indptr[r + 1]] for r in rows])
    vals = np.concatenate([m.data[m.indptr[r]:m.indptr[r + 1]] for r in rows])
    return np.bincount(cols, weights=vals, minlength=m.shape[1])
