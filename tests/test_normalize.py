"""Stage 2: normalisation."""

from storyline.pipeline.normalize import clean_text, comparison_form, is_truncated, normalize
from storyline.types import Record


def test_quotes_dashes_spaces_and_nfkc():
    assert clean_text("South Korea\u2019s  \u201cspy\u201d agency \u2014 ﬁne\u00a0") == (
        "South Korea's \"spy\" agency - fine")


def test_boilerplate_prefixes_go():
    assert clean_text("BREAKING: Fed holds rates") == "Fed holds rates"
    assert clean_text("WASHINGTON (Reuters) - Fed holds rates") == "Fed holds rates"
    assert clean_text("Update 2: Fed holds rates") == "Fed holds rates"


def test_truncated_snippets_are_marked():
    cut = ("Putin 'ready' for Trump negotiations as Kyiv sets oil refinery ablaze with drone "
           "strike - Comes as South Korea's military says North Korea is preparing to send more "
           "troops to join Russia's war in Ukra")
    assert is_truncated(cut)
    assert not is_truncated("Fed official says weak data caused by weather")
    assert not is_truncated(cut + "ine.")


def test_equal_comparison_forms_share_a_key():
    a = normalize(Record(text="Ukraine captured two soldiers.", batch="1"))
    b = normalize(Record(text="ukraine  captured TWO soldiers", batch="2"))
    assert a.key == b.key
    assert comparison_form("It's 12,000!") == "it s 12 000"


def test_a_title_is_part_of_the_snippet():
    # JSONL/CSV items with a title and a lead are represented like feed items.
    item = normalize(Record(text="Four men rammed their car into a store.", batch="1",
                            title="Paris thieves nab $2.5 million of jewellery"))
    assert item.text == ("Paris thieves nab $2.5 million of jewellery. "
                         "Four men rammed their car into a store.")
    # A text that already opens with its title, or a title alone, is not doubled.
    same = normalize(Record(text="Paris heist. Four men rammed a store.", batch="1",
                            title="Paris heist"))
    assert same.text == "Paris heist. Four men rammed a store."
    assert normalize(Record(text="", batch="1", title="Only a title")).text == "Only a title"
    assert normalize(Record(text="No title here.", batch="1")).text == "No title here."
