"""The store on both backends (SQLite; PostgreSQL where STORYLINE_TEST_PG names a
server): migrations, transactions, merges, snapshots."""

import numpy as np
import pytest

from storyline.store import Store, StoreError
from storyline.store.schema import MIGRATIONS
from storyline.store.sqlite import NewSnippet
from storyline.store.vectors import blob_vector, stacked, vector_blob
from storyline.types import Record


def test_new_store_is_at_the_latest_schema(any_db):
    with Store(any_db) as store:
        assert store.schema_version == len(MIGRATIONS)
    with Store(any_db) as store:  # reopening migrates nothing twice
        assert store.schema_version == len(MIGRATIONS)


def test_a_store_from_the_future_is_refused(any_db):
    with Store(any_db) as store:
        store.db.execute("UPDATE schema_version SET version=999")
    with pytest.raises(StoreError, match="newer than this storyline"):
        Store(any_db)


def test_a_failed_transaction_leaves_nothing(any_db):
    with Store(any_db) as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.add_batch("b", 1, "d", 1, "now", None)
            sid = store.next_snippet_id()
            store.add_snippets([NewSnippet(sid, "k", "text", False, 1, None)])
            store.add_copies([(sid, 1, 0, "original", 1.0, Record(text="text", batch="b"))])
            raise RuntimeError("crash")
        assert store.counts() == {"batches": 0, "snippets": 0, "copies": 0, "stories": 0,
                                  "merges": 0}


def test_merged_ids_resolve_to_the_survivor(any_db):
    with Store(any_db) as store, store.transaction():
        a, b, c = store.new_story(1), store.new_story(1), store.new_story(2)
        store.merge(a, b, 2, 0.5)
        store.merge(b, c, 3, 0.4)
        assert store.resolve(a) == c and store.resolve(c) == c
        assert store.merged_from(c) == [b]
        assert store.resolve(999) is None


def test_an_old_store_is_migrated_forward(db):
    import sqlite3

    from storyline.store.sqlite import _statements

    con = sqlite3.connect(db)
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for statement in _statements(MIGRATIONS[0]):
        con.execute(statement)
    con.execute("INSERT INTO schema_version VALUES (1)")
    con.commit()
    con.close()
    with Store(db) as store:
        assert store.schema_version == len(MIGRATIONS)
        tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master")}
        assert "facts" in tables
        columns = {r[1] for r in store.db.execute("PRAGMA table_info(batches)")}
        assert "clock" in columns


def test_signatures_leave_the_window_as_rows_of_their_own(any_db):
    with Store(any_db) as store, store.transaction():
        store.add_batch("a", 1, "d", 2, "now", None)
        store.add_batch("b", 2, "d", 1, "now", None)
        store.add_snippets([NewSnippet(1, "k1", "one", False, 1, b"sig-1"),
                            NewSnippet(2, "k2", "two", False, 1, b"sig-2"),
                            NewSnippet(3, "k3", "three", False, 2, b"sig-3")])
        assert [(r[0], r[2]) for r in store.signature_rows_since(1)] == [
            (1, b"sig-1"), (2, b"sig-2"), (3, b"sig-3")]
        store.drop_signatures_before(2)
        # The window's snippets keep theirs; older ones lose only the signature.
        assert [(r[0], r[2]) for r in store.signature_rows_since(1)] == [
            (1, None), (2, None), (3, b"sig-3")]
        assert store.counts()["snippets"] == 3


def test_signatures_move_out_of_the_snippets_table_on_migration(db):
    import sqlite3

    from storyline.store.sqlite import _statements

    con = sqlite3.connect(db)
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for migration in MIGRATIONS[:7]:
        for statement in _statements(migration):
            con.execute(statement)
    con.execute("INSERT INTO schema_version VALUES (7)")
    con.execute("INSERT INTO snippets(id, key, text, batch_seq, minhash) "
                "VALUES (1, 'k1', 'one', 1, NULL), (2, 'k2', 'two', 1, x'0102')")
    con.commit()
    con.close()
    with Store(db) as store:
        assert store.schema_version == len(MIGRATIONS)
        rows = store.signature_rows_since(1)
        assert [(r[0], r[2]) for r in rows] == [(1, None), (2, b"\x01\x02")]
        columns = {r[1] for r in store.db.execute("PRAGMA table_info(snippets)")}
        assert "minhash" not in columns and "embedding" in columns


def test_open_store_picks_the_backend_from_the_argument(tmp_path):
    from storyline.store import open_store
    from storyline.store.sqlite import SQLiteStore

    with open_store(tmp_path / "a.db") as store, Store(tmp_path / "b.db") as other:
        assert isinstance(store, SQLiteStore) and isinstance(store, Store)
        assert isinstance(other, SQLiteStore)
    with pytest.raises(StoreError, match=r"postgresql://news:\*\*\*@127.0.0.1:1/news: "
                       "(cannot connect|PostgreSQL support not installed)"):
        open_store("postgresql://news:secret@127.0.0.1:1/news")


def _one_batch_store(path):
    """A store of one batch with its write-ahead log folded in and its files gone, as a
    store copied onto a read-only disk is."""
    import sqlite3

    path.parent.mkdir(exist_ok=True)
    with Store(path) as store, store.transaction():
        store.add_batch("001", 1, "d", 0, "2025-01-18T10:00:00+00:00", "test")
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    return path


