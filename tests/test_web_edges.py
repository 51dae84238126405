"""The web layer and the readers at their edges (found by a hostile pass): every error
answer in one shape with its exit code, bodies the server would misread refused, fields
that could turn a page's text around cleaned, pages past the end, bounded story pages."""

from __future__ import annotations

import warnings

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from storyline import Storyline
from storyline.errors import InputError
from storyline.store import Store
from storyline.types import Record
from storyline.web.app import SECURITY_HEADERS

from .conftest import SEEDS, run_cli, run_process
from .web_client import AUTH, client

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

EXIT = "X-Storyline-Exit-Code"
BIG_NUMBER_LINE = '{"text": "A big number about the harbour", "id": ' + "1" * 5000 + "}\n"


def test_a_number_python_cannot_read_is_a_bad_line_not_a_server_error(seeds_db, tmp_path):
    with client(seeds_db) as c:
        got = c.post("/api/batches?batch=big", content=BIG_NUMBER_LINE.encode(),
                     headers={**AUTH, "Content-Type": "application/x-ndjson"})
    assert got.status_code == 400 and got.headers[EXIT] == "1", got.text
    assert got.json()["detail"].startswith("line 1: bad JSON")
    path = tmp_path / "big.jsonl"
    path.write_text('{"text": "A fine line about the harbour"}\n' + BIG_NUMBER_LINE)
    proc = run_cli("ingest", "--db", str(tmp_path / "s.db"), "--model", "none", str(path),
                   check=False)
    assert proc.returncode == 1 and f"{path}:2: bad JSON" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli("ingest", "--db", str(tmp_path / "s.db"), "--model", "none", "--skip-bad",
                   str(path), check=False)
    assert proc.returncode == 0, proc.stderr


def test_every_error_answer_says_its_exit_code(seeds_db, monkeypatch):
    with client(seeds_db) as c:
        assert c.post("/api/batches?batch=x", content=b"hi",
                      headers={"Content-Type": "text/plain"}).headers[EXIT] == "2"  # 401
        assert c.get("/api/stories?limit=0").headers[EXIT] == "2"  # 422: `--limit 0`
        assert c.put("/api/stories").headers[EXIT] == "2"  # 405
        assert c.get("/no/such/page").headers[EXIT] == "1"  # 404
    with client(seeds_db, token=None) as c:
        assert c.post("/api/batches?batch=x", content=b"hi",
                      headers={"Content-Type": "text/plain"}).headers[EXIT] == "2"  # 403


def test_an_unexpected_failure_is_500_in_the_shape_of_every_error(seeds_db, monkeypatch):
    from storyline.web import api

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(api, "stories_page", broken)
    with client(seeds_db) as c:
        got = c.get("/api/stories")
    assert got.status_code == 500 and got.headers[EXIT] == "3"
    assert "unexpected KeyError" in got.json()["detail"]
    for name, value in SECURITY_HEADERS.items():
        assert got.headers[name] == value


@pytest.mark.parametrize("headers,says", [
    ({"Content-Type": "text/plain", "Content-Encoding": "gzip"}, "Content-Encoding 'gzip'"),
    ({"Content-Type": "text/plain; charset=iso-8859-1"}, "charset 'iso-8859-1'"),
])
def test_a_body_the_server_would_misread_is_415(seeds_db, headers, says):
    with client(seeds_db) as c:
        got = c.post("/api/batches?batch=enc", content=b"H4sIAAAAAAAAA0uv", headers={
            **AUTH, **headers})
        assert got.status_code == 415 and says in got.json()["detail"], got.text
        assert "enc" not in [b["name"] for b in c.get("/api/batches").json()["batches"]]
    with client(seeds_db) as c:  # UTF-8 named as such is fine
        assert c.post("/api/batches?batch=utf", content="Zürich’s lake froze over.".encode(),
                      headers={**AUTH, "Content-Type": "text/plain; charset=UTF-8"}
                      ).status_code == 200


def test_static_files_allow_only_get(seeds_db):
    with client(seeds_db) as c:
        got = c.put("/static/style.css")
    assert got.status_code == 405 and got.headers["Allow"] == "GET, HEAD"


