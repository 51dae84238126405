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


@pytest.mark.parametrize("name,content,message", [
    ("noid.jsonl", '{"story": "a"}\n', 'noid.jsonl:1: expected an object with an "id"'),
    ("num.jsonl", "5\n", 'num.jsonl:1: expected an object with an "id"'),
    ("null.jsonl", '{"id": "1", "story": null}\n', "null.jsonl:1: no 'story' field"),
    ("dup.jsonl", '{"id": 1, "story": "a"}\n{"id": "1", "story": "b"}\n',
     "dup.jsonl:2: id '1' given twice"),
    ("list.json", "[1, 2]", "list.json: expected a JSON object"),
    ("stories.json", '{"stories": {"x": {"no": 1}}}', 'expected "stories"'),
])
def test_a_labels_file_of_another_shape_is_named_with_its_line(tmp_path, name, content,
                                                                message):
    from storyline.errors import InputError

    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError) as caught:
        load_labels(path)
    assert message in str(caught.value)
