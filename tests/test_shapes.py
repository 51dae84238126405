"""One JSON shape per object: what ``storyline ... --json`` prints is what the HTTP API
answers, object for object (storyline/shapes.py), on the bundled seeds.

The store uses ``model="none"`` (words and names only): the shapes, not the clustering,
are under test.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from storyline import Storyline
from storyline.web.access import WebSettings
from storyline.web.app import create_app

from .conftest import SEEDS, run_cli

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

TOKEN = "shapes-token"
BATCH = "\n".join([
    "Fed holds interest rates steady as inflation cools, 2 officials said.",
    "Apple releases iOS 7.1 with CarPlay for 3 car makers.",
    "Fed holds interest rates steady as inflation cools, 2 officials said.",
])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("shapes") / "seeds.db"
    with Storyline(db, model="none") as sl:
        sl.ingest(SEEDS)
    return db


@pytest.fixture(scope="module")
def http(seeded):
    with TestClient(create_app(WebSettings(db=seeded, model="none", token=TOKEN))) as c:
        yield c


def cli(db: Path, *args: str) -> dict:
    return json.loads(run_cli(*args, "--db", str(db), "--json").stdout)


def main_story(db: Path) -> int:
    return cli(db, "stories")["stories"][0]["id"]


def test_story_list(seeded, http):
    printed = cli(seeded, "stories", "--limit", "5", "--offset", "1")
    answered = http.get("/api/stories", params={"limit": 5, "offset": 1}).json()
    assert printed == answered
    assert set(printed) == {"total", "limit", "offset", "stories"} and printed["limit"] == 5


def test_story(seeded, http):
    story_id = main_story(seeded)
    printed = cli(seeded, "show", str(story_id))
    assert printed == http.get(f"/api/stories/{story_id}", params={"facts": False}).json()
    # A snippet's id and a copy's id are different keys: they number different things.
    for s in printed["snippets"]:
        assert "id" not in s and isinstance(s["snippet_id"], int)
        for c in s["copies"]:
            assert "id" not in c and isinstance(c["copy_id"], int)
    assert printed["snippets_total"] == len(printed["snippets"]) == printed["size"]
    assert (printed["snippets_limit"], printed["snippets_offset"]) == (100, 0)


def test_story_snippets_are_paged(seeded, http):
    story_id = main_story(seeded)
    printed = cli(seeded, "show", str(story_id), "--limit", "3", "--offset", "2")
    answered = http.get(f"/api/stories/{story_id}",
                        params={"facts": False, "limit": 3, "offset": 2}).json()
    assert printed == answered
    whole = cli(seeded, "show", str(story_id))
    assert printed["snippets"] == whole["snippets"][2:5]
    assert (printed["snippets_total"], printed["snippets_limit"],
            printed["snippets_offset"]) == (whole["snippets_total"], 3, 2)


def test_changes(seeded, http):
    printed = cli(seeded, "changes", "002", "--limit", "3")
    assert printed == http.get("/api/batches/002", params={"limit": 3}).json()
    assert printed["total"] > 3 == len(printed["changes"])
    assert printed["batch"]["name"] == "002" and printed["previous"] == "000"
    assert cli(seeded, "changes", "--batch", "002", "--limit", "3") == printed


def test_search(seeded, http):
    printed = cli(seeded, "search", "prisoner swap", "--limit", "5")
    assert printed == http.get("/api/search", params={"q": "prisoner swap", "limit": 5}).json()
    assert printed["hits"] and set(printed) == {"query", "limit", "offset", "hits"}
    later = cli(seeded, "search", "prisoner swap", "--limit", "5", "--offset", "1")
    assert later == http.get("/api/search", params={"q": "prisoner swap", "limit": 5,
                                                    "offset": 1}).json()
    assert later["offset"] == 1 and later["hits"] == printed["hits"][1:]


def test_batches(seeded, http):
    printed = cli(seeded, "batches")
    assert printed == http.get("/api/batches").json()
    assert [set(b) for b in printed["batches"]] == [
        {"name", "seq", "records", "clock", "ingested_at", "continues"}] * 2


@pytest.mark.slow
def test_a_batch_that_continues_another_says_so_in_both(tmp_path):
    """A file's new lines (``log.2``) name the batch they continue in ``batches --json``,
    GET /api/batches, a batch's changes and its page (they looked like any batch)."""
    log = tmp_path / "log.txt"
    log.write_text("Storm closes the coast road\n")
    db = tmp_path / "s.db"
    with Storyline(db, model="none") as sl:
        sl.ingest(log)
        with log.open("a") as fh:
            fh.write("Storm reaches the harbour town\n")
        sl.ingest(log)
    printed = cli(db, "batches")
    with TestClient(create_app(WebSettings(db=db, model="none"))) as http:
        assert printed == http.get("/api/batches").json()
        assert [(b["name"], b["continues"]) for b in printed["batches"]] == [
            ("log", None), ("log.2", "log")]
        changes = cli(db, "changes", "log.2")
        assert changes == http.get("/api/batches/log.2").json()
        assert changes["batch"]["continues"] == "log"
        page = http.get("/batches/log.2").text
        assert 'continues batch <a href="/batches/log">log</a>' in page
    table = run_cli("batches", "--db", str(db)).stdout
    assert "(continues log)" in table


def test_facts_and_their_numbers(seeded, http):
    story_id = main_story(seeded)
    printed = cli(seeded, "facts", str(story_id))
    answered = http.get(f"/api/stories/{story_id}").json()["facts"]
    assert printed == {"story_id": story_id, "facts": answered}
    values = [f["value"] for f in answered]
    assert values and all(isinstance(v, int) for v in values if float(v).is_integer())


