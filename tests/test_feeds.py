"""Watching sources: feeds and article pages served over loopback HTTP, a folder of
batch files, ``storyline watch`` and ``storyline serve --feed``.

The stores use ``model="none"``: these tests are about reading sources, not clustering.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from storyline.errors import StoreBusyError
from storyline.feeds import (
    FetchError,
    Watcher,
    article_record,
    feed_records,
    fetch,
    html_text,
    lead,
)
from storyline.pipeline.normalize import titled_text
from storyline.store import Store
from storyline.types import Record
from storyline.web.access import StoreAccess, WebSettings
from storyline.web.app import create_app
from storyline.web.server import BackgroundServer

from .conftest import FIXTURES

FEEDS = FIXTURES / "feeds"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no access log in the test output
        pass


@pytest.fixture
def served(tmp_path):
    """A copy of the feed fixtures, served over HTTP on a free loopback port: tests may
    change the files (a feed that gains an item) while it serves."""
    root = tmp_path / "www"
    shutil.copytree(FEEDS, root)
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def access(tmp_path):
    store = StoreAccess(WebSettings(db=tmp_path / "watch.db", model="none"))
    yield store
    store.close()


def _batches(db: Path) -> list[tuple[str, int]]:
    with Store(db) as store:
        return [(b.name, b.records) for b in store.batches()]


# -- reading feeds and pages ------------------------------------------------------------


def test_rss_items_become_title_and_lead():
    records = feed_records((FEEDS / "rss.xml").read_bytes(), "http://news.example/rss.xml")
    assert len(records) == 3
    fire = records[0]
    assert fire.text == ("Fire breaks out at harbour warehouse. A fire broke out at a warehouse "
                         "on the east quay early on Saturday, the fire service said. Crews from "
                         "three stations were called.")
    assert fire.title == "Fire breaks out at harbour warehouse"
    assert fire.source == "Harbour Daily"
    assert fire.id == "http://news.example/rss.xml#harbour-daily-1001"  # the feed's own id
    assert fire.url == "http://news.example/articles/warehouse-fire.html"  # made absolute
    assert fire.published_at == "2025-01-18T09:30:00+00:00"
    assert "&" in records[1].text and "&amp;" not in records[1].text


def test_atom_over_http(served):
    _, base = served
    page = fetch(base + "/atom.xml")
    records = feed_records(page.content, page.url)
    assert [r.source for r in records] == ["Coast Wire", "Coast Wire"]
    assert records[0].text.startswith("Warehouse fire on east quay under control. Firefighters "
                                      "brought the warehouse fire")
    assert "<b>" not in records[0].text
    assert records[0].id == "tag:coast-wire.example,2025:fire-under-control"


def test_article_page_gives_title_and_first_paragraph(served):
    _, base = served
    url = base + "/articles/warehouse-fire.html"
    record = article_record(fetch(url).content, url)
    assert record is not None
    assert record.text.startswith("Fire breaks out at harbour warehouse. A large fire broke out "
                                  "at a timber warehouse")
    assert "Crews from three stations" not in record.text  # the lead only
    assert "Subscribe" not in record.text and "Cookie" not in record.text
    assert record.source == "Harbour Daily"
    assert record.published_at == "2025-01-18"
    assert record.url == record.id == url


def test_fetch_errors_say_what_failed(served):
    _, base = served
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(base + "/nothing-here.xml")
    with pytest.raises(FetchError, match="not an RSS or Atom feed"):
        feed_records(fetch(base + "/not-a-feed.xml").content, base + "/not-a-feed.xml")
    with pytest.raises(FetchError, match="no-such-file"):
        fetch(str(FEEDS / "no-such-file.xml"))


class _Hostile(BaseHTTPRequestHandler):
    """A server that redirects to itself, or sends a feed a byte at a time, forever."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.end_headers()
        try:
            while True:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:  # the client gave up
            return


@pytest.fixture
def hostile():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_a_server_that_never_finishes_is_given_up(hostile):
    # Each byte comes well within the timeout: only a deadline on the whole fetch ends it.
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"/drip: still sending after 1\.2 s; given up"):
        fetch(hostile + "/drip", timeout=0.2)
    assert time.monotonic() - started < 5


