"""Reads at scale: the story list and a batch's changes come in pages the store cuts (the
pages put together are the whole list), headlines are written with their stories, and the
command's start-up imports only what the command needs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from storyline import Storyline, views
from storyline.store import Store
from tests.conftest import ROOT, SEEDS

# Modules that a read of the store, or the help, must not pay for.
MODEL_MODULES = ("scipy", "sklearn", "onnxruntime", "torch", "tokenizers", "spacy", "thinc")


@pytest.fixture
def seeded_any(any_db):
    """The seeds on each backend (words only: no model to load), and a batch of copies
    of them with news of its own, so that a batch brings new and repeated snippets."""
    with Storyline(any_db, "default", model="none", extract_facts=False) as sl:
        sl.ingest(SEEDS)
        old = [s.text for s in sl.story(sl.stories()[0].id).snippets[:3]]
        sl.ingest_records([{"text": t, "source": "Copier"} for t in old]
                          + [{"text": "Volcano erupts on remote island, villagers flee"}],
                          batch="003")
    return any_db


def test_story_pages_put_together_are_the_whole_list(seeded_any):
    with Storyline(seeded_any) as sl:
        for filters in ({}, {"min_size": 2}, {"status": "active"}, {"text": "ukrain"},
                        {"batch": "002"}):
            whole = sl.story_page(**filters)
            assert whole.total == len(whole.stories)
            for limit in (1, 3):
                pages = [sl.story_page(limit=limit, offset=o, **filters)
                         for o in range(0, whole.total + limit, limit)]
                assert all(p.total == whole.total for p in pages), filters
                assert [s for p in pages for s in p.stories] == whole.stories, filters
        assert sl.story_page(limit=2, offset=10**6).stories == []
        assert sl.story_page(limit=2, offset=10**6).total == len(sl.stories())


def test_change_pages_put_together_are_the_whole_batch(seeded_any):
    with Storyline(seeded_any) as sl:
        for batch in ("000", "002", "003"):
            whole = sl.changes_page(batch)
            assert whole.changes == sl.changes(batch)
            assert whole.total == len(whole.changes)
            assert whole.new == sum(len(c.new) for c in whole.changes)
            assert whole.repeated == sum(len(c.repeated) for c in whole.changes)
            assert whole.new_stories == sum(c.new_story for c in whole.changes)
            pages = [sl.changes_page(batch, limit=2, offset=o)
                     for o in range(0, whole.total + 2, 2)]
            assert [c for p in pages for c in p.changes] == whole.changes
            assert {(p.total, p.new, p.repeated) for p in pages} == {
                (whole.total, whole.new, whole.repeated)}
        latest = sl.changes("003")
        assert any(c.repeated for c in latest) and any(c.new for c in latest)


def test_headlines_are_written_with_their_stories(seeded_any, tmp_path):
    with Storyline(seeded_any) as sl:
        rows = sl.store.story_list()
        assert rows and all(r.headline for r in rows)
        for row in rows:  # what a read would work out from the headline snippet
            row.headline = None
            computed = views._headline(sl.store, row)
            assert sl.store.stories_of([row.id])[row.id].headline == computed


def test_a_store_written_before_headlines_were_kept_reads_the_same(db):
    with Storyline(db, "default", model="none", extract_facts=False) as sl:
        sl.ingest(SEEDS)
        before = sl.story_page(limit=5)
        changes = sl.changes("002")
    with Store(db) as store, store.transaction():
        store.db.execute("UPDATE stories SET headline = NULL")
    with Storyline(db) as sl:
        assert sl.story_page(limit=5) == before
        assert sl.changes("002") == changes


def test_resolve_many_follows_every_chain_of_merges(any_db):
    with Store(any_db) as store, store.transaction():
        a, b, c, d = (store.new_story(1), store.new_story(1), store.new_story(2),
                      store.new_story(2))
        store.merge(a, b, 2, 0.5)
        store.merge(b, c, 3, 0.4)
        assert store.resolve_many([a, b, c, d, 999]) == {a: c, b: c, c: c, d: d}
        assert set(store.stories_of([a, d, 999])) == {a, d}


def _imported(args: list[str], watched: tuple[str, ...] = ("numpy",)) -> set[str]:
    """The modules of MODEL_MODULES (and ``watched``) that ``storyline ARGS`` imported."""
    probe = ("import runpy, sys\n"
             f"sys.argv = ['storyline', *{args!r}]\n"
             "try:\n    runpy.run_module('storyline.cli', run_name='__main__')\n"
             "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
             "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stderr.strip().splitlines()[-1].split())
    return {m for m in (*MODEL_MODULES, *watched) if m in loaded}


@pytest.mark.slow
def test_help_and_reads_import_no_model_nor_numpy(seeded_any):
    if not isinstance(seeded_any, os.PathLike):
        pytest.skip("the imports do not depend on the backend: SQLite only")
    db = str(seeded_any)
    assert _imported(["--help"]) == set()  # not even numpy
    assert _imported(["stories", "--help"]) == set()
    with Storyline(db) as sl:
        story = str(sl.stories(limit=1)[0].id)
    for args in (["stories"], ["stories", "--json"], ["show", story], ["changes", "002"],
                 ["batches"]):
        assert _imported([*args, "--db", db]) == set(), args
    # Printing JSON needs neither rich (45 ms) nor dateutil (20 ms).
    lean = ("numpy", "rich", "dateutil", "pydantic")
    for args in (["--help"], ["stories", "--json"], ["show", story, "--json"]):
        assert _imported([*args, "--db", db] if args != ["--help"] else args, lean) == set()
