"""Bounded memory over long streams: the near-copy window, the member cache, the
search index, and stories that hand over to follow-ups instead of growing for ever."""

import tempfile
from pathlib import Path

import numpy as np
from scipy import sparse

from storyline import Storyline
from storyline.pipeline import ivf
from storyline.pipeline.dedupe import signatures
from storyline.pipeline.normalize import normalize
from storyline.pipeline.recent import MemberCache, RecentDuplicates
from storyline.types import Record

from .conftest import needs_static

WORDS_ONLY = {"model": "none", "extract_facts": False}
TEXT = "Harbour crane collapse in Rotterdam injures 12 workers, port authority says"
NEAR = "Harbour crane collapse in Rotterdam injures 12 workers, the port authority says"


def _snippet(text: str):
    return normalize(Record(text=text, batch="1"))


def test_near_copies_are_found_within_the_window_and_exact_ones_at_any_age():
    stored = {}
    index = RecentDuplicates(0.65, lambda keys: {k: stored[k] for k in keys if k in stored})
    first = _snippet(TEXT)
    stored[first.key] = 1
    index.add(1, seq=1, sig=signatures([first.text])[0], text=first.text)
    near = _snippet(NEAR)
    sig = signatures([near.text])[0]
    assert index.match(near, sig).kind == "near"
    assert index.slide(2) == 1 and len(index) == 0  # batch 1 left the window
    assert index.match(near, sig).kind == "new"
    index.begin_batch([first.key])
    assert index.match(first, signatures([first.text])[0]).canonical_id == 1  # exact: any age


def test_the_member_cache_keeps_only_what_is_wanted_and_answers_in_order():
    cache = MemberCache()
    for start in (0, 10):
        ids = list(range(start, start + 10))
        counts = sparse.csr_matrix(np.eye(10, 16)[:, :] * (start + 1))
        cache.add(ids, counts, counts, np.arange(10 * 3, dtype=np.float32).reshape(10, 3) + start)
    cache.keep({3, 12, 15})
    assert len(cache) == 3 and 4 not in cache and 12 in cache
    terms, _, dense = cache.rows([15, 3, 12])
    assert terms[0, 5] == 11 and terms[1, 3] == 1 and terms[2, 2] == 11
    assert dense[1, 0] == 9 and dense[0, 0] == 15 + 10


def test_the_inverted_file_index_finds_the_nearest_in_a_few_cells():
    rng = np.random.default_rng(0)
    centres = ivf.unit(rng.normal(size=(40, 32)))
    data = ivf.unit(np.repeat(centres, 100, axis=0) + 0.2 * rng.normal(size=(4000, 32)))
    centroids = ivf.train(data, cells=64)
    cells = ivf.assign(data, centroids)
    query = data[1234]
    probed = set(ivf.probe(query, centroids, probes=4))
    exact = np.argsort(-(data @ query))[:20]
    assert np.mean([cells[i] in probed for i in exact]) >= 0.9
    assert len(probed) == 4 and np.mean(np.isin(cells, list(probed))) < 0.25


def test_cells_are_filed_a_block_at_a_time_with_the_same_result(monkeypatch):
    rng = np.random.default_rng(1)
    data = ivf.unit(rng.normal(size=(1000, 16)))
    centroids = ivf.train(data, cells=32)
    whole = np.argmax(data @ centroids.T, axis=1)
    monkeypatch.setattr(ivf, "SCORES_AT_ONCE", 32 * 7)  # 7 rows a block, a ragged last one
    assert (ivf.assign(data, centroids) == whole).all()
    assert (ivf.train(data, cells=32) == centroids).all()


def _day(n: int) -> str:
    return f"2025-01-{n:02d}T09:00:00Z"


def test_a_story_past_its_span_hands_over_to_a_follow_up(db):
    rows = [f"Stocks end lower on weak growth data as Nasdaq slips, day {d}" for d in range(1, 9)]
    with Storyline(db, story_span_days=3, **WORDS_ONLY) as sl:
        for d, text in enumerate(rows, 1):
            sl.ingest_records([{"text": text, "published_at": _day(d)}], batch=str(d))
        stories = sorted(sl.stories(), key=lambda s: s.id)
        assert len(stories) >= 2  # one topic, a chain of stories
        first, second = (sl.story(s.id) for s in stories[:2])
        assert second.follows == first.id and first.followed_by[0] == second.id
        assert sl.store.check() == []