def test_a_redirect_loop_is_one_line(hostile):
    with pytest.raises(FetchError, match="HTTP 302") as caught:
        fetch(hostile + "/loop", timeout=2)
    assert "\n" not in str(caught.value) and "infinite loop" in str(caught.value)


def test_lead_and_titled_text():
    assert html_text("<p>One &amp; two.</p><p>Three.</p>") == "One & two.\nThree."
    assert html_text("<script>alert(1)</script>Plain") == "Plain"
    long = " ".join(["word"] * 50) + ". More " + " ".join(["more"] * 50) + "."
    assert lead(long) == " ".join(["word"] * 50) + "."
    assert lead(" ".join(["word"] * 200)).endswith("word…")
    assert lead("Short line.\nA real first paragraph with enough words in it.") == (
        "A real first paragraph with enough words in it.")
    assert titled_text("Title", "Lead sentence here.") == "Title. Lead sentence here."
    assert titled_text("Title?", "Lead.") == "Title? Lead."
    assert titled_text("Same start", "Same start of the lead.") == "Same start of the lead."
    assert titled_text("Only a title", "") == "Only a title"


# -- the watcher ------------------------------------------------------------------------


@pytest.mark.slow
def test_watcher_ingests_each_feed_item_once(served, access):
    root, base = served
    feeds = [base + "/rss.xml", base + "/atom.xml"]
    first = Watcher(access, feeds=feeds).poll()
    assert first.errors == []
    assert [r.records for r in first.reports] == [5]
    assert Watcher(access, feeds=feeds).poll().reports == []  # a restart: the store knows
    watcher = Watcher(access, feeds=feeds)
    watcher.poll()
    # The feed gains an item: the next poll ingests that one alone.
    rss = (root / "rss.xml").read_text(encoding="utf-8")
    item = ("<item><title>Harbour reopens to shipping</title><guid>harbour-daily-1004</guid>"
            "<link>https://harbour-daily.example/reopens</link><description>The harbour "
            "reopened to shipping on Sunday after the fire.</description></item>")
    (root / "rss.xml").write_text(rss.replace("<item>", item + "<item>", 1), encoding="utf-8")
    time.sleep(1.1)  # the server's Last-Modified has one-second resolution
    second = watcher.poll()
    assert [r.records for r in second.reports] == [1]
    names = _batches(access.db)
    assert len(names) == 2 and names[0][0] != names[1][0]
    with Store(access.db) as store:
        assert store.check() == []
        texts = [s.text for s in store.story_snippets(store.live_stories()[0].id)]
        assert texts


def test_an_item_is_kept_whatever_ids_it_has_or_shares(served, access):
    """An item with neither guid nor link is new once; a guid only its feed gives
    meaning to ("1") is not taken for another source's id."""
    root, base = served
    access.ingest_records([Record("Unrelated record one about grain prices", "b0", id="1")],
                          origin="test")
    (root / "ids.xml").write_text(
        "<rss version='2.0'><channel><title>Small Wire</title>"
        "<item><title>Volcano erupts near village</title><description>Ash fell on the "
        "village overnight.</description></item>"
        "<item><guid isPermaLink='false'>1</guid><title>Bridge closed for repairs"
        "</title><description>The old bridge shuts for a month.</description></item>"
        "</channel></rss>", encoding="utf-8")
    first = Watcher(access, feeds=[base + "/ids.xml"]).poll()
    assert [r.records for r in first.reports] == [2]
    assert Watcher(access, feeds=[base + "/ids.xml"]).poll().reports == []  # once


def test_a_feed_whose_items_could_not_be_stored_is_fetched_whole_again(
        served, access, monkeypatch):
    _, base = served
    watcher = Watcher(access, feeds=[base + "/rss.xml"])
    real = access.ingest_records

    def busy(*args, **kwargs):
        raise StoreBusyError("the store is busy")

    monkeypatch.setattr(access, "ingest_records", busy)
    failed = watcher.poll()
    assert failed.reports == [] and "busy" in failed.errors[0]
    monkeypatch.setattr(access, "ingest_records", real)
    # The server answers 304 to the validators of a fetch whose items were not stored.
    assert [r.records for r in watcher.poll().reports] == [3]


