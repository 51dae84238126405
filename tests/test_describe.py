"""Stage 6: sentences, headline, MMR summaries and novelty."""

import json

import numpy as np

from storyline.config import SummaryWeights
from storyline.pipeline.describe import (
    first_sentence,
    headline_like,
    novelty,
    pick_headline,
    sentences,
    split_sentences,
    story_summary,
    summarize_sentences,
)
from tests.conftest import SEEDS, needs_static


def test_sentences_drop_datelines_bylines_and_source_notes():
    text = ("KYIV, Ukraine (AP) - Ukraine captured two soldiers on Saturday, officials said. "
            "By John Smith. Dr. Kim met the U.S. envoy in Seoul on Monday morning. "
            "Source: Yonhap news agency reported it first")
    assert sentences(text) == [
        "Ukraine captured two soldiers on Saturday, officials said.",
        "Dr. Kim met the U.S. envoy in Seoul on Monday morning.",
    ]
    assert first_sentence("One two three four five. Six seven eight nine ten.") == (
        "One two three four five.")


def test_newswire_datelines_are_cut_whatever_their_form():
    lead = "the Senate voted 52-48 on Tuesday to confirm the nominee."
    for dateline in ("WASHINGTON (AP) _ ", "WASHINGTON, Dec. 1 (Reuters) - ",
                     "BEIJING, March 3 (Xinhua) -- ", "LOS ANGELES (AP) \u2014 ", "(CNN) -- ",
                     "NEW YORK _ ", "LONDON -- ", "SAN JUAN, Puerto Rico \u2013 "):
        assert sentences(dateline + lead.capitalize()) == [lead.capitalize()], dateline


def test_a_capitalised_word_and_a_dash_in_a_headline_is_no_dateline():
    for headline in ("NATO - Russia council meets in Brussels",
                     "US - China talks resume after a pause in Geneva on trade.",
                     "FOREX-Dollar slips as traders wait for the Fed"):
        assert sentences(headline) == [headline]


def test_bylines_stamps_credits_links_and_editors_notes_are_no_sentences():
    article = ("Quake Hits Northern Japan\n"
               "By JANE DOE, Associated Press Writer\n"
               "Updated 10:14 a.m. ET Thursday\n"
               "TOKYO (AP) _ A strong earthquake shook northern Japan on Friday, officials\n"
               "said. No tsunami warning was issued.\n\n"
               "(STORY CAN END HERE. OPTIONAL 2ND TAKE FOLLOWS.)\n\n"
               "Mar 14, 2013 10:41 AM EDT.\n"
               "By the end of the day, rescuers had reached every village.\n"
               "From the outset, the coast guard led the search.\n\n"
               "AP writer Jim Doe in Osaka contributed to this report.\n"
               "On the Net: http://www.usgs.gov\n"
               "Copyright 2013 The Associated Press. All rights reserved. This material "
               "may not be published, broadcast, rewritten or redistributed.")
    assert sentences(article) == [
        "Quake Hits Northern Japan",  # a headline (summaries take it only where all are)
        "A strong earthquake shook northern Japan on Friday, officials said.",
        "No tsunami warning was issued.",
        "By the end of the day, rescuers had reached every village.",
        "From the outset, the coast guard led the search.",
    ]


def test_abbreviations_and_initials_end_no_sentence():
    assert sentences("Bitcoin exchange Mt. Gox files for bankruptcy in the US. "
                     "Author J. K. Rowling will write more, she said. "
                     "Polls open at 9 a.m. Sunday in every district.") == [
        "Bitcoin exchange Mt. Gox files for bankruptcy in the US.",
        "Author J. K. Rowling will write more, she said.",
        "Polls open at 9 a.m. Sunday in every district.",
    ]


def test_a_snippet_repeated_by_many_outlets_heads_a_two_snippet_story():
    vectors = np.array([[1, 0], [0.6, 0.8]], dtype=float)
    # Alike, each is as central as the other to the other; the one that arrived
    # three times is also close to its own two copies.
    assert pick_headline(["wire copy", "aside"], vectors, [3, 1], [False] * 2) == 0
    assert pick_headline(["aside", "wire copy"], vectors[::-1], [1, 3], [False] * 2) == 1


