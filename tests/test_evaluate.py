"""B-cubed and pairwise scores on hand-computed cases."""

import json

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


@pytest.mark.parametrize("name,content,message", [
    ("list.jsonl", '{"id": [1], "story": "a"}\n', "list.jsonl:1: id [1] is not a string or"),
    ("obj.jsonl", '{"id": 1, "story": {"a": 1}}\n', """obj.jsonl:1: 'story' {"a": 1} is"""),
    ("bool.jsonl", '{"id": 1, "story": "a"}\n{"id": true, "story": "a"}\n',
     "bool.jsonl:2: id true is not"),
    ("nan.jsonl", '{"id": 1, "story": NaN}\n', "nan.jsonl:1: 'story' NaN is not"),
    ("null.json", '{"1": "a", "2": null}', "null.json: the label of '2' null is not"),
    ("latin1.jsonl", b'{"id": 1, "story": "a"}\n{"id": 2, "story": "caf\xe9"}\n',
     "latin1.jsonl:2: not valid UTF-8"),
    ("latin1.json", b'{\n  "1": "a",\n  "2": "caf\xe9"\n}\n',
     "latin1.json:3: not valid UTF-8 (byte 11); convert the file to UTF-8"),
    ("utf16.json", '{\n  "1": "a",\n  "2": "\ud800"\n}\n'.encode("utf-16", "surrogatepass"),
     "utf16.json:3: not valid UTF-16"),
])
def test_an_id_or_label_that_is_no_name_is_named_with_its_line(tmp_path, name, content,
                                                                message):
    """A label every such item would share ("None", "{'a': 1}") or an undecodable line
    is an InputError at its line, not a score or an unexpected error."""
    from storyline.errors import InputError

    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InputError) as caught:
        load_labels(path)
    assert message in str(caught.value)


def test_a_json_labels_file_is_decoded_as_ingest_decodes_a_file(tmp_path):
    """UTF-16 after its mark, a UTF-8 byte order mark, any line ending: as ingest reads."""
    text = '{\r\n  "1": "caf\u00e9",\r  "2": "b"\n}'
    (tmp_path / "a.json").write_bytes(text.encode("utf-16"))
    (tmp_path / "b.json").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_labels(tmp_path / "a.json") == load_labels(tmp_path / "b.json") == {
        "1": "caf\u00e9", "2": "b"}


def test_labels_as_numbers_or_strings_and_utf16_files_agree(tmp_path):
    numbers = tmp_path / "numbers.jsonl"
    numbers.write_text('{"id": 1, "story": 7}\n{"id": 2.0, "story": 7}\n')
    strings = tmp_path / "strings.jsonl"
    strings.write_bytes('{"id": "1", "story": "x"}\n{"id": "2", "story": "x"}\n'
                        .encode("utf-16"))
    assert load_labels(numbers) == {"1": "7", "2": "7"}
    assert score_clusters(load_labels(numbers), load_labels(strings)).b3_f1 == 1.0


def test_eval_says_how_many_items_it_left_out(tmp_path):
    from .conftest import run_cli

    predicted = tmp_path / "out.jsonl"
    predicted.write_text('{"id": "1", "story": 1}\n{"id": "2", "story": 1}\n')
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id": "2", "event": "e"}\n{"id": "3", "event": "e"}\n'
                    '{"id": "4", "event": "f"}\n')
    result = run_cli("eval", "clusters", str(predicted), "--gold", str(gold), "--json")
    assert json.loads(result.stdout)["items"] == 1
    assert result.stderr.strip() == ("warning: scored 1 items: 1 predicted items have no "
                                     "gold label, 2 gold items were not predicted")