def test_an_item_s_text_and_date_are_held_to_what_ingest_takes():
    from storyline.pipeline.lines import MAX_LINE_CHARS

    huge = "x" * (2 * MAX_LINE_CHARS)  # one "word": a lead's word count does not cut it
    xml = ("<rss version='2.0'><channel><title>W</title>"
           f"<item><guid>https://w.example/1</guid><title>Long one</title><description>{huge}"
           "</description><pubDate>Fri, 31 Dec 9999 00:00:00 GMT</pubDate></item>"
           "<item><guid>https://w.example/2</guid><title>Old one</title><pubDate>Mon, 01 Jan "
           "0001 00:00:00 GMT</pubDate></item></channel></rss>")
    long, old = feed_records(xml.encode(), "https://w.example/rss")
    assert len(long.text) <= MAX_LINE_CHARS and long.text.endswith("…")
    assert long.published_at is None and old.published_at is None  # no news item's dates


@pytest.mark.parametrize("date,expected", [
    ("Mon, 13 Jan 2025 10:00:00", "2025-01-13T10:00:00+00:00"),  # no zone: UTC, as ingest
    ("Mon, 13 Jan 2025 10:00:00 JST", "2025-01-13T01:00:00+00:00"),
    ("Mon, 13 Jan 2025 10:00:00 GMT+0200", "2025-01-13T08:00:00+00:00"),
    ("Mon, 13 Jan 2025 10:00:00 IST", None),  # India, Ireland or Israel: no guess
    ("2025-01-13T10:00:00+05:30", "2025-01-13T04:30:00+00:00"),
])
def test_an_item_s_date_is_read_as_ingest_reads_it(date, expected):
    from storyline.dates import iso_date

    xml = ("<rss version='2.0'><channel><title>W</title><item><guid>https://w.example/1"
           f"</guid><title>One</title><pubDate>{date}</pubDate></item></channel></rss>")
    (record,) = feed_records(xml.encode(), "https://w.example/rss")
    assert record.published_at == expected == iso_date(date)


def test_a_poll_is_written_in_one_transaction(served, access, monkeypatch):
    """A poll stopped halfway would leave a batch its rerun (another batch name) could
    not finish: a poll's items go in whole, whatever the commit size."""
    from storyline.engine import Engine

    _, base = served
    monkeypatch.setenv("STORYLINE_COMMIT_RECORDS", "1")
    chunks = []
    write = Engine.write_chunk
    monkeypatch.setattr(Engine, "write_chunk",
                        lambda self, name, records, *a, **k: (
                            chunks.append(len(records)), write(self, name, records, *a, **k))[1])
    assert [r.records for r in Watcher(access, feeds=[base + "/rss.xml"]).poll().reports] == [3]
    assert chunks == [3]


def test_watcher_fetches_articles_when_asked(served, access):
    _, base = served
    result = Watcher(access, feeds=[base + "/rss.xml"], fetch_articles=True).poll()
    # The second item's page is missing: that item keeps its feed text, and it is said.
    assert any("missing-page.html" in e and "404" in e for e in result.errors)
    with Store(access.db) as store:
        texts = [r[0] for r in store.db.execute("SELECT raw_text FROM copies")]
    assert any(t.startswith("Fire breaks out at harbour warehouse. A large fire broke out at "
                            "a timber warehouse") for t in texts)
    assert any(t.startswith("Ferry services suspended after storm.") for t in texts)


def test_watcher_reads_article_pages_once(served, access):
    _, base = served
    url = base + "/articles/warehouse-fire.html"
    assert [r.records for r in Watcher(access, articles=[url]).poll().reports] == [1]
    assert Watcher(access, articles=[url]).poll().reports == []