def test_headline_is_the_most_central_snippet():
    vectors = np.array([[0.9, 0.44], [1, 0], [0.9, -0.44]], dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert pick_headline(["a", "b", "c"], vectors, [1, 1, 1], [False] * 3) == 1


def test_summary_respects_the_budget_and_avoids_repeats():
    sents = ["The quake struck at dawn near the coast of northern Chile.",
             "The quake struck at dawn near the northern Chilean coast today.",
             "Three people died and dozens were hurt, regional officials said."]
    vectors = np.array([[1, 0, 0], [0.99, 0.14, 0], [0, 0, 1]], dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    summary = summarize_sentences(sents, vectors, budget=25, order=[0, 1, 2])
    assert len(summary.text.split()) <= 25
    assert not ({0, 1} <= set(summary.sentence_ids))  # never both near-repeats
    assert 2 in summary.sentence_ids


def test_chinese_and_japanese_sentences_are_split_and_kept():
    text = ("东京电力公司周一表示，福岛核电站的处理水将于下周开始排放。日本政府已批准该计划！ "
            "The plan was approved. 漁業者は懸念を示している。")
    assert [s[:6] for s in sentences(text)] == ["东京电力公司", "日本政府已批", "The pl",
                                                "漁業者は懸念"]


def test_a_summary_of_headlines_reads_as_sentences():
    heads = ["Bitcoin exchange Mt. Gox files for US bankruptcy",
             "Hackers claim Mt. Gox still has its coins ...",
             "Is Bitcoin finished after the Mt. Gox collapse?"]
    vectors = np.array([[1, 1, 0], [1, 0, 1], [1, -1, 0]], dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    summary = summarize_sentences(heads, vectors, budget=40, order=[0, 1, 2])
    assert summary.text == ("Bitcoin exchange Mt. Gox files for US bankruptcy. Hackers claim Mt. "
                            "Gox still has its coins … Is Bitcoin finished after the Mt. Gox "
                            "collapse?")


def test_summaries_prefer_sentences_to_headlines():
    sents = ["Paris Thieves Nab $2.5 Million Worth Of Jewellery In Dawn Raid",
             "Four men rammed their car into a jewellery store in central Paris on Monday.",
             "They made off with two million euros in gems and watches, police said."]
    vectors = np.array([[1, 0.1, 0], [1, 0, 0.1], [0.9, 0.2, 0.1]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert headline_like(sents[0]) and not headline_like(sents[1])
    summary = summarize_sentences(sents, vectors, budget=60, order=[0, 1, 2])
    assert 0 not in summary.sentence_ids and summary.sentence_ids
    # A story told in headlines only is summarised from its headlines.
    heads = summarize_sentences([sents[0], "Jewel Thieves Ram Car Into Paris Store At Dawn"],
                                vectors[:2], budget=60, order=[0, 1])
    assert heads.sentence_ids


def test_novelty_separates_repeats_from_news():
    old = ["Ukraine captured two wounded North Korean soldiers in Kursk."]
    new = ["Ukraine captured two wounded North Korean soldiers in Kursk region.",
           "Zelensky offered to swap the captured soldiers for Ukrainian prisoners."]
    vectors_old = np.array([[1.0, 0.0]])
    vectors_new = np.array([[0.99, 0.14], [0.6, 0.8]])
    assert novelty(vectors_new, new, vectors_old, old, cover=0.8) == [False, True]


def test_one_splitter_keeps_abbreviations_and_feeds_use_it():
    from storyline.feeds import lead

    text = "Gov. Ray Smith spoke at 9 a.m. Monday. Mt. Gox filed for bankruptcy. Then he left."
    assert split_sentences(text) == ["Gov. Ray Smith spoke at 9 a.m. Monday.",
                                     "Mt. Gox filed for bankruptcy.", "Then he left."]
    assert lead(text, max_words=13) == "Gov. Ray Smith spoke at 9 a.m. Monday. Mt. Gox filed for " \
                                       "bankruptcy."


def test_story_summary_of_one_snippet_is_its_first_sentences_and_of_many_within_budget():
    one = "Rescuers reached the villages on Tuesday. Three people died. Aid arrived later on."
    assert story_summary([one], np.ones((1, 2)), 60) == (
        "Rescuers reached the villages on Tuesday. Aid arrived later on.")
    texts = ["A magnitude 6.1 earthquake struck northern Chile on Monday morning.",
             "The earthquake in northern Chile on Monday shook buildings in the capital.",
             "Chile declared a state of emergency in the north after the earthquake hit."]
    summary = story_summary(texts, np.array([[1.0, 0.0], [0.9, 0.44], [0.8, 0.6]]), 25)
    assert 0 < len(summary.split()) <= 25 and summary in " ".join(texts)


def test_a_sentence_said_again_counts_once_in_a_summary():
    said = "Mt. Gox files for bankruptcy protection in Tokyo after losing bitcoins."
    sents = [said, "Mt. Gox files for bankruptcy protection in Tokyo after losing bitcoins!",
             "Mt Gox files for bankruptcy protection in Tokyo, after losing its bitcoins.",
             said, "The exchange said it lost 850,000 bitcoins worth about $480 million."]
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(sents), 8))  # each from another snippet: far apart
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    text = summarize_sentences(sents, vectors, budget=100).text
    assert text.count("bankruptcy") == 1
    assert "850,000" in text


def test_update_prefers_new_figures_and_names_to_what_was_said():
    old = "Teixeira got an eight-year offer from the Angels."
    sents = ["The Angels made Teixeira an eight-year offer again, the team said.",
             "The Yankees signed Teixeira for $180 million over eight years on Tuesday."]
    vectors = np.array([[1.0, 0.0], [0.9, 0.436]])
    from storyline.pipeline.represent import words

    said = np.array([[0.0, 1.0]])  # the earlier summary sits nearer the second in meaning
    avoiding = SummaryWeights(update_mmr_lambda=0.6)
    assert "Angels" in summarize_sentences(sents, vectors, budget=14, said=said,
                                           weights=avoiding).text
    weights = SummaryWeights(update_known=0.3, update_new_facts=0.1)  # off by default
    picked = summarize_sentences(sents, vectors, budget=14, said_words=set(words(old)),
                                 said=said, weights=weights).text
    assert "Yankees" in picked


def test_outlet_is_the_source_else_the_url_host():
    from storyline.outlets import outlet_of

    assert outlet_of(None, "https://www.latimes.com/business/x.story?track=rss") == "latimes.com"
    assert outlet_of("Reuters", "https://reuters.com/a") == "Reuters"
    assert outlet_of(None, None) is None and outlet_of("", "not a url") is None


def test_headline_is_short_and_the_lead_stays_whole():
    from storyline.pipeline.headline import headline_text

    lead = ("Ukraine captured two wounded North Korean soldiers who were fighting on behalf "
            "of Russia in a Russian border region, South Korea's intelligence service said.")
    head = headline_text(lead)
    assert len(head.split()) <= 15 and head.startswith("Ukraine captured")
    assert "said" not in head
    assert headline_text(lead, ["North Korean POWs held in Kyiv"]) == (
        "North Korean POWs held in Kyiv")


@needs_static
def test_seeds_main_story_reads_at_a_glance_and_plain_text_names_no_outlet(tmp_path):
    from storyline.api import Storyline

    with Storyline(tmp_path / "seeds.db", preset_name="fast") as sl:
        sl.ingest(*sorted(SEEDS.glob("*.txt")))
        main = sl.stories()[0]
        assert main.size >= 5
        assert 3 <= len(main.headline.split()) <= 15, main.headline
        detail = sl.story(main.id)
        # The summary keeps the whole lead the headline was cut from: it says more.
        first = split_sentences(detail.summary)[0]
        assert len(first.split()) > len(main.headline.split())
        assert main.outlets == [] and detail.outlets == []  # plain text: none known


@needs_static
def test_outlets_come_from_the_url_host_where_no_source_is_given(tmp_path):
    from storyline.api import Storyline

    path = tmp_path / "b1.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"text": "A strong earthquake struck off the coast of Chile on Monday night.",
         "url": "https://www.latimes.com/world/quake.html"},
        {"text": "A strong earthquake hit the coast of Chile on Monday, officials said.",
         "url": "https://apnews.com/article/chile-quake", "source": "AP"},
    ]) + "\n")
    with Storyline(tmp_path / "u.db", preset_name="fast") as sl:
        sl.ingest(path)
        outlets = {o for s in sl.stories() for o in s.outlets}
        assert outlets == {"latimes.com", "AP"}


