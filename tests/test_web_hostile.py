"""A hostile client against the server and the Python API (a second pass): what it sent
wrong is a 4xx in the one error shape, never a 500 or a hang, and the store keeps nothing
of a refused request."""

from __future__ import annotations

import json
import warnings

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from storyline import Storyline
from storyline.dates import iso_date, kept_date
from storyline.web.access import WebSettings
from storyline.web.app import create_app

from .web_client import AUTH, TOKEN, client

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

JSONL = {**AUTH, "Content-Type": "application/x-ndjson"}


def _batches(c: TestClient) -> list[str]:
    return [b["name"] for b in c.get("/api/batches").json()["batches"]]


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_date_past_the_calendar_in_utc_is_no_date_not_a_server_error(seeds_db, when):
    line = json.dumps({"text": "The volcano erupted again overnight", "published_at": when})
    with client(seeds_db) as c:
        got = c.post("/api/batches?batch=edge", content=line.encode(), headers=JSONL)
        assert got.status_code == 200, got.text
        (story,) = c.get("/api/stories?text=volcano").json()["stories"]
        (snippet,) = c.get(f"/api/stories/{story['id']}").json()["snippets"]
    assert snippet["published_at"] is None  # kept as no date, as "yesterday" is
    assert iso_date(when) is None and kept_date(when) is None


def _asgi(app, method: str, path: str, headers: dict[str, str],
          parts: list[dict]) -> list[dict]:
    """What ``app`` sends for a request whose body arrives as ``parts`` (ASGI receive
    messages: a client that hangs up mid-body is an ``http.disconnect``)."""
    import asyncio

    path, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": query.encode(), "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80),
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    queue, sent = list(parts), []

    async def receive() -> dict:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_client_that_hangs_up_mid_body_is_no_server_error(seeds_db, caplog):
    app = create_app(WebSettings(db=seeds_db, model="none", token=TOKEN))
    try:
        sent = _asgi(app, "POST", "/api/batches?batch=cut", {
            **AUTH, "Content-Type": "text/plain", "Content-Length": "1000"},
            [{"type": "http.request", "body": b"The dam burst after", "more_body": True},
             {"type": "http.disconnect"}])
    finally:
        app.state.access.close()
    (start,) = [m for m in sent if m["type"] == "http.response.start"]
    assert start["status"] == 400
    assert "Traceback" not in caplog.text and "ClientDisconnect" not in caplog.text
    with Storyline(seeds_db, model="none") as sl:
        assert "cut" not in [b.name for b in sl.store.batches()]


def test_the_static_folder_itself_is_not_found_not_a_redirect_loop(seeds_db):
    with client(seeds_db) as c:
        for path in ("/static", "/static/"):
            got = c.get(path, headers={"Host": "evil.example"})  # redirects followed
            assert got.status_code == 404, (path, got.headers.get("location"))
            assert got.url.host != "evil.example"
        assert c.get("/static/style.css").status_code == 200


def test_a_store_deleted_while_serving_is_not_made_again_empty(seeds_db, tmp_path):
    moved = tmp_path / "moved"
    moved.mkdir()
    with client(seeds_db) as c:
        assert c.get("/api/stories").status_code == 200
        for path in seeds_db.parent.glob(seeds_db.name + "*"):
            path.rename(moved / path.name)
        got = c.post("/api/batches?batch=lost", content=b"The dam burst after the rain.",
                     headers={**AUTH, "Content-Type": "text/plain"})
        assert got.status_code == 500 and "gone" in got.json()["detail"], got.text
        assert got.headers["X-Storyline-Exit-Code"] == "3"
    assert not seeds_db.exists()  # no new, empty store where the old one was
    with Storyline(moved / seeds_db.name, model="none") as sl:
        assert "lost" not in [b.name for b in sl.store.batches()]


def test_a_parameter_of_the_wrong_shape_is_named_in_words_not_as_a_pattern(seeds_db):
    with client(seeds_db) as c:
        since = c.get("/api/search?q=korea&since=last%20week").json()["detail"]
        batch = c.post("/api/batches?batch=../x", content=b"The dam burst.",
                       headers={**AUTH, "Content-Type": "text/plain"}).json()["detail"]
    assert since.startswith("query since: ") and "2025-03-14T09:30Z" in since, since
    assert batch.startswith("query batch: ") and "letters, digits" in batch, batch
    assert "^" not in since + batch  # no regular expression for a person to decipher


@pytest.mark.parametrize("header", ["Basic !!!notbase64", "Basic bm9jb2xvbg=="])
def test_a_malformed_login_on_a_private_server_gets_the_servers_own_401(seeds_db, header):
    with client(seeds_db, private=True) as c:
        got = c.get("/api/stories", headers={"Authorization": header})
        page = c.get("/", headers={"Authorization": header})
    assert got.status_code == 401 and "private" in got.json()["detail"], got.text
    assert got.headers["WWW-Authenticate"] == 'Bearer realm="storyline"'
    assert page.status_code == 401 and "private" in page.text