def test_a_new_process_finds_copies_without_reading_the_whole_history(db):
    with Storyline(db, **WORDS_ONLY) as sl:
        sl.ingest_records([{"text": TEXT, "published_at": _day(1)}], batch="1")
    with Storyline(db, **WORDS_ONLY) as sl:  # within the window: a near copy
        report = sl.ingest_records([{"text": NEAR, "published_at": _day(2)}], batch="2")[0]
        assert report.near_duplicates == 1
    with Storyline(db, **WORDS_ONLY) as sl:  # weeks later: exact copies only
        report = sl.ingest_records([{"text": TEXT, "published_at": _day(20)},
                                    {"text": NEAR + " again", "published_at": _day(20)}],
                                   batch="3")[0]
        assert report.exact_duplicates == 1 and report.near_duplicates == 0
        assert sl.engine._index is not None and len(sl.engine._index) == 1


def test_both_story_pages_link_the_chain(db):
    from pathlib import Path

    from fastapi.testclient import TestClient

    from storyline.web.access import WebSettings
    from storyline.web.app import create_app

    rows = [f"Stocks end lower on weak growth data as Nasdaq slips, day {d}" for d in range(1, 7)]
    with Storyline(db, story_span_days=3, **WORDS_ONLY) as sl:
        for d, text in enumerate(rows, 1):
            sl.ingest_records([{"text": text, "published_at": _day(d)}], batch=str(d))
        first, second = sorted(s.id for s in sl.stories())[:2]
    with TestClient(create_app(WebSettings(db=Path(db), facts=False))) as client:
        assert f'Followed by <a href="/stories/{second}">' in client.get(f"/stories/{first}").text
        assert f'Follows <a href="/stories/{first}">' in client.get(f"/stories/{second}").text
        assert client.get(f"/api/stories/{second}").json()["follows"] == first


def _small_cells(monkeypatch) -> list[str]:
    """Small numbers for a big store: 4 cells drawn at 40 snippets, drawn again (twice
    as many) once they hold 12 each on average; and 56 texts to file."""
    for name, value in {"CELLS": 4, "TRAIN_MIN": 40, "MEAN_MAX": 12, "GROWTH": 2,
                        "SAMPLE_PER_CELL": 5, "REFILE_CHUNK": 7, "PROBES": 2}.items():
        monkeypatch.setattr(ivf, name, value)
    places = ["Lagos", "Oslo", "Quito", "Hanoi", "Perth", "Cusco", "Dakar", "Riga"]
    things = ["bridge", "harbour", "airport", "stadium", "library", "museum", "tunnel"]
    return [f"{thing.title()} in {place} reopens after {n} months of repairs, mayor says"
            for n, (place, thing) in enumerate((p, t) for p in places for t in things)]


@needs_static
def test_a_store_that_outgrows_its_search_cells_gets_finer_ones(any_db, monkeypatch):
    texts = _small_cells(monkeypatch)
    with Storyline(any_db, model="static", extract_facts=False) as sl:
        drawn = []
        for b in range(0, len(texts), 8):
            sl.ingest_records([{"text": t} for t in texts[b:b + 8]], batch=f"{b:03d}")
            cells = ivf.load_centroids(sl.store.get_state("ivf:cells"), sl.engine.encoder.dim)
            drawn.append(0 if cells is None else len(cells))
        assert drawn == [0, 0, 0, 0, 4, 8, 8]  # drawn at 40 stored, again at 48
        ids, _ = sl.store.embedding_sample(1000, sl.engine.encoder.dim)
        filed = {i for c in range(8) for i in sl.store.embeddings_in_cells(
            [c], sl.engine.encoder.dim)[0]}
        assert filed == set(ids) and len(ids) == len(texts)
        hit = sl.search("harbour Oslo reopens")[0]
        assert "Oslo" in hit.text and sl.store.check() == []


@needs_static
def test_the_nearest_cells_read_at_once_are_those_read_one_by_one(any_db, monkeypatch):
    """PostgreSQL reads a query's cells in one statement: the same embeddings, in the
    same order, as Store's cell-by-cell loop, whatever the budget."""
    from storyline.store import Store

    texts = _small_cells(monkeypatch)
    with Storyline(any_db, model="static", extract_facts=False) as sl:
        sl.ingest_records([{"text": t} for t in texts], batch="backfill")
        dim = sl.engine.encoder.dim
        sizes = [len(sl.store.embeddings_in_cells([c], dim)[0]) for c in range(8)]
        order = [5, 2, 7, 0, 3, 1, 6, 4]
        for budget in (1, sizes[5], sizes[5] + 1, 30, 1000):
            ids, vectors = sl.store.embeddings_of_nearest_cells(order, dim, budget)
            want_ids, want = Store.embeddings_of_nearest_cells(sl.store, order, dim, budget)
            assert sorted(ids) == sorted(want_ids)
            assert dict(zip(ids, map(tuple, vectors))) == dict(zip(want_ids, map(tuple, want)))
            cell_of = {i: c for c in order for i in sl.store.embeddings_in_cells([c], dim)[0]}
            ranks = [order.index(cell_of[i]) for i in ids]
            assert ranks == sorted(ranks)  # nearest cell first
        assert len(sl.store.embeddings_of_nearest_cells([], dim, 10)[0]) == 0