def test_update_stays_on_the_story_not_on_what_only_its_batch_dwells_on():
    sents = ["Rescuers pulled two more survivors from the rubble of the quake on Tuesday.",
             "The town's football club hosts its derby on Sunday as planned, officials said.",
             "Tickets for the town's football derby sold out in an hour, the club said."]
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.1, 0.995]])
    said = np.zeros((0, 2))
    story = np.array([1.0, 0.2])  # the story so far is about the quake
    on_story = summarize_sentences(sents, vectors, budget=15, said=said, story_centre=story)
    assert "survivors" in on_story.text
    batch_only = SummaryWeights(update_story_centre=0.0)
    assert "derby" in summarize_sentences(sents, vectors, budget=15, said=said,
                                          story_centre=story, weights=batch_only).text


def test_an_update_brings_the_batch_news_not_its_background_nor_the_summary_again():
    from storyline.config import preset
    from storyline.jobs import summarize_records
    from storyline.types import Record

    lead = ("A magnitude 6.1 earthquake struck central Italy on Monday, killing at least "
            "twenty people in mountain villages.")
    records = [
        Record(text=f"{lead} The region lies on a fault line where a deadly quake hit the "
                    "city of L'Aquila in 2009.", batch="1"),
        Record(text="Rescuers pulled two survivors from the rubble of a collapsed hotel in "
                    "Amatrice on Tuesday. The region lies on a fault line where a deadly quake "
                    "struck L'Aquila in 2009, killing hundreds. A magnitude 6.1 earthquake "
                    "struck central Italy on Monday, killing at least twenty people, officials "
                    "said.", batch="2"),
    ]
    first, second = summarize_records(records, preset("fast", model="none"), 20)
    assert first["summary"] == lead  # the background was never summarised
    assert second["update"].startswith("Rescuers pulled two survivors")


def test_a_snippet_of_stops_only_keeps_a_headline():
    """"..." or "!!" as a snippet's whole text: its headline was empty (an empty link on
    the story list); it is the text itself."""
    from storyline.pipeline.describe import story_headline

    assert [story_headline(t, []) for t in ("...", "!!", "\u2026", "Hi.")] == [
        "...", "!!", "\u2026", "Hi"]
