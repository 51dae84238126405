"""The PostgreSQL store: the same answers as SQLite on the seeds, storyline copy both
ways, the CLI on a URL, and many writers and readers at once. Needs a server:
STORYLINE_TEST_PG (``.ci/postgres.sh start DIR`` prints one); skipped without."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from storyline.api import Storyline
from storyline.store import open_store
from storyline.store.base import COPIED_TABLES
from tests import test_engine, test_scale
from tests.conftest import SEEDS, SHARED, needs_postgres, run_cli, run_process

WORDS_ONLY = {"model": "none", "extract_facts": False}


def test_migrations_are_numbered_alike():
    from storyline.store import postgres_schema, schema

    assert len(postgres_schema.MIGRATIONS) == len(schema.MIGRATIONS)


def _answers(db) -> dict:
    """What a reader sees: stories, their members, search hits, batches, merges."""
    with Storyline(db, **WORDS_ONLY) as sl:
        stories = [(s.id, s.size, s.copies, s.headline, s.status) for s in sl.stories()]
        members = {s[0]: [m.id for m in sl.store.story_snippets(s[0])] for s in stories}
        # The stories found (bm25 and ts_rank_cd order them differently).
        hits = sorted({h.story_id for h in sl.search("North Korean soldiers Russia")})
        return {"stories": stories, "members": members, "hits": hits,
                "batches": [(b.name, b.seq, b.digest, b.records) for b in sl.store.batches()],
                "merges": sl.store.merges(), "counts": sl.store.counts(),
                "problems": sl.store.check()}


def _dump(db) -> dict:
    with open_store(db) as store:
        return {t: list(store.table_rows(t, c)) for t, c in COPIED_TABLES.items()}


@needs_postgres
def test_seeds_give_the_same_stories_on_both_backends(tmp_path, pg_db):
    for db in (tmp_path / "seeds.db", pg_db):
        with Storyline(db, **WORDS_ONLY) as sl:
            sl.ingest(SEEDS)
            sl.ingest(SEEDS)  # again: a no-op on both
    on_sqlite, on_postgres = _answers(tmp_path / "seeds.db"), _answers(pg_db)
    assert on_postgres["problems"] == [] and on_postgres["counts"]["batches"] == 2
    assert on_postgres["hits"]
    assert on_postgres == on_sqlite


def _outlets(db) -> tuple:
    """Sources and arrivals per live story, by outlet (storyline.outlets)."""
    with open_store(db) as store:
        ids = sorted(s.id for s in store.live_stories())
        return store.story_source_counts(ids), store.story_arrivals(ids)


@needs_postgres
def test_chunked_ingest_outlets_and_data_version_as_on_sqlite(tmp_path, pg_db, monkeypatch):
    monkeypatch.setenv("STORYLINE_COMMIT_RECORDS", "7")  # every seed batch in chunks
    outlets = tmp_path / "outlets.jsonl"  # a source, a url alone, a blank source and a url
    with outlets.open("w", encoding="utf-8") as fh:
        for n, (source, url) in enumerate([("Reuters", "https://example.org/a"),
                                           (None, "https://www.reuters.com/world/b"),
                                           ("  ", "https://apnews.com/c"), (None, None),
                                           ("24\\/7 Wall St.", None)] * 3):
            fh.write(json.dumps({"id": f"o{n}", "batch": "outlets", "source": source,
                                 "url": url, "text": "Storm closes the port of Rotterdam "
                                 f"for a day, shipping delayed (report {n % 5})"}) + "\n")
    for db in (tmp_path / "seeds.db", pg_db):
        with Storyline(db, **WORDS_ONLY) as sl:
            sl.ingest(SEEDS)
            sl.ingest(outlets)
    assert _answers(pg_db) == _answers(tmp_path / "seeds.db")
    on_postgres = _outlets(pg_db)
    assert any(on_postgres[0].values()) and on_postgres == _outlets(tmp_path / "seeds.db")
    with open_store(pg_db) as reader, open_store(pg_db) as writer:
        assert reader.notes() == [] and all(b.complete for b in reader.batches())
        seen, own = reader.data_version(), writer.data_version()
        with writer.transaction():
            writer.add_batch("half", writer.next_batch_seq(), "d", 3, "2026-01-01T00:00:00",
                             None, complete=False)
        assert writer.data_version() == own  # its own commit is not another's
        with reader.transaction():  # a write of its own does not hide another's
            reader.set_state("x", "1")
        assert reader.data_version() != seen
        assert reader.batch("half").complete is False
        assert reader.notes() == ["batch 'half' is partly stored (3 records so far): run "
                                  "the same ingest again to finish it"]


@needs_postgres
def test_copy_both_ways_keeps_everything(tmp_path, pg_db):
    source = tmp_path / "a.db"
    with Storyline(source, **WORDS_ONLY) as sl:
        sl.ingest(SEEDS / sorted(os.listdir(SEEDS))[0])
    run_cli("copy", "--from", str(source), "--to", pg_db)
    run_cli("copy", "--from", pg_db, "--to", str(tmp_path / "back.db"))
    run_cli("copy", "--from", str(source), "--to", str(tmp_path / "file.db"))
    original = _dump(source)
    assert original["snippets"] and original["state"]
    for db in (pg_db, tmp_path / "back.db", tmp_path / "file.db"):
        assert _dump(db) == original, db
        assert "consistent" in run_cli("check", "--db", str(db)).stdout
    # A copy takes the next batch where the original left off.
    for db in (source, pg_db):
        with Storyline(db, **WORDS_ONLY) as sl:
            sl.ingest(SEEDS)
    assert _answers(pg_db) == _answers(source)
    refused = run_cli("copy", "--from", str(source), "--to", pg_db, check=False)
    assert refused.returncode != 0 and "already holds a store" in refused.stderr


@needs_postgres
def test_a_batch_rolled_back_leaves_no_gap_in_the_ids(pg_stores, monkeypatch):
    from storyline.store.postgres import PostgresStore

    clean, failed = pg_stores(), pg_stores()
    with Storyline(clean, **WORDS_ONLY) as sl:
        sl.ingest(SEEDS)
    describe = PostgresStore.describe_stories

    def fail_once(self, rows):  # after the batch drew its story and copy ids
        monkeypatch.setattr(PostgresStore, "describe_stories", describe)
        raise RuntimeError("killed")

    with Storyline(failed, **WORDS_ONLY) as sl:
        sl.ingest(SEEDS / sorted(os.listdir(SEEDS))[0])
        monkeypatch.setattr(PostgresStore, "describe_stories", fail_once)
        with pytest.raises(RuntimeError, match="killed"):
            sl.ingest(SEEDS / sorted(os.listdir(SEEDS))[1])
    with Storyline(failed, **WORDS_ONLY) as sl:  # the rerun, in a new process's place
        sl.ingest(SEEDS)
    after_rerun, after_clean = _dump(failed), _dump(clean)
    for dump in (after_rerun, after_clean):  # when each batch was ingested differs
        dump["batches"] = [row[:4] + row[5:] for row in dump["batches"]]
    assert after_rerun == after_clean


@pytest.mark.slow
@needs_postgres
def test_a_writer_waits_for_another_up_to_the_busy_timeout(pg_db, monkeypatch):
    import psycopg

    from storyline.store.postgres import WRITER_LOCK

    with Storyline(pg_db, **WORDS_ONLY) as sl:
        sl.ingest(SEEDS / sorted(os.listdir(SEEDS))[0])
    second = str(SEEDS / sorted(os.listdir(SEEDS))[1])
    with psycopg.connect(pg_db) as holder:  # another writer, mid-batch
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
        for timeout in ("0", "0.5"):
            started = time.monotonic()
            busy = run_cli("ingest", "--db", pg_db, "--model", "none", second,
                           env={"STORYLINE_BUSY_TIMEOUT": timeout}, check=False)
            assert busy.returncode == 5, busy.stderr
            assert "the store is busy" in busy.stderr and len(busy.stderr.splitlines()) == 1
            assert time.monotonic() - started >= float(timeout)
        holder.rollback()
    done = run_cli("ingest", "--db", pg_db, "--model", "none", second,
                   env={"STORYLINE_BUSY_TIMEOUT": "0"})
    assert done.returncode == 0 and "batch 002" in done.stdout


@pytest.mark.slow
@needs_postgres
def test_two_copies_into_one_empty_store_one_wins(tmp_path, pg_db):
    import psycopg

    from storyline.copy import copy_store
    from storyline.errors import UsageError
    from storyline.store.postgres import WRITER_LOCK

    source = tmp_path / "a.db"
    with Storyline(source, **WORDS_ONLY) as sl:
        sl.ingest(SEEDS)
    open_store(pg_db).close()  # an empty store, its tables made
    outcomes: list[object] = []

    def copy() -> None:
        try:
            outcomes.append(copy_store(source, pg_db))
        except UsageError as exc:
            outcomes.append(exc)

    with psycopg.connect(pg_db) as holder:  # both copies wait for the writer lock
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
        copies = [threading.Thread(target=copy) for _ in range(2)]
        for thread in copies:
            thread.start()
        time.sleep(1.0)
        holder.rollback()
    for thread in copies:
        thread.join(60)
    refused = [o for o in outcomes if isinstance(o, UsageError)]
    assert len(outcomes) == 2 and len(refused) == 1, outcomes
    assert "already holds a store" in str(refused[0])
    assert _dump(pg_db) == _dump(source)


def _drop_connections(db: str) -> int:
    """Every other connection to the test database ended by the server (as a restart or
    a failover ends them); how many there were."""
    import psycopg

    with psycopg.connect(db, autocommit=True) as admin:
        return len(admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall())


@needs_postgres
def test_the_server_goes_on_after_its_database_server_restarts(pg_db, monkeypatch):
    from fastapi.testclient import TestClient

    from storyline.web import access
    from storyline.web.access import WebSettings
    from storyline.web.app import create_app

    with Storyline(pg_db, **WORDS_ONLY) as sl:
        sl.ingest(SEEDS / sorted(os.listdir(SEEDS))[0])
    token = {"Authorization": "Bearer t0ken-0123"}
    body = {"headers": {**token, "Content-Type": "application/x-ndjson"}}
    app = create_app(WebSettings(db=pg_db, model="none", token="t0ken-0123"))
    with TestClient(app) as client:
        assert client.get("/api/stories").status_code == 200
        monkeypatch.setattr(access, "IDLE_CHECK_SECONDS", 3600.0)  # no check: the request
        assert _drop_connections(pg_db) >= 1                      # meets the dead one
        lost = client.get("/api/stories")
        assert lost.status_code == 503 and lost.headers["Retry-After"]
        assert "lost the connection to the database server" in lost.json()["detail"]
        assert client.get("/api/stories").status_code == 200  # new connections
        monkeypatch.setattr(access, "IDLE_CHECK_SECONDS", 0.0)  # checked: no request fails
        _drop_connections(pg_db)
        for path in ("/api/stories", "/api/search?q=soldiers", "/stories/1", "/"):
            assert client.get(path).status_code == 200, path
        posted = client.post("/api/batches?batch=late", content='{"text": "Storm hits '
                             'the Florida coast."}\n', **body)
        assert posted.status_code == 200, posted.text
        _drop_connections(pg_db)  # the writer's too
        posted = client.post("/api/batches?batch=later", content='{"text": "The storm '
                             'weakens over Georgia."}\n', **body)
        assert posted.status_code == 200, posted.text
    with open_store(pg_db) as store:
        assert [b.name for b in store.batches()][-2:] == ["late", "later"]
        assert store.check() == []


@needs_postgres
def test_a_role_with_table_rights_writes_and_one_with_select_reads(pg_db):
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    with Storyline(pg_db, **WORDS_ONLY) as sl:  # made by the owner
        sl.ingest(SEEDS / sorted(os.listdir(SEEDS))[0])
    schema = pg_db.rsplit("search_path%3D", 1)[1]
    writer, reader = (f"sl_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("w", "r"))
    with psycopg.connect(pg_db, autocommit=True) as admin:
        for role, rights in ((writer, "SELECT, INSERT, UPDATE, DELETE"), (reader, "SELECT")):
            admin.execute(f"CREATE ROLE {role} LOGIN")
            admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
            admin.execute(f"GRANT {rights} ON ALL TABLES IN SCHEMA {schema} TO {role}")
        admin.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {writer}")

    def as_role(role: str) -> str:
        parts = urlsplit(pg_db)
        return urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))

    try:
        second = str(SEEDS / sorted(os.listdir(SEEDS))[1])
        refused = run_cli("ingest", "--db", as_role(reader), "--model", "none", second,
                          check=False)
        assert refused.returncode == 3 and "permission denied" in refused.stderr
        assert "stories" in run_cli("stories", "--db", as_role(reader), "--json").stdout
        done = run_cli("ingest", "--db", as_role(writer), "--model", "none", second)
        assert "batch 002" in done.stdout
        assert run_cli("check", "--db", pg_db).stdout.strip().endswith("consistent")
    finally:
        with psycopg.connect(pg_db, autocommit=True) as admin:
            for role in (writer, reader):
                admin.execute(f"DROP OWNED BY {role}")
                admin.execute(f"DROP ROLE {role}")


@needs_postgres
def test_the_cli_takes_a_url_and_hides_its_password(pg_db):
    for read in (["stories"], ["search", "quake"], ["check"]):
        empty = run_cli(*read, "--db", pg_db, check=False)
        assert empty.returncode == 1 and "no store at" in empty.stderr
    import psycopg

    with psycopg.connect(pg_db) as db:  # a read made no tables (a read-only role could not)
        assert db.execute("SELECT to_regclass('schema_version') IS NULL").fetchone()[0]
    with Storyline(pg_db, **WORDS_ONLY) as sl:  # `storyline ingest` on a URL: the slow test
        sl.ingest(SEEDS)
    assert "consistent" in run_cli("check", "--db", pg_db).stdout
    listed = json.loads(run_cli("stories", "--db", pg_db, "--json").stdout)
    assert listed
    from_env = json.loads(run_cli("stories", "--json", env={"STORYLINE_DB": pg_db}).stdout)
    assert from_env == listed
    for bad in ("postgresql://storyline:secret@127.0.0.1:1/nowhere",
                "postgresql://storyline@127.0.0.1:1/nowhere?password=secret"):
        failed = run_cli("stories", "--db", bad, check=False)
        assert failed.returncode == 3 and "cannot connect" in failed.stderr
        assert "Connection refused" in failed.stderr  # libpq's reason, not only its hint
        assert "secret" not in failed.stderr and "Traceback" not in failed.stderr


@needs_postgres
def test_a_batch_waits_for_the_server_as_often_however_many_stories_it_touches(
        pg_db, monkeypatch):
    """Per-story statements were a round trip each to a remote server: a batch that
    touches four times the stories must not wait for more answers."""
    import psycopg

    waits: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(self, query, *args, **kwargs):
        if self.connection._pipeline is None:  # pipelined statements share one wait
            waits.append(str(query))
        return execute(self, query, *args, **kwargs)

    texts = [f"Story{n} tells of kestrel{n} and quarry{n} near harbour{n}" for n in range(40)]
    counts = []
    with Storyline(pg_db, **WORDS_ONLY) as sl:
        sl.ingest_records([{"text": "Opening words of the stream"}], batch="0")
        monkeypatch.setattr(psycopg.Cursor, "execute", counted)
        for name, part in (("few", texts[:8]), ("many", texts[8:40])):
            waits.clear()
            report = sl.ingest_records([{"text": t} for t in part], batch=name)[0]
            counts.append((report.new_stories, len(waits)))
    (few_stories, few_waits), (many_stories, many_waits) = counts
    assert many_stories >= 4 * few_stories > 0
    assert many_waits <= few_waits + 2, (few_waits, many_waits)


def _store_only_tests(module) -> list[str]:
    """The tests of a module that take nothing but a store (the ``db`` fixture) and do
    not take it for a file."""
    import inspect

    return [name for name, test in vars(module).items() if name.startswith("test_")
            and list(inspect.signature(test).parameters) == ["db"]
            and "Path(db)" not in inspect.getsource(test)]


ENGINE_TESTS = [(module, name) for module in (test_engine, test_scale)
                for name in _store_only_tests(module)]


@needs_postgres
@pytest.mark.parametrize(("module", "name"), ENGINE_TESTS,
                         ids=[f"{m.__name__.split('.')[-1]}::{n}" for m, n in ENGINE_TESTS])
def test_the_engine_tests_pass_on_postgres(module, name, pg_db):
    getattr(module, name)(pg_db)


# -- many writers and readers at once ----------------------------------------

BATCHES, PER_BATCH = 16, 30


def _uci_batches(folder: Path) -> list[Path]:
    rows = list(csv.DictReader((SHARED / "uci-news" / "dev.csv").open(encoding="utf-8")))
    rows.sort(key=lambda r: (int(r["timestamp_ms"]), int(r["id"])))
    files = []
    for n in range(BATCHES):
        path = folder / f"b{n:02d}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for r in rows[n * PER_BATCH:(n + 1) * PER_BATCH]:
                fh.write(json.dumps({"id": r["id"], "text": r["title"], "batch": f"b{n:02d}",
                                     "source": r["publisher"], "url": r["url"]}) + "\n")
        files.append(path)
    return files


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stories_by_text(db) -> set:
    with open_store(db) as store:
        return {(frozenset(m.text for m in store.story_snippets(s.id)), s.headline_id and
                 store.snippet(s.headline_id).text) for s in store.live_stories()}


@pytest.mark.slow
@needs_postgres
@pytest.mark.skipif(not (SHARED / "uci-news" / "dev.csv").exists(),
                    reason="../shared/data/uci-news/dev.csv not found")
def test_four_writers_and_eight_readers_lose_nothing(tmp_path, pg_db):
    import httpx

    files = _uci_batches(tmp_path)
    token = "test-token-0123"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    Storyline(pg_db, **WORDS_ONLY).close()  # the schema, before four writers race for it
    log = (tmp_path / "server.log").open("w")  # a pipe nobody reads would fill and block it
    server = subprocess.Popen(
        [sys.executable, "-m", "storyline.cli", "serve", "--db", pg_db, "--port", str(port),
         "--model", "none", "--no-facts"], stdout=log, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, "STORYLINE_TOKEN": token})
    statuses: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def read(path: str) -> None:
        with httpx.Client(base_url=base, timeout=600) as client:
            while not stop.is_set():
                try:
                    response = client.get(path)
                except httpx.HTTPError as exc:
                    errors.append(f"{path}: {exc!r}")
                    return
                statuses.append(response.status_code)
                if response.status_code >= 500:
                    errors.append(f"{path}: {response.status_code} {response.text[:200]}")
                stop.wait(0.25)  # a reader's pace, not a flood that starves the server

    def post(mine: list[Path]) -> None:
        with httpx.Client(base_url=base, timeout=600) as client:
            for path in mine:
                try:
                    response = client.post(
                        f"/api/batches?batch={path.stem}", content=path.read_bytes(),
                        headers={"Authorization": f"Bearer {token}",
                                 "Content-Type": "application/x-ndjson"})
                except httpx.HTTPError as exc:
                    errors.append(f"POST {path.stem}: {exc!r}")
                    return
                statuses.append(response.status_code)
                if response.status_code != 200:
                    errors.append(f"POST {path.stem}: {response.status_code} {response.text}")

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/api/batches", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.3)
        started = time.monotonic()
        readers = [threading.Thread(target=read, args=(path,)) for path in
                   ["/api/stories", "/api/batches", "/api/search?q=fed+rates",
                    "/api/stories?status=active", "/api/search?q=apple", "/api/stories",
                    "/api/batches", "/api/search?q=gm+recall"]]
        cli = [subprocess.Popen(
            [sys.executable, "-m", "storyline.cli", "ingest", "--db", pg_db, "--model", "none",
             *map(str, files[k::4])], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True) for k in (0, 1)]  # communicate() below reads their output as it comes
        posters = [threading.Thread(target=post, args=(files[k::4],)) for k in (2, 3)]
        for t in readers + posters:
            t.start()
        for proc in cli:
            output = proc.communicate(timeout=900)[0]
            assert proc.returncode == 0, output
        for t in posters:
            t.join()
        elapsed = time.monotonic() - started
        stop.set()
        for t in readers:
            t.join()
    finally:
        stop.set()
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
        log.close()
    assert errors == []
    with open_store(pg_db) as store:
        assert store.check() == []
        counts = store.counts()
        order = [b.name for b in store.batches()]
        positions = [(c[0], c[1]) for c in store.copy_stories()]
    assert sorted(order) == [p.stem for p in files]
    assert counts["copies"] == BATCHES * PER_BATCH and len(set(positions)) == len(positions)
    # The same batches one after another, in the order they were stored, in one process.
    serial = tmp_path / "serial.db"
    run_process("ingest", "--db", str(serial), "--model", "none",
                *[str(tmp_path / f"{name}.jsonl") for name in order])
    identical = _stories_by_text(serial) == _stories_by_text(pg_db)
    print(f"\n4 writers (2 CLI processes, 2 POST clients), 8 readers: {BATCHES} batches of "
          f"{PER_BATCH}, {elapsed:.1f} s, {len(statuses)} requests, no 5xx, "
          f"{counts['stories']} stories, identical to a serial run: {identical}")
    assert identical



def _nul_file(tmp_path: Path) -> Path:
    src = tmp_path / "nul.jsonl"
    src.write_text('{"text": "Harbour strike \\u0000enters its third day", '
                   '"source": "A\\u0000P"}\n')
    return src


@needs_postgres
def test_a_nul_character_is_read_out_of_every_field_on_both_backends(tmp_path, pg_db):
    """PostgreSQL's text cannot hold NUL: it is dropped on reading, on both backends."""
    here = tmp_path / "nul.db"
    for db in (pg_db, str(here)):
        run_cli("ingest", str(_nul_file(tmp_path)), "--db", db, "--model", "none")
    assert _answers(pg_db) == _answers(here)
    with open_store(pg_db) as store:
        (copy,) = store.batch_copies(1)
        assert (copy.raw_text, copy.source) == ("Harbour strike enters its third day", "AP")