def test_watcher_reports_bad_sources_and_goes_on(served, access):
    _, base = served
    result = Watcher(access, feeds=[base + "/not-a-feed.xml", base + "/gone.xml",
                                    "http://127.0.0.1:9/refused.xml", base + "/atom.xml"]).poll()
    assert len(result.errors) == 3
    assert [r.records for r in result.reports] == [2]


def test_watcher_ingests_files_dropped_in_a_folder(tmp_path, access):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watcher = Watcher(access, folder=inbox, settle=0.0)
    (inbox / "001_monday.txt").write_text("Floods close the valley road.\nSchools shut.\n")
    (inbox / ".002_partial.txt").write_text("Still being written")  # hidden: not yet
    (inbox / "notes.md").write_text("Not a batch file.")
    result = watcher.poll()
    assert [(r.batch, r.records) for r in result.reports] == [("001", 2)]
    assert watcher.poll().reports == []  # done once
    (inbox / ".002_partial.txt").rename(inbox / "002_tuesday.txt")
    (inbox / "003_bad.jsonl").write_text('{"text": "fine"}\n{"text": oops}\n')
    result = watcher.poll()
    assert [r.batch for r in result.reports] == ["002"]
    assert len(result.errors) == 1 and "003_bad.jsonl:2: bad JSON" in result.errors[0]
    assert watcher.poll().errors == []  # a bad file is not read again until it changes
    (inbox / "003_bad.jsonl").write_text('{"text": "Now it is fine, and about rain."}\n')
    assert [r.batch for r in watcher.poll().reports] == ["003"]
    assert [name for name, _ in _batches(access.db)] == ["001", "002", "003"]


def test_watcher_reads_the_folder_s_files_in_the_encoding_it_is_told(tmp_path, access):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "001_x.txt").write_bytes("Caf\u00e9 owners protest \u2013 \u20ac5 tax\n"
                                      .encode("cp1252"))
    refused = Watcher(access, folder=inbox, settle=0.0).poll()
    assert refused.reports == [] and "not valid UTF-8" in refused.errors[0]
    assert "--encoding" in refused.errors[0]
    result = Watcher(access, folder=inbox, settle=0.0, encoding="cp1252").poll()
    assert [(r.batch, r.records) for r in result.reports] == [("001", 1)]
    with Store(access.db) as store:
        assert store.batch_copies(1)[0].raw_text == "Caf\u00e9 owners protest \u2013 \u20ac5 tax"


def test_a_file_the_store_could_not_take_then_is_taken_at_the_next_poll(
        tmp_path, access, monkeypatch):
    import sqlite3

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watcher = Watcher(access, folder=inbox, settle=0.0)
    monkeypatch.setenv("STORYLINE_BUSY_TIMEOUT", "0.2")
    (inbox / "001_monday.txt").write_text("Floods close the valley road.\n")
    holder = sqlite3.connect(access.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer, mid-batch
    try:
        result = watcher.poll()
        assert result.reports == [] and "the store is busy" in result.errors[0]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # The file did not change: it is retried since the store, not the file, failed.
    assert [r.batch for r in watcher.poll().reports] == ["001"]


@pytest.mark.slow
def test_a_file_dropped_in_the_folder_ends_the_wait_for_the_next_poll(tmp_path, access):
    import threading
    import time

    pytest.importorskip("watchfiles")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watcher = Watcher(access, folder=inbox, settle=0.2)
    stop = threading.Event()
    assert watcher.poll().reports == []
    waited: list[float] = []

    def wait() -> None:
        started = time.monotonic()
        watcher.wait(300.0, stop)  # the default interval
        waited.append(time.monotonic() - started)

    waiting = threading.Thread(target=wait)
    waiting.start()
    time.sleep(0.5)
    (inbox / "001_monday.txt").write_text("Floods close the valley road.\n")
    waiting.join(30)
    assert waited and waited[0] < 10, waited
    assert [r.batch for r in watcher.poll().reports] == ["001"]
    started = time.monotonic()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    assert watcher.wait(300.0, stop) is True and time.monotonic() - started < 10
    watcher.close()


@pytest.mark.slow
def test_without_notifications_the_wait_is_the_interval(tmp_path, access, monkeypatch):
    import sys
    import threading
    import time

    monkeypatch.setitem(sys.modules, "watchfiles", None)  # not installed
    watcher = Watcher(access, folder=tmp_path, settle=0.0)
    started = time.monotonic()
    assert watcher.wait(0.5, threading.Event()) is False
    assert time.monotonic() - started >= 0.5
    watcher = Watcher(access, folder=tmp_path / "gone", settle=0.0)
    assert watcher.wait(0.3, threading.Event()) is False  # no such folder: the interval


def test_watcher_waits_for_files_to_settle(tmp_path, access):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "001_x.txt").write_text("A line that was just written.\n")
    watcher = Watcher(access, folder=inbox, settle=60.0)
    assert watcher.poll().reports == []
    old = time.time() - 120
    os.utime(inbox / "001_x.txt", (old, old))
    assert [r.batch for r in watcher.poll().reports] == ["001"]


