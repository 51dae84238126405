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
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from storyline.errors import ModelError

MODEL = Path(__file__).with_name("story_model.json")
FEATURES = ("sim", "dense", "terms", "names", "c_dense", "c_terms", "c_names",
            "log_min", "log_max", "own_min", "own_max", "shared", "story")


@lru_cache(maxsize=8)
def load_join_model(path: str) -> dict:
    """A model file by path; "default" is the one shipped in the package."""
    source = MODEL if path == "default" else Path(path)
    try:
        model = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{source}: cannot read the join model ({exc})") from exc
    model["_mean"] = np.asarray(model["mean"])
    model["_scale"] = np.asarray(model["scale"])
    model["_coef"] = np.asarray(model["coef"])
    return model


class LearnedJoin:
    """``keep_apart`` for average_link: True when the model says two clusters are
    two stories. Units are the starting clusters: ``k`` live stories (summed
    vectors), then the batch's snippets.

    ``views`` holds the dot products between units of each view (dense, terms,
    names), not divided by sizes; ``share(units)`` the share of a cluster's
    snippets naming each name (DistinctEvents._share).
    """

    def __init__(self, views: np.ndarray, sizes: np.ndarray, share: Callable, k: int, w,
                 model: dict) -> None:
        self.views = views  # (3, m, m)
        self.sizes = sizes
        self.share = share
        self.k = k
        self.w = w
        self.model = model
        self.veto: Callable | None = None  # today's rule veto, consulted first
        # Row sums of the view products per cluster, by its first unit; clusters
        # only grow, at the end of their unit lists, so a sum is updated by its tail.
        self._rows: dict[int, tuple[int, np.ndarray]] = {}

    @classmethod
    def factory(cls, model: dict) -> Callable:
        return lambda views, sizes, share, k, w: cls(views, sizes, share, k, w, model)

    def _cluster(self, units: list[int]) -> tuple[np.ndarray, float, np.ndarray, bool]:
        """Row sums of the view products, snippets, self products and whether it
        holds a live story, of the cluster of ``units`` (cached as it grows)."""
        seen, rows, *rest = self._rows.get(units[0], (0, 0.0))
        if seen < len(units):
            rows = rows + self.views[:, units[seen:], :].sum(axis=1, dtype=np.float64)
            idx = np.asarray(units)
            rest = [float(self.sizes[idx].sum()), rows[:, idx].sum(axis=1),
                    bool(idx.min() < self.k)]
            self._rows[units[0]] = (len(units), rows, *rest)
        return (rows, *rest)

    def features(self, a: list[int], b: list[int]) -> np.ndarray:
        w = self.w
        rows_a, n_a, self_a, story_a = self._cluster(a)
        rows_b, n_b, self_b, story_b = self._cluster(b)
        dots = rows_b[:, a].sum(axis=1) if len(a) < len(b) else rows_a[:, b].sum(axis=1)
        norms = np.sqrt(np.maximum(self_a * self_b, 0))
        link = dots / (n_a * n_b)
        centroid = np.divide(dots, norms, out=np.zeros(3), where=norms > 0)
        share_a, share_b = self.share(a), self.share(b)
        often_a, often_b = share_a >= 0.5, share_b >= 0.5
        own_a = np.count_nonzero(often_a & (share_b <= 0.1))
        own_b = np.count_nonzero(often_b & (share_a <= 0.1))
        shared = np.count_nonzero(often_a & often_b)
        return np.array([
            w.dense * link[0] + w.terms * link[1] + w.names * link[2], *link, *centroid,
            np.log(min(n_a, n_b)), np.log(max(n_a, n_b)),
            min(own_a, own_b, 4), min(max(own_a, own_b), 4), min(shared, 4),
            float(story_a or story_b),
        ])

    def score(self, a: list[int], b: list[int]) -> float:
        """The model's log-odds that ``a`` and ``b`` are one story."""
        m = self.model
        x = (self.features(a, b) - m["_mean"]) / m["_scale"]
        return float(x @ m["_coef"] + m["intercept"])

    def __call__(self, a: list[int], b: list[int], similarity: float | None = None) -> bool:
        if self.veto is not None and self.veto(a, b):
            return True
        # Far above the floor the model never says no (on UCI dev it vetoed
        # nothing above 0.25): those merges skip it, most of its cost.
        if similarity is not None and similarity >= self.model.get("sure", np.inf):
            return False
        return self.score(a, b) < self.model.get("cut", 0.0)
