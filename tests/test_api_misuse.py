"""The Python API answers a caller's mistake with the error the CLI would report (a
StorylineError subclass, docs/cli.md's exit codes), never a driver's or a builtin's."""

from __future__ import annotations

import pytest

from storyline import Record, Storyline
from storyline.errors import (
    InputError,
    NotFoundError,
    StoreError,
    StorylineError,
    UsageError,
)
from storyline.search import SearchFilters

from .conftest import SEEDS, needs_static


@pytest.fixture(scope="module")
def sl(tmp_path_factory):
    db = tmp_path_factory.mktemp("api") / "api.db"
    with Storyline(db, model="none", extract_facts=False) as store:
        store.ingest(SEEDS)
    with Storyline(db) as opened:
        yield opened


@pytest.mark.parametrize("call,error", [
    (lambda sl: sl.story(10**30), NotFoundError),
    (lambda sl: sl.story("1"), NotFoundError),
    (lambda sl: sl.facts(2**70), NotFoundError),
    (lambda sl: sl.stories(limit=10**30), UsageError),
    (lambda sl: sl.stories(limit="5"), UsageError),
    (lambda sl: sl.stories(min_size=None), UsageError),
    (lambda sl: sl.stories(status="weird"), UsageError),
    (lambda sl: sl.story_page(offset=-3), UsageError),
    (lambda sl: sl.changes_page("002", offset=-1), UsageError),
    (lambda sl: sl.changes_page("002", limit=0), UsageError),
    (lambda sl: sl.search("korea", limit=10**30), UsageError),
    (lambda sl: sl.search(123), UsageError),
    (lambda sl: sl.export("xml"), UsageError),
    # Found by a hostile pass: each was an AttributeError or a TypeError from deep inside.
    (lambda sl: sl.stories(text=5), UsageError),
    (lambda sl: sl.stories(batch=["000"]), UsageError),
    (lambda sl: sl.search("korea", filters={"since": "2025"}), UsageError),
    (lambda sl: sl.search("korea", filters=SearchFilters(since="last week")), UsageError),
    (lambda sl: sl.search("korea", filters=SearchFilters(first_batch=2)), UsageError),
    (lambda sl: sl.ingest(None), UsageError),
    (lambda sl: sl.ingest(5), UsageError),
    (lambda sl: sl.ingest(SEEDS, batch=5), UsageError),
    (lambda sl: sl.ingest(SEEDS, window=5), UsageError),  # was cut into batches anyway
    (lambda sl: sl.ingest_records(None), UsageError),
    (lambda sl: sl.ingest_records([{"text": "A quake hit the coast"}], batch=5), UsageError),
])
def test_a_wrong_argument_is_a_storyline_error(sl, call, error):
    with pytest.raises(error):
        call(sl)


@pytest.mark.parametrize("open_it,says", [
    (lambda tmp: Storyline(5), "a path or a postgresql:// URL"),
    (lambda tmp: Storyline(tmp / "o.db", bogus_setting=3), "unknown setting 'bogus_setting'"),
])
def test_a_wrong_way_to_open_a_store_is_a_usage_error(tmp_path, open_it, says):
    with pytest.raises(UsageError, match=says):
        open_it(tmp_path)


@pytest.mark.parametrize("record,says", [
    ({"source": "AP"}, "missing required field 'text'"),
    ({"text": None}, "missing required field 'text'"),
    ({"text": 5}, "field 'text' must be a string"),
    ({"text": "A quake hit the coast", "source": ["AP"]}, "field 'source' must be a string"),
    ({"text": "A quake hit \ud800 the coast"}, "unpaired surrogate"),
    ({"text": "A quake hit the coast", "title": "x" * 100_001}, "field 'title' longer than"),
    (Record("quake " * 20_000, "1"), "field 'text' longer than 100000"),
    (5, "expected a Record or a mapping, not int"),
    (None, "expected a Record or a mapping, not NoneType"),
])
def test_a_bad_record_is_an_input_error_naming_it(tmp_path, record, says):
    with Storyline(tmp_path / "r.db", model="none", extract_facts=False) as sl:
        with pytest.raises(InputError, match=says) as caught:
            sl.ingest_records([{"text": "A fine first record about the harbour"}, record])
        assert caught.value.line == 2 and sl.store.batches() == []


def test_a_record_without_a_batch_gets_the_default_and_odd_keys_are_left_out(tmp_path):
    with Storyline(tmp_path / "r.db", model="none", extract_facts=False) as sl:
        (report,) = sl.ingest_records([Record("A volcano erupted in Iceland today", None),
                                       {"text": "Ash closed two airports", "colour": "red"}])
        assert report.batch == "1" and report.records == 2
        assert [b.name for b in sl.store.batches()] == ["1"]


def test_a_closed_storyline_says_so(tmp_path):
    sl = Storyline(tmp_path / "c.db", model="none", extract_facts=False)
    sl.close()
    sl.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        sl.stories()
    assert issubclass(StoreError, StorylineError)


def test_a_storyline_closed_after_an_ingest_says_so_when_it_ingests_again(tmp_path):
    sl = Storyline(tmp_path / "c.db", model="none", extract_facts=False)
    sl.ingest_records([{"text": "A volcano erupted in Iceland today"}])
    sl.close()
    for again in (lambda: sl.ingest_records([{"text": "Ash closed two airports"}]),
                  lambda: sl.ingest(SEEDS), lambda: sl.check()):
        with pytest.raises(StoreError, match="closed"):  # was sqlite3.ProgrammingError
            again()


def test_an_empty_file_is_no_store_to_read(tmp_path):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(NotFoundError):
        Storyline(empty, create=False)
    assert empty.stat().st_size == 0


@needs_static
def test_a_reader_opened_on_an_empty_store_searches_as_the_store_was_built(tmp_path):
    """A server started on an empty store, another process ingesting with --fast: the
    reader takes up the store's model when it first searches (it refused before)."""
    db = tmp_path / "late.db"
    Storyline(db).close()  # an empty store, made
    with Storyline(db, model=None) as reader:  # as the CLI and the server open it
        with Storyline(db, "fast") as writer:
            writer.ingest(SEEDS)
        hits = reader.search("North Korean soldiers")
        assert hits and reader.config.model == "static"