@needs_postgres
def test_a_copy_of_a_store_that_holds_a_nul_drops_it(tmp_path, pg_db):
    import sqlite3

    old = tmp_path / "old.db"  # as a store written before NUL was dropped holds it
    run_cli("ingest", str(_nul_file(tmp_path)), "--db", str(old), "--model", "none")
    with sqlite3.connect(old) as db:
        db.execute("UPDATE copies SET raw_text = 'Harbour strike ' || char(0) || 'enters'")
    run_cli("copy", "--from", str(old), "--to", pg_db)
    with open_store(pg_db) as store:
        assert store.batch_copies(1)[0].raw_text == "Harbour strike enters"


@needs_postgres
def test_a_copy_the_server_cannot_take_is_one_line_and_leaves_nothing(tmp_path, pg_db):
    import sqlite3

    old = tmp_path / "odd.db"
    run_cli("ingest", str(_nul_file(tmp_path)), "--db", str(old), "--model", "none")
    with sqlite3.connect(old) as db:  # SQLite takes any number: PostgreSQL's columns do not
        db.execute("UPDATE copies SET position = 99999999999999999999")
    refused = run_cli("copy", "--from", str(old), "--to", pg_db, check=False)
    assert refused.returncode == 3 and "cannot take a row of copies" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.splitlines()) == 1
    with open_store(pg_db) as store:
        assert store.batches() == [] and not store.has_snippets()


def test_a_server_error_in_a_command_is_one_line_without_the_damaged_store_hint():
    psycopg = pytest.importorskip("psycopg")
    from storyline.cli_support import error_report

    code, message = error_report(psycopg.errors.AdminShutdown(
        "terminating connection due to administrator command\nSSL connection closed"))
    assert code == 3 and "\n" not in message and "damaged" not in message
    assert message.startswith("the PostgreSQL server failed: terminating connection")


@needs_postgres
def test_check_names_facts_damaged_by_hand_as_on_sqlite(pg_db):
    import psycopg

    run_cli("ingest", "--db", pg_db, "--model", "none", str(SEEDS))
    assert run_cli("check", "--db", pg_db).returncode == 0
    with psycopg.connect(pg_db, autocommit=True) as conn:
        snippet = conn.execute("SELECT MIN(snippet_id) FROM facts").fetchone()[0]
        conn.execute("UPDATE facts SET data = '[1, 2]' WHERE snippet_id = %s", (snippet,))
    checked = run_cli("check", "--db", pg_db, check=False)
    assert checked.returncode == 1
    assert (f"1 snippets have damaged facts (not a JSON object): snippet {snippet}"
            in checked.stderr)