@needs_static
def test_a_store_that_arrives_big_gets_fine_cells_at_once(db, monkeypatch):
    texts = _small_cells(monkeypatch)
    with Storyline(db, model="static", extract_facts=False) as sl:
        sl.ingest_records([{"text": t} for t in texts], batch="backfill")
        dim = sl.engine.encoder.dim
        assert len(ivf.load_centroids(sl.store.get_state("ivf:cells"), dim)) == 8
        assert sum(len(sl.store.embeddings_in_cells([c], dim)[0]) for c in range(8)) == 56


def test_a_new_snippet_is_written_once_with_its_story(db):
    """Clustering places a batch's new snippets before they are written: an UPDATE after
    the INSERT would leave a dead row version on PostgreSQL for every one of them."""
    first = [f"Harbour crane collapse in {p} injures {n} workers, port authority says"
             for n, p in enumerate(["Rotterdam", "Antwerp", "Hamburg"], 3)]
    second = [f"Crane collapse at {p} harbour injures {n} workers" for n, p in
              enumerate(["Rotterdam", "Antwerp", "Hamburg", "Le Havre"], 3)]
    calls: list[tuple[str, list]] = []
    with Storyline(db, **WORDS_ONLY) as sl:
        sl.ingest_records([{"text": t} for t in first], batch="1")
        for name in ("set_novel", "add_snippets"):
            method = getattr(sl.store, name)
            setattr(sl.store, name, lambda *a, _n=name, _m=method: (
                calls.append((_n, list(a[0]))), _m(list(a[0]), *a[1:]))[1])
        sl.ingest_records([{"text": t} for t in second + first[:1]], batch="2")
        stories = {i: sl.store.snippet(i).story_id for i in range(1, 8)}
    written = [row for name, rows in calls if name == "add_snippets" for row in rows]
    assert len(written) == 4 and all(row.story_id is not None for row in written)
    assert all(s is not None for s in stories.values())
    # Each new snippet's story is the one it was written with: nothing moved it after.
    assert all(stories[row.id] == row.story_id for row in written)
    # Only a snippet that brought nothing new is updated after it is written.
    assert all(not flag for name, rows in calls if name == "set_novel" for _, flag in rows)


def _plans(call, keep) -> list[str]:
    """SQLite's query plan of each statement ``call(store)`` runs on a new store whose SQL
    ``keep`` accepts: what reads an index and what walks a table."""
    from storyline.store import open_store

    statements: list[str] = []
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "test.db") as store:
        store.db.set_trace_callback(statements.append)
        call(store)
        store.db.set_trace_callback(None)
        return [" ".join(str(tuple(row)) for row in store.db.execute(f"EXPLAIN QUERY PLAN {s}"))
                for s in statements if keep(s)]


def test_a_search_reads_its_cells_vectors_from_the_index_alone():
    """On SQLite the nearest cells' embeddings are read in index order, never row by row
    from the table (10 times slower from disk at 2 M snippets: docs/scale.md)."""
    plans = _plans(lambda store: store.embeddings_in_cells([3, 5], 4),
                   lambda sql: "embedding" in sql)
    assert plans and "COVERING INDEX snippets_cell_vectors" in plans[0], plans


def test_the_live_stories_are_found_through_an_index_not_by_reading_every_story():
    """What a batch is matched against costs the live part of the stream, not its
    history: on SQLite the live stories' reads search the index on ``last_seq``."""
    plans = _plans(lambda store: (store.live_stories([1]), store.live_member_count([1], 50)),
                   lambda sql: "FROM stories" in sql)
    assert len(plans) == 2
    assert all("USING INDEX stories_last" in plan and "SCAN stories" not in plan
               for plan in plans), plans


def test_a_new_process_reads_the_near_copy_window_through_the_batch_index():
    """The window's signatures are found by batch, never by walking every snippet."""
    plans = _plans(lambda store: (store.latest_signature_rows(3, 1000),
                                  store.signature_rows_since(3)),
                   lambda sql: "snippet_signatures" in sql)
    assert len(plans) == 2
    assert all("INDEX snippets_batch" in plan and "SCAN s" not in plan for plan in plans), plans