# -- the commands -----------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "storyline.cli", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})


def test_storyline_watch_once(served, tmp_path):
    _, base = served
    db = tmp_path / "cli.db"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "001_x.txt").write_text("A dropped line about the harbour.\n")
    args = ["watch", "--db", str(db), "--model", "none", "--once", "--settle", "0",
            "--folder", str(inbox), "--feed", base + "/atom.xml"]
    run = _cli(*args)
    assert run.returncode == 0, run.stderr
    assert "batch 001: 1 records" in run.stdout and "2 records" in run.stdout
    again = _cli(*args)
    assert again.returncode == 0 and "records →" not in again.stdout
    bad = _cli(*args, "--feed", base + "/gone.xml")
    assert bad.returncode == 1 and "HTTP 404" in bad.stderr
    assert _cli("watch", "--db", str(db)).returncode == 2  # nothing to watch: usage
    # Each said once, before a file is read.
    for wrong in (["--preset", "bogus"], ["--model", "bogus"], ["--encoding", "bogus"]):
        refused = _cli("watch", "--db", str(db), "--folder", str(inbox), "--once", *wrong)
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1


def test_serve_watches_feeds_while_serving(served, tmp_path):
    _, base = served
    db = tmp_path / "served.db"
    app = create_app(WebSettings(db=db, model="none", feeds=[base + "/atom.xml"],
                                 watch_interval=0.2, facts=False))
    with BackgroundServer(app) as server:
        deadline = time.monotonic() + 30
        while not httpx.get(server.url + "/api/batches").json()["batches"]:
            assert time.monotonic() < deadline, "the watcher ingested nothing"
            time.sleep(0.1)
        stories = httpx.get(server.url + "/api/stories").json()
        assert stories["total"] >= 1
        assert httpx.get(server.url + "/").status_code == 200
    assert len(_batches(db)) == 1


@pytest.mark.slow
def test_watch_window_cuts_feed_items_into_batches_by_date(served, access):
    from datetime import timedelta

    root, base = served
    watcher = Watcher(access, feeds=[base + "/rss.xml", base + "/atom.xml"],
                      window=timedelta(days=1))
    result = watcher.poll()
    assert result.errors == [] and sum(r.records for r in result.reports) == 5
    names = [name for name, _ in _batches(access.db)]
    assert names == sorted(names) and all(n.startswith("feed-2025-01-") for n in names)
    assert len(names) >= 2  # the fixtures' items span more than one day
    rss = (root / "rss.xml").read_text(encoding="utf-8")
    item = ("<item><title>Harbour reopens to shipping</title><guid>harbour-daily-1004</guid>"
            "<pubDate>Sat, 18 Jan 2025 12:00:00 GMT</pubDate>"
            "<link>https://harbour-daily.example/reopens</link><description>The harbour "
            "reopened to shipping on Sunday after the fire.</description></item>")
    (root / "rss.xml").write_text(rss.replace("<item>", item + "<item>", 1), encoding="utf-8")
    time.sleep(1.1)
    again = watcher.poll()
    assert [r.batch for r in again.reports] == ["feed-2025-01-18-2"]  # that day was written
    with Store(access.db) as store:
        assert store.check() == []
