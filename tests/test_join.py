"""The learned join decision (storyline.pipeline.join) inside average-link clustering."""

from dataclasses import replace

import numpy as np
import pytest
from scipy import sparse

from storyline.pipeline.cluster import ClusterWeights, StoryState, cluster_batch, view_dots
from storyline.pipeline.join import FEATURES, LearnedJoin, load_join_model
from storyline.pipeline.represent import N_FEATURES, Features

W = ClusterWeights(dense=1.0, terms=0.0, names=0.0, threshold=0.5)


def feats(vectors) -> Features:
    v = np.asarray(vectors, dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    empty = sparse.csr_matrix((len(v), N_FEATURES), dtype=np.float32)
    return Features(dense=v, terms=empty, names=empty)


def no_stories() -> StoryState:
    empty = sparse.csr_matrix((0, N_FEATURES), dtype=np.float32)
    return StoryState([], np.zeros((0, 3), np.float32), empty, empty, np.zeros(0))


def constant_model(intercept: float, floor: float) -> dict:
    n = len(FEATURES)
    return {"features": list(FEATURES), "_mean": np.zeros(n), "_scale": np.ones(n),
            "_coef": np.zeros(n), "intercept": intercept, "floor": floor}


def test_the_shipped_model_names_the_features_the_code_computes():
    model = load_join_model("default")
    assert model["features"] == list(FEATURES)
    assert len(model["coef"]) == len(FEATURES)
    assert np.isfinite(model["_coef"]).all() and model["floor"] > 0


def test_features_are_the_average_link_and_centroid_cosines():
    units = feats([[1, 0, 0], [0.8, 0.6, 0], [0, 1, 0]])
    join = LearnedJoin(view_dots(units), np.ones(3), lambda u: np.zeros(1), 0, W, {})
    x = dict(zip(FEATURES, join.features([0, 1], [2])))
    d = units.dense
    assert x["dense"] == pytest.approx((d[0] @ d[2] + d[1] @ d[2]) / 2, abs=1e-6)
    centroid = d[0] + d[1]
    assert x["c_dense"] == pytest.approx(centroid @ d[2] / np.linalg.norm(centroid), abs=1e-6)
    assert x["log_max"] == pytest.approx(np.log(2)) and x["story"] == 0.0


def test_a_model_that_says_no_keeps_close_snippets_apart():
    batch = feats([[1, 0, 0], [0.99, 0.1, 0]])
    groups = cluster_batch(no_stories(), batch, W,
                           join=LearnedJoin.factory(constant_model(-5.0, 0.5)))
    assert sorted(g.items for g in groups) == [[0], [1]]


def test_a_model_that_says_yes_merges_down_to_its_floor_only():
    batch = feats([[1, 0, 0], [0.8, 0.6, 0], [0, 0, 1]])  # cosines 0.8, 0, 0
    join = LearnedJoin.factory(constant_model(5.0, 0.7))
    groups = cluster_batch(no_stories(), batch, replace(W, threshold=0.9), join=join)
    assert sorted(g.items for g in groups) == [[0, 1], [2]]