def test_a_store_this_process_cannot_write_is_read_and_left_as_it_was(tmp_path,
                                                                         monkeypatch):
    import storyline.store as stores

    db = _one_batch_store(tmp_path / "s.db")
    before = db.read_bytes()
    monkeypatch.setattr(stores, "_writable", lambda path: False)
    with stores.open_store(db, create=False) as store:
        assert [b.name for b in store.batches()] == ["001"]
        with pytest.raises(StoreError, match="cannot be written|readonly"):
            with store.transaction():
                store.add_batch("002", 2, "d", 0, "2025-01-18T11:00:00+00:00", "test")
    assert db.read_bytes() == before


def test_a_store_on_a_read_only_mount_is_read(tmp_path):
    import gc
    import os
    import subprocess

    _one_batch_store(tmp_path / "src" / "s.db")
    mounted = tmp_path / "ro"
    mounted.mkdir()
    if subprocess.run(["mount", "--bind", "-o", "ro", str(tmp_path / "src"), str(mounted)],
                      capture_output=True).returncode != 0:
        pytest.skip("a read-only bind mount needs root's mount rights here")
    try:
        if os.access(mounted, os.W_OK):  # an older mount(8) binds first, read-only after
            subprocess.run(["mount", "-o", "remount,ro,bind", str(mounted)], check=True)
        from storyline.store import open_store

        with open_store(mounted / "s.db", create=False) as store:
            assert [b.name for b in store.batches()] == ["001"]
    finally:
        gc.collect()  # sqlite3 closes a file once the cursors read from it are collected
        done = subprocess.run(["umount", str(mounted)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_version_changes_with_a_batch_and_snapshots_hold_still(any_db):
    with Store(any_db) as store, Store(any_db) as reader:
        before = reader.version()
        with reader.snapshot():
            assert reader.batches() == []
            with store.transaction():
                store.add_batch("001", 1, "d", 0, "2025-01-18T10:00:00+00:00", "test")
            assert reader.batches() == [] and reader.version() == before
        assert [b.name for b in reader.batches()] == ["001"]
        assert reader.version() != before


def test_size_counts_the_storyline_tables_as_they_grow(any_db):
    with Store(any_db) as store:
        empty = store.size_bytes()
        assert empty > 0
        with store.transaction():
            store.add_batch("b", 1, "d", 2000, "now", None)
            first = store.next_snippet_id()
            texts = [f"{i:05d} " + "harbour crane collapse injures workers " * 8
                     for i in range(2000)]
            store.add_snippets([NewSnippet(first + i, f"k{i}", text, False, 1, None)
                                for i, text in enumerate(texts)])
        grown = store.size_bytes()
        assert grown - empty >= sum(map(len, texts))  # at least the texts themselves
        if isinstance(any_db, str):  # the server's: another table there is not counted
            store.db.execute("CREATE TABLE unrelated AS SELECT repeat('x', 1000) AS pad "
                             "FROM generate_series(1, 2000)")
            assert store.size_bytes() == grown
        else:  # the file with its write-ahead log
            files = [any_db, any_db.with_name(any_db.name + "-wal")]
            assert grown == sum(f.stat().st_size for f in files if f.exists())
    with Store(any_db) as store:  # reopened (SQLite folded its log in): still counted
        assert store.size_bytes() - empty >= sum(map(len, texts))


def test_no_sql_outside_the_store():
    import re
    from pathlib import Path

    import storyline

    root = Path(storyline.__file__).parent
    sql = re.compile(r"\.execute(many|script)?\(|\b(SELECT\b.*\bFROM|INSERT INTO|UPDATE \w+ "
                     r"SET|DELETE FROM|CREATE TABLE)\b")
    found = [f"{path.relative_to(root)}:{n}"
             for path in root.rglob("*.py") if path.parent.name != "store"
             for n, line in enumerate(path.read_text().splitlines(), 1) if sql.search(line)]
    assert found == []


def test_embeddings_are_stored_as_int8_and_older_stores_still_read():
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((300, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    blobs = [vector_blob(v) for v in vectors]
    assert {len(b) for b in blobs} == {384 + 4}  # a quarter of float32, and a scale
    older = [v.astype(np.float16).tobytes() for v in vectors[:100]] + \
        [v.tobytes() for v in vectors[100:150]]
    rows = list(zip(range(300), older + blobs[150:])) + [(300, None), (301, b"other model")]
    ids, back = stacked(rows, 384)
    assert ids == list(range(300))
    cosines, exact = back @ back.T, vectors @ vectors.T
    assert np.abs(cosines - exact).max() < 0.005  # thresholds compared are 0.1-0.8
    assert np.allclose(blob_vector(blobs[200], 384), back[200])


def test_a_story_s_dates_are_compared_as_instants_whatever_their_zones(any_db, tmp_path):
    import json

    from storyline.api import Storyline
    from storyline.search import SearchFilters

    feed = tmp_path / "zones.jsonl"
    text = "Floods close the valley road near the old mill."
    feed.write_text("".join(json.dumps({"text": text, "published_at": when}) + "\n" for when in
                            ("2025-01-13T06:00:00Z", "2025-01-13T10:00:00+05:30",
                             "Mon, 13 Jan 2025 09:00:00 +0300", "not a date")))
    with Storyline(any_db, model="none", extract_facts=False) as sl:
        sl.ingest(feed)
        story = sl.stories()[0].id
        # As strings "2025-01-13T06:00:00Z" came first; 10:00+05:30 is 04:30 UTC.
        assert sl.store.story_dates(story) == ("2025-01-13T04:30:00+00:00",
                                               "2025-01-13T06:00:00+00:00")
        for since, until, found in (("2025-01-13T06", None, True),
                                    ("2025-01-13 06:01", None, False),
                                    (None, "2025-01-13T04:30", True),
                                    (None, "2025-01-13T04:29Z", False)):
            hits = sl.search("floods valley", filters=SearchFilters(since=since, until=until))
            assert bool(hits) is found, (since, until)
