"""Search: a relevance floor, an explicit no match, matched words, filters and paging."""

from __future__ import annotations

import json

import pytest

from storyline.api import Storyline
from storyline.search import (
    SearchFilters,
    matched_words,
    passes_floor,
    query_terms,
    rank_score,
)
from tests.conftest import SEEDS, needs_static, run_cli


@pytest.fixture(scope="module")
def seeds_store(tmp_path_factory):
    db = tmp_path_factory.mktemp("search") / "seeds.db"
    with Storyline(db, preset_name="fast") as sl:
        sl.ingest(*sorted(SEEDS.glob("*.txt")))
    return db


def test_query_terms_and_matched_words():
    assert query_terms("") == [] and query_terms("  ?! ") == []
    assert matched_words(query_terms("korean soldiers"),
                         "Two North Korean soldiers; a soldier.") == ["Korean", "soldiers"]


def test_the_floor_wants_the_words_or_the_meaning():
    assert passes_floor(1.0, None) and passes_floor(0.7, 0.1) and passes_floor(0.5, 0.4)
    assert not passes_floor(0.0, 0.3) and not passes_floor(0.0, None)
    assert passes_floor(0.0, 0.9)


@needs_static
def test_nonsense_and_empty_queries_find_nothing(seeds_store):
    with Storyline(seeds_store) as sl:
        assert sl.search("zzzzqqq") == []
        assert sl.search("") == []
        assert sl.search("   ") == []


@needs_static
def test_a_hit_carries_its_matched_words_dates_and_size(seeds_store):
    with Storyline(seeds_store) as sl:
        hits = sl.search("North Korean soldiers captured")
        assert hits, "the seeds' main story is about captured North Korean soldiers"
        top = hits[0]
        assert {"North", "Korean"} <= set(top.matched)
        assert top.size >= 5 and top.first_batch and top.last_batch
        assert 0 < top.score <= 1
        assert len({h.story_id for h in hits}) == len(hits)
        assert [h.story_id for h in sl.search("North Korean soldiers captured", offset=1)] == [
            h.story_id for h in hits[1:]]
        json.dumps([h.__dict__ for h in hits])  # JSON-ready


@needs_static
def test_batch_filters(seeds_store):
    with Storyline(seeds_store) as sl:
        names = [b.name for b in sl.store.batches()]
        first_only = sl.search("North Korean soldiers", filters=SearchFilters(
            last_batch=names[0]))
        assert all(h.first_batch == names[0] for h in first_only)
        assert sl.search("North Korean soldiers",
                         filters=SearchFilters(since="1990-01-01")) == []  # no dates known


def test_the_rank_weighs_meaning_and_the_best_keyword_match():
    # The same cosine: the snippet that is the query's best keyword match ranks first.
    assert rank_score(0.6, 1.0) > rank_score(0.6, 0.2) > rank_score(0.6, 0.0)
    # Without embeddings (no cosine) the keywords alone rank.
    assert rank_score(None, 1.0) > rank_score(None, 0.5) > 0
    # A much closer meaning outranks a slightly better keyword match.
    assert rank_score(0.9, 0.5) > rank_score(0.5, 0.8)


@needs_static
def test_a_query_answered_may_list_stories_holding_one_of_its_words(seeds_store):
    """Once a hit clears the strict floor, stories holding any of the query's words follow;
    a query none of whose candidates clears it (nonsense beside a real word) gets nothing."""
    with Storyline(seeds_store) as sl:
        hits = sl.search("North Korean soldiers Greenland", limit=20)
        assert hits
        assert all(h.matched for h in hits), [h.text for h in hits if not h.matched]
        assert sl.search("zzzzqqq xqzzv Greenland") == []  # a third of the words, no meaning


@needs_static
def test_the_command_says_no_match(seeds_store):
    printed = run_cli("search", "zzzzqqq", "--db", str(seeds_store)).stdout
    assert "No match for 'zzzzqqq'." in printed
    page = json.loads(run_cli("search", "North Korean soldiers", "--db", str(seeds_store),
                              "--limit", "1", "--offset", "1", "--json").stdout)
    assert page["offset"] == 1 and len(page["hits"]) <= 1


class _CellStore:
    """A store whose cell ``c`` holds ``sizes[c]`` embeddings, counting the cells read."""

    from storyline.store import Store

    embeddings_of_nearest_cells = Store.embeddings_of_nearest_cells

    def __init__(self, sizes: list[int]) -> None:
        self.sizes, self.read = sizes, []

    def embeddings_in_cells(self, cells, dim):
        import numpy as np

        (cell,) = cells
        self.read.append(cell)
        ids = [cell * 1000 + i for i in range(self.sizes[cell])]
        return ids, np.ones((len(ids), dim), dtype=np.float32)


def test_a_query_reads_its_nearest_cells_up_to_the_budget():
    from storyline.views import probed_embeddings

    store = _CellStore([5, 400, 300, 300, 300])
    ids, vectors = probed_embeddings(store, [2, 0, 3, 1, 4], dim=3, budget=600)
    assert store.read == [2, 0, 3]  # nearest first, until 600 are read
    assert len(ids) == 605 and vectors.shape == (605, 3)
    small = _CellStore([5, 5, 5])
    ids, _ = probed_embeddings(small, [1, 0, 2], dim=3, budget=600)
    assert small.read == [1, 0, 2] and len(ids) == 15  # a small store: every probed cell
    assert probed_embeddings(_CellStore([]), [], dim=3, budget=10)[1].shape == (0, 3)
