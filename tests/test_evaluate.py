"""B-cubed and pairwise scores on hand-computed cases."""

import pytest

from storyline.evaluate import load_labels, score_clusters

from .conftest import SEEDS


def test_perfect_clustering_scores_one():
    s = score_clusters({1: "a", 2: "a", 3: "b"}, {1: "x", 2: "x", 3: "y"})
    assert s.b3_f1 == pytest.approx(1.0) and s.ari == pytest.approx(1.0)


def test_b_cubed_by_hand():
    # Predicted {1,2,3} {4}; gold {1,2} {3,4}.
    s = score_clusters({1: "a", 2: "a", 3: "a", 4: "b"}, {1: "x", 2: "x", 3: "y", 4: "y"})
    # precision: items 1,2 -> 2/3, item 3 -> 1/3, item 4 -> 1 ; mean = 2/3
    assert s.b3_precision == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    # recall: items 1,2 -> 1, item 3 -> 1/2, item 4 -> 1/2
    assert s.b3_recall == pytest.approx(0.75)
    assert s.pairwise_precision == pytest.approx(1 / 3)


def test_seeds_gold_loads_as_batch_line_items():
    gold = load_labels(SEEDS / "gold.json")
    assert len(gold) == 24 and gold["000:1"] == gold["002:10"] == "nk-troops-in-kursk"