def test_ingest_report(seeded, tmp_path):
    by_cli, by_http = tmp_path / "cli.db", tmp_path / "http.db"
    shutil.copy(seeded, by_cli)
    shutil.copy(seeded, by_http)
    batch_file = tmp_path / "003.txt"
    batch_file.write_text(BATCH + "\n", encoding="utf-8")
    printed = cli(by_cli, "ingest", str(batch_file))
    with TestClient(create_app(WebSettings(db=by_http, model="none", token=TOKEN))) as c:
        answered = c.post("/api/batches", params={"batch": "003"}, content=BATCH,
                          headers={"Authorization": f"Bearer {TOKEN}",
                                   "Content-Type": "text/plain"}).json()
    assert printed == answered
    (report,) = printed["batches"]
    assert report["batch"] == "003" and report["records"] == 3
    assert report["exact_duplicates"] == 1


@pytest.mark.parametrize("path", [
    "/api/stories?limit=0", "/api/stories?status=sleeping", "/api/stories/0",
    "/api/search", "/api/batches/002?offset=-1", "/api/stories/1?limit=0",
    "/api/search?q=x&offset=-1",
])
def test_errors_are_one_string(http, path):
    answer = http.get(path)
    assert answer.status_code == 422
    assert list(answer.json()) == ["detail"] and isinstance(answer.json()["detail"], str)


def test_check(seeded):
    body = cli(seeded, "check")
    assert body["consistent"] and body["counts"]["copies"] == 24


# A client mistake, asked of both. The CLI prints no JSON for it (intended: `error:
# MESSAGE` on standard error, docs/cli.md); what the two share is the message of a
# StorylineError (an unknown story or batch: HTTP's `detail` is the CLI's line) and the
# exit code, which the HTTP answer says in X-Storyline-Exit-Code.
MISTAKES = [  # (command, path, the same message in both)
    (["show", "999999"], "/api/stories/999999?facts=false", True),
    (["facts", "999999"], "/api/stories/999999", True),
    (["changes", "nope"], "/api/batches/nope", True),
    (["stories", "--batch", "nope"], "/api/stories?batch=nope", True),
    (["stories", "--status", "sleeping"], "/api/stories?status=sleeping", False),
    (["stories", "--limit", "0"], "/api/stories?limit=0", False),
    (["stories", "--min-size", "0"], "/api/stories?min_size=0", False),
    (["show", "0"], "/api/stories/0", False),
    (["show", "1", "--limit", "0"], "/api/stories/1?limit=0", False),
    (["changes", "002", "--offset", "-1"], "/api/batches/002?offset=-1", False),
    (["search", ""], "/api/search?q=", False),
    (["search", "x", "--offset", "-1"], "/api/search?q=x&offset=-1", False),
]


@pytest.mark.parametrize(("args", "path", "same_message"), MISTAKES)
def test_a_client_mistake_exits_as_the_api_says(seeded, http, args, path, same_message):
    printed = run_cli(*args, "--db", str(seeded), "--json", check=False)
    answered = http.get(path)
    assert printed.returncode != 0 and printed.stdout == ""
    assert answered.status_code in (404, 422) and list(answered.json()) == ["detail"]
    assert answered.headers["X-Storyline-Exit-Code"] == str(printed.returncode), printed.stderr
    if same_message:
        assert printed.stderr.strip() == f"error: {answered.json()['detail']}"


@pytest.mark.parametrize(("args", "params"), [
    (["--batch", ""], {"batch": ""}),
    (["--text", ""], {"text": ""}),
])
def test_an_empty_filter_is_no_filter_in_both(seeded, http, args, params):
    printed = cli(seeded, "stories", *args)
    assert printed == http.get("/api/stories", params=params).json() == cli(seeded, "stories")


def test_the_default_pages_are_the_same(seeded, http):
    """No --limit, no limit=: the same page (the HTTP API's caps are its own: a request
    takes at most 500 stories, 1,000 snippets, 100 hits; the CLI up to shapes.MAX_COUNT)."""
    story_id = main_story(seeded)
    assert cli(seeded, "stories") == http.get("/api/stories").json()
    assert cli(seeded, "changes", "002") == http.get("/api/batches/002").json()
    assert cli(seeded, "show", str(story_id)) == http.get(
        f"/api/stories/{story_id}", params={"facts": False}).json()
    assert cli(seeded, "search", "soldiers") == http.get(
        "/api/search", params={"q": "soldiers"}).json()


def test_facts_of_an_id_merged_away_name_the_story_it_lives_on_in(tmp_path):
    """`facts OLD --json` says the story the facts are of, as GET /api/stories/OLD does."""
    from storyline.pipeline.cluster import ClusterWeights

    db = tmp_path / "merged.db"
    weights = ClusterWeights(dense=0.0, terms=1.0, names=0.0, threshold=0.2)
    with Storyline(db, weights=weights, model="none") as sl:
        sl.ingest_records([{"text": "Harbour crane collapse injures 3 workers"},
                           {"text": "Rotterdam dockers strike over safety rules"}], batch="1")
        sl.ingest_records([
            {"text": "Rotterdam dockers strike after harbour crane collapse injures workers"},
            {"text": "Crane collapse at Rotterdam port: dockers strike over safety rules"},
            {"text": "Harbour crane collapse: Rotterdam port dockers strike over safety"},
        ], batch="2")
        ((merged_away, survivor, _, _),) = sl.store.merges()
    printed = cli(db, "facts", str(merged_away))
    with TestClient(create_app(WebSettings(db=db, model="none"))) as c:
        answered = c.get(f"/api/stories/{merged_away}").json()
    assert answered["id"] == survivor != merged_away
    assert printed == {"story_id": survivor, "facts": answered["facts"]}
