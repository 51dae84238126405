"""Real feeds, real files, several writers (issue 12): every case ends in one line with
a documented exit code, the store consistent and nothing lost. Real processes, real
SQLite; the big-file and many-writer cases are marked slow."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storyline.store import Store
from storyline.store.schema import MIGRATIONS

from .conftest import ROOT, needs_static, run_cli

HEADLINES = ["Fire destroys dairy warehouse in Palmer, Alaska",
             "Flood waters rise downtown as river breaks its banks",
             "Central bank holds interest rates steady",
             "Earthquake of magnitude 6.1 strikes northern Chile"]


def jsonl(path: Path, *objs) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs))
    return path


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def headlines_file(path: Path, n: int, seed: int = 0) -> Path:
    """``n`` distinct headline-like lines (words of a small vocabulary recombined)."""
    words = " ".join(HEADLINES).replace(",", "").split() + [f"w{i}" for i in range(400)]
    rng = random.Random(seed)
    path.write_text("\n".join(" ".join(rng.choices(words, k=9)) + f" n{i}" for i in range(n))
                    + "\n")
    return path


def partition(db: Path) -> tuple[frozenset, int]:
    with Store(db) as store:
        groups: dict[int, set] = {}
        for seq, position, _, _, story in store.copy_stories():
            groups.setdefault(store.resolve(story), set()).add((seq, position))
        return frozenset(frozenset(g) for g in groups.values()), store.counts()["copies"]


# -- dates, bad records, --skip-bad ----------------------------------------------------

@needs_static
def test_unreadable_date_costs_only_the_field(tmp_path):
    f = jsonl(tmp_path / "d.jsonl", {"text": HEADLINES[0], "published_at": "yesterday"},
              {"text": HEADLINES[1], "published_at": "Tue, 10 Jun 2003 04:00:00 GMT"})
    proc = run_cli("ingest", "--fast", "--db", str(tmp_path / "s.db"), str(f))
    assert f"{f}:1: published_at 'yesterday' is not a date" in proc.stderr
    with Store(tmp_path / "s.db") as store:
        assert store.counts()["copies"] == 2
        assert store.batches()[0].clock == "2003-06-10T04:00:00+00:00"


@needs_static
def test_skip_bad_counts_by_reason_and_fails_when_nothing_is_left(tmp_path):
    mixed = tmp_path / "m.jsonl"
    mixed.write_text(json.dumps({"text": HEADLINES[0]}) + "\nnot json\n"
                     + json.dumps({"text": "\u0000\u200b"}) + "\n"
                     + json.dumps({"text": HEADLINES[1], "id": {"a": 1}}) + "\n")
    db = tmp_path / "s.db"
    proc = run_cli("ingest", "--fast", "--skip-bad", "--db", str(db), str(mixed))
    summary = [line for line in proc.stderr.splitlines() if line.startswith("skipped ")]
    assert summary == ["skipped 3 bad records: 1 bad JSON, 1 no text left after cleaning, "
                       "1 field … must be a string, not an object"]
    assert Store(db).counts()["copies"] == 1
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x00\n\xe2\x80\x8b\n")
    proc = run_cli("ingest", "--fast", "--skip-bad", "--db", str(db), str(bad), check=False)
    assert proc.returncode == 1 and "nothing was ingested" in one_line_error(proc)


@needs_static
@pytest.mark.parametrize("content,message", [
    (b'{"text": "a", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}\n", "bad JSON: nested too deep"),
    (b'{"text": "bad \\ud800 text"}\n', "field 'text' holds an unpaired surrogate"),
    (b'{"text": "ok", "source": ["AP"]}\n', "field 'source' must be a string, not a list"),
    (b'{"text": "\\u0000\\u0000"}\n', "no text left after cleaning"),
])
def test_bad_records_are_one_line_and_exit_1(tmp_path, content, message):
    f = tmp_path / "b.jsonl"
    f.write_bytes(b'{"text": "fine"}\n' + content)
    proc = run_cli("ingest", "--fast", "--db", str(tmp_path / "s.db"), str(f), check=False)
    assert proc.returncode == 1
    assert f"{f}:2: {message}" in one_line_error(proc)
    with Store(tmp_path / "s.db") as store:
        assert store.counts()["copies"] == 0 and store.check() == []


@needs_static
def test_csv_unterminated_quote_and_newlines(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text('id,text\n1,"Fire destroys\ndairy warehouse"\n2,"Flood waters rise\n')
    proc = run_cli("ingest", "--fast", "--db", str(tmp_path / "s.db"), str(f), check=False)
    assert proc.returncode == 1 and f"{f}:4: unterminated quote" in one_line_error(proc)


@needs_static
def test_not_a_batch_file(tmp_path):
    gold = jsonl(tmp_path / "gold.json", {"text": HEADLINES[0]})
    db = tmp_path / "s.db"
    proc = run_cli("ingest", "--fast", "--db", str(db), str(gold), check=False)
    assert proc.returncode == 2 and "unknown extension '.json'" in one_line_error(proc)
    run_cli("ingest", "--fast", "--format", "jsonl", "--db", str(db), str(gold))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "001.txt").write_text(HEADLINES[1] + "\n")
    (folder / "notes.tsv").write_text("a\tb\n")
    (folder / "old").mkdir()
    proc = run_cli("ingest", "--fast", "--db", str(db), str(folder))
    assert "notes.tsv: not a batch file" in proc.stderr and "old: a folder" in proc.stderr


@needs_static
def test_standard_input(tmp_path):
    db = tmp_path / "s.db"
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "storyline.cli", "ingest", "--fast", "--db",
                           str(db), "--format", "jsonl", "--batch", "piped", "-"],
                          input=json.dumps({"text": HEADLINES[2]}).encode(), env=env,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with Store(db) as store:
        assert [b.name for b in store.batches()] == ["piped"]


@needs_static
def test_window_cuts_one_file_into_batches(tmp_path):
    f = jsonl(tmp_path / "feed.jsonl",
              {"text": HEADLINES[0], "published_at": "2025-01-13T01:00:00Z"},
              {"text": HEADLINES[1], "published_at": "Mon, 13 Jan 2025 07:30:00 GMT"},
              {"text": HEADLINES[2]},
              {"text": HEADLINES[3], "published_at": "1736784000000"})
    db = tmp_path / "s.db"
    run_cli("ingest", "--fast", "--window", "6h", "--db", str(db), str(f))
    with Store(db) as store:
        assert [(b.name, b.records) for b in store.batches()] == [
            ("feed-2025-01-13T0000", 1), ("feed-2025-01-13T0600", 2),
            ("feed-2025-01-13T1200", 1)]
    proc = run_cli("ingest", "--fast", "--window", "6x", "--db", str(db), str(f), check=False)
    assert proc.returncode == 2 and "bad window" in one_line_error(proc)


# -- the store: busy, full, statistics ---------------------------------------------------

@pytest.mark.slow
@needs_static
def test_a_busy_store_waits_then_says_so(tmp_path):
    db = tmp_path / "s.db"
    f = tmp_path / "a.txt"
    f.write_text(HEADLINES[0] + "\n")
    run_cli("ingest", "--fast", "--db", str(db), str(f))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        g = tmp_path / "b.txt"
        g.write_text(HEADLINES[1] + "\n")
        proc = run_cli("ingest", "--fast", "--db", str(db), str(g), check=False,
                       env={"STORYLINE_BUSY_TIMEOUT": "1"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 5 and "busy" in one_line_error(proc)
    with Store(db) as store:
        assert store.counts()["batches"] == 1 and store.check() == []


@needs_static
def test_a_full_disk_is_a_clear_message_and_nothing_half_written(tmp_path):
    from storyline import Storyline
    from storyline.errors import DiskFullError

    db = tmp_path / "s.db"
    with Storyline(db, "fast") as sl:
        sl.ingest_records([{"text": HEADLINES[0]}], batch="one")
        pages = sl.store.db.execute("PRAGMA page_count").fetchone()[0]
        sl.store.db.execute(f"PRAGMA max_page_count={pages + 2}")
        big = [{"text": f"{HEADLINES[i % 4]} number {i} " + "word " * 50} for i in range(400)]
        with pytest.raises(DiskFullError, match="disk"):
            sl.ingest_records(big, batch="two")
    with Store(db) as store:
        assert [b.name for b in store.batches()] == ["one"] and store.check() == []


@needs_static
def test_check_verifies_the_stream_statistics(tmp_path):
    db = tmp_path / "s.db"
    f = tmp_path / "a.txt"
    f.write_text("\n".join(HEADLINES) + "\n")
    run_cli("ingest", "--fast", "--db", str(db), str(f))
    assert "consistent" in run_cli("check", "--db", str(db)).stdout
    with Store(db) as store:  # a lost update: the counter of another store's state
        store.set_state("df:terms", store.get_state("df:names"))
    proc = run_cli("check", "--db", str(db), check=False)
    assert proc.returncode == 1 and "document frequencies" in proc.stderr


# -- kill -9 and several writers ----------------------------------------------------------

def _start(db: Path, path: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "storyline.cli", "ingest", "--fast", "--db",
                             str(db), str(path)],
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_records(db: Path, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db) as con:
                    row = con.execute("SELECT records FROM batches").fetchone()
            except sqlite3.OperationalError:  # not created yet
                row = None
            if row and row[0] >= count:
                return
        time.sleep(0.05)
    raise AssertionError(f"the ingest never stored {count} records")


@needs_static
@pytest.mark.slow
def test_kill_in_a_big_batch_then_rerun_stores_every_record_once(tmp_path):
    big = headlines_file(tmp_path / "big.txt", 3_000)
    env = {"STORYLINE_COMMIT_RECORDS": "500"}
    clean_db = tmp_path / "clean.db"
    run_cli("ingest", "--fast", "--db", str(clean_db), str(big), env=env)
    clean = partition(clean_db)
    for attempt, stored in enumerate((500, 1_500)):
        db = tmp_path / f"kill{attempt}.db"
        proc = _start(db, big, env)
        _wait_for_records(db, stored, proc)  # then kill: the batch is partly stored
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        with Store(db) as store:
            assert store.check() == []
            assert store.notes() and "partly stored" in store.notes()[0]
        run_cli("ingest", "--fast", "--db", str(db), str(big), env=env)
        assert partition(db) == clean
        again = run_cli("ingest", "--fast", "--db", str(db), str(big), env=env)
        assert "already in the store" in again.stdout


@needs_static
@pytest.mark.slow
@pytest.mark.parametrize("writers", [2, 4])
def test_concurrent_writers_lose_nothing(tmp_path, writers):
    files = [headlines_file(tmp_path / f"{w:03d}.txt", 400, seed=w) for w in range(writers)]
    for round_ in range(2):
        db = tmp_path / f"race{round_}.db"
        procs = [_start(db, f, {}) for f in files]
        for p in procs:
            assert p.wait(300) == 0, p.stderr.read().decode()
            p.stderr.close()
        proc = run_cli("check", "--db", str(db))
        assert "consistent" in proc.stdout
        with Store(db) as store:
            assert store.counts()["copies"] == 400 * writers
            assert store.counts()["batches"] == writers


@needs_static
@pytest.mark.slow
def test_two_writers_of_one_big_file_store_it_once(tmp_path):
    big = headlines_file(tmp_path / "big.txt", 2_000)
    env = {"STORYLINE_COMMIT_RECORDS": "400"}
    db = tmp_path / "s.db"
    procs = [_start(db, big, env) for _ in range(2)]
    for p in procs:
        assert p.wait(300) == 0, p.stderr.read().decode()
        p.stderr.close()
    with Store(db) as store:
        assert store.counts()["copies"] == 2_000 and store.check() == []


# -- POST /api/batches ---------------------------------------------------------------

TOKEN = "test-token-0123"


def _web(db: Path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from storyline.web.access import WebSettings
    from storyline.web.app import create_app

    return TestClient(create_app(WebSettings(db=db, model="none", token=TOKEN)))


def _post(client, body: bytes, batch: str):
    return client.post(f"/api/batches?batch={batch}", content=body, headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"})


@pytest.mark.parametrize("body,message", [
    (b'{"text": "a", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}\n", "nested too deep"),
    (b'{"text": "bad \\ud800 text"}\n', "unpaired surrogate"),
    (b'{"text": "ok", "id": {"a": 1}}\n', "must be a string"),
])
def test_post_bad_records_are_400(tmp_path, body, message):
    with _web(tmp_path / "s.db") as client:
        response = _post(client, body, "001")
    assert response.status_code == 400 and message in response.json()["detail"]


def test_a_batch_a_killed_run_left_partly_stored_is_finished_by_a_post(tmp_path, monkeypatch):
    from storyline.api import Storyline
    from storyline.types import Record
    from storyline.writer import write_batch

    texts = [f"Harbour crane number {i} collapses in storm at port {i}" for i in range(12)]
    body = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()

    def killed_after(n: int):
        for t in texts[:n]:
            yield Record(t, "001")
        raise KeyboardInterrupt  # the run dies with one chunk of 5 written

    monkeypatch.setenv("STORYLINE_COMMIT_RECORDS", "5")
    db = tmp_path / "s.db"
    with Storyline(db, "default", model="none", extract_facts=False) as sl:
        with pytest.raises(KeyboardInterrupt):
            write_batch(sl.engine, "001", killed_after(7), origin="a run killed")
        assert sl.store.batch("001").records == 5 and not sl.store.batch("001").complete
    with _web(db) as client:
        other = _post(client, body.replace(b"crane", b"ferry"), "001")
        assert other.status_code == 409  # not this batch's first records: refused whole
        finished = _post(client, body, "001")
        assert finished.status_code == 200, finished.text
        again = _post(client, body, "001").json()
    with Store(db) as store:
        assert store.batch("001").complete and store.counts()["copies"] == 12
        assert store.notes() == [] and store.check() == []
    assert again["batches"][0]["already_ingested"] is True


@pytest.mark.slow
def test_post_to_a_busy_store_is_503_with_a_retry_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("STORYLINE_BUSY_TIMEOUT", "0.5")
    db = tmp_path / "s.db"
    with _web(db) as client:
        assert _post(client, b'{"text": "Fire in the hills"}\n', "001").status_code == 200
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            response = _post(client, b'{"text": "Flood downtown"}\n', "002")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert response.status_code == 503 and "busy" in response.json()["detail"]
        assert response.headers["retry-after"]
        assert _post(client, b'{"text": "Flood downtown"}\n', "002").status_code == 200
    with Store(db) as store:
        assert store.counts()["copies"] == 2 and store.check() == []


@pytest.mark.slow
def test_post_racing_a_command_line_ingest_never_fails(tmp_path):
    db = tmp_path / "s.db"
    big = headlines_file(tmp_path / "cli.txt", 1_500)
    with _web(db) as client:
        proc = subprocess.Popen([sys.executable, "-m", "storyline.cli", "ingest", "--model",
                                 "none", "--db", str(db), str(big)],
                                env={**os.environ, "PYTHONPATH": str(ROOT)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        statuses = []
        for n in range(9):
            body = "".join(json.dumps({"text": f"{HEADLINES[n % 4]} post {n} line {i}"}) + "\n"
                           for i in range(30)).encode()
            statuses.append(_post(client, body, f"post{n}").status_code)
        assert proc.wait(300) == 0, proc.stderr.read().decode()
        proc.stderr.close()
    assert statuses == [200] * 9
    with Store(db) as store:
        assert store.counts()["copies"] == 1_500 + 9 * 30 and store.check() == []
    assert "consistent" in run_cli("check", "--db", str(db)).stdout


@needs_static
@pytest.mark.slow
def test_facts_a_kill_left_unwritten_are_noted_and_written_by_a_rerun(tmp_path):
    from storyline import Storyline

    db = tmp_path / "s.db"
    f = tmp_path / "001.txt"
    f.write_text("Police said 12 people were hurt in the fire.\n"
                 "The storm cut power to 40,000 homes, officials said.\n")
    with Storyline(db, "fast", extract_facts=True) as sl:
        sl.ingest(f)
        assert sl.check() == ([], [])
        sl.store.db.execute("DELETE FROM facts")  # as a kill before they were written
        problems, notes = sl.check()
        assert problems == [] and "2 snippets have no facts yet" in notes[0]
        reports = sl.ingest(f)  # the same command again
        assert reports[0].already_ingested and sl.check() == ([], [])


@pytest.mark.parametrize("processes", [2, pytest.param(3, marks=pytest.mark.slow)])
def test_processes_creating_one_new_store_all_succeed(tmp_path, processes):
    # SQLite answers a second process's switch to WAL "locked" without waiting: two of
    # them lost one about one time in four before the store retried it.
    code = ("import sys, time; from storyline.store import Store\n"
            "with Store(sys.argv[1]) as store, store.transaction():\n"
            "    time.sleep(0.05)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for attempt in range(12):
        db = tmp_path / f"new{attempt}.db"
        procs = [subprocess.Popen([sys.executable, "-c", code, str(db)], env=env,
                                  stderr=subprocess.PIPE) for _ in range(processes)]
        for p in procs:
            assert p.wait(120) == 0, p.stderr.read().decode()
            p.stderr.close()
        with Store(db) as store:
            assert store.check() == [] and store.schema_version == len(MIGRATIONS)


@pytest.mark.parametrize("damage,found", [
    ("DELETE FROM stories WHERE id = (SELECT MIN(story_id) FROM snippets)",
     "snippets point at a story that is not there"),
    ("UPDATE stories SET merged_into = 9999 WHERE id = (SELECT MAX(id) FROM stories)",
     "stories were merged into a story that is not there"),
    ("DELETE FROM copies WHERE id = (SELECT MAX(id) FROM copies)",
     "batches stored whole hold another number of copies than of records"),
    ("UPDATE state SET value = X'00010203' WHERE name = 'df:terms'",
     "document frequencies of terms cannot be read"),
    ("UPDATE state SET value = 'nopreset' WHERE name = 'preset'",
     "built with preset 'nopreset', which this storyline does not know"),
])
def test_check_finds_a_store_damaged_by_hand_and_reads_stay_one_line(tmp_path, damage, found):
    from .conftest import SEEDS

    db = tmp_path / "d.db"
    run_cli("ingest", str(SEEDS), "--db", str(db), "--model", "none")
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA foreign_keys = OFF")
        con.execute(damage)
    checked = run_cli("check", "--db", str(db), check=False)
    assert checked.returncode in (1, 3) and found in checked.stdout + checked.stderr
    for read in (["stories"], ["changes", "000"], ["changes", "002"], ["search", "korea"],
                 ["export", "--format", "md"]):
        proc = run_cli(*read, "--db", str(db), check=False)
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 1