@pytest.mark.slow
def test_a_token_a_header_cannot_carry_is_refused_at_both_ends(tmp_path):
    proc = run_process("serve", "--db", str(tmp_path / "s.db"), "--port", "0",
                       env={"STORYLINE_TOKEN": "sékret"}, check=False, timeout=60)
    assert proc.returncode == 2 and "printable ASCII" in proc.stderr
    proc = run_cli("ingest", "--server", "http://127.0.0.1:9", str(SEEDS),
                   env={"STORYLINE_TOKEN": "пароль"}, check=False)
    assert proc.returncode == 2 and "printable ASCII" in proc.stderr
    assert not (tmp_path / "s.db").exists()


def test_outlets_links_and_batches_are_cleaned_of_what_turns_text_around(tmp_path):
    with Storyline(tmp_path / "s.db", model="none") as sl:
        sl.ingest_records([{"text": "An attack killed 300 soldiers near the border.",
                            "source": "Outlet\u202eRTL", "url": "\x01https://news.example/a",
                            "title": "Attack\u2066 near\u200c the border", "batch": "b\n1"}])
        (copy,) = sl.store.copies_of([1])[1]
    assert (copy.source, copy.url, copy.title) == ("OutletRTL", "https://news.example/a",
                                                   "Attack near\u200c the border")
    assert [b.name for b in Store(tmp_path / "s.db").batches()] == ["b 1"]


@pytest.mark.parametrize("batch", [".", "..", "x" * 201])
def test_a_batch_name_no_address_can_name_is_refused(tmp_path, batch):
    with Storyline(tmp_path / "s.db", model="none") as sl:
        with pytest.raises(InputError, match="bad batch name"):
            sl.ingest_records([Record("A quake hit the coast of Chile today.", batch)])


def test_wordless_snippets_are_no_copies_of_each_other(tmp_path):
    with Storyline(tmp_path / "s.db", model="none") as sl:
        (report,) = sl.ingest_records([Record(t, "1") for t in ("💩💩💩", "🔥🔥 🔥", "!!! ???")])
    assert report.new_snippets == 3 and report.exact_duplicates == 0


def test_pages_past_the_end_say_so_and_story_pages_stay_bounded(seeds_db, monkeypatch):
    from storyline.web import pages

    monkeypatch.setattr(pages, "FRESH_SHOWN", 1)  # the first story has 2 new in 002
    with client(seeds_db) as c:
        story = c.get("/api/stories").json()["stories"][0]
        page = c.get(f"/stories/{story['id']}").text
        fresh = page.split('<section class="fresh">')[1].split("</section>")[0]
        assert fresh.count("<li class=\"snippet") == 1 and "1 more new snippet" in fresh
        for path in ("/?offset=500", "/batches?offset=50", "/batches/000?offset=500",
                     f"/stories/{story['id']}?offset=500"):
            got = c.get(path)
            assert got.status_code == 404 and "in all" in got.text, path
        assert c.get("/api/stories?batch=").json()["total"] == story_total(c)


def story_total(c: TestClient) -> int:
    return c.get("/api/stories").json()["total"]


def test_a_link_shows_its_host_not_what_stands_before_an_at(tmp_path):
    with Storyline(tmp_path / "s.db", model="none") as sl:
        sl.ingest_records([{"text": "The harbour reopened after the storm passed.",
                            "url": "https://www.bbc.co.uk@evil.example/x", "batch": "1"}])
    with client(tmp_path / "s.db") as c:
        page = c.get("/stories/1").text
    assert 'noreferrer">evil.example</a>' in page
    assert 'noreferrer">www.bbc.co.uk' not in page


def test_a_trailing_slash_redirects_to_the_path_without_it_not_to_another_host(seeds_db):
    with client(seeds_db) as c:
        for path, target in (("/batches/", "/batches"), ("/stories/1/", "/stories/1"),
                             ("/api/stories/?limit=2", "/api/stories?limit=2")):
            got = c.get(path, follow_redirects=False, headers={"Host": "evil.example"})
            assert got.status_code == 308 and got.headers["location"] == target, path
            assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert c.get("/batches/").status_code == 200
