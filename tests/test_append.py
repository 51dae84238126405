"""A file that grows (a log appended to): ingested again, or seen again by a watcher, it
gives its new records only, as a batch that continues the one stored (``NAME.2``); a
file whose earlier content changed is refused as before. Real stores, real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storyline.api import Storyline
from storyline.engine import Engine
from storyline.store import Store, open_store
from storyline.store.base import COPIED_TABLES

from .conftest import ROOT, needs_static, run_cli
from .test_robustness import headlines_file

WORDS_ONLY = {"model": "none", "extract_facts": False}


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))


def _lines(n: int, start: int = 0) -> list[str]:
    return [json.dumps({"text": f"Report {i}: storm number {i % 7} closes road {i} "
                                f"in district w{i % 11}", "id": f"r{i}"})
            for i in range(start, start + n)]


def _batches(db) -> list[tuple]:
    with open_store(db) as store:
        return [(b.name, b.seq, b.records, b.complete, b.continues) for b in store.batches()]


def _store(db) -> dict:
    """Every row of every table, but when each batch was ingested."""
    with open_store(db) as store:
        rows = {t: list(store.table_rows(t, c)) for t, c in COPIED_TABLES.items()
                if t != "batches"}
        columns = tuple(c for c in COPIED_TABLES["batches"] if c != "ingested_at")
        rows["batches"] = list(store.table_rows("batches", columns))
        return rows


@needs_static
def test_a_file_that_grew_is_ingested_for_its_new_lines_only(tmp_path):
    db, log = tmp_path / "s.db", tmp_path / "log.jsonl"
    _append(log, _lines(3))
    run_cli("ingest", "--fast", "--db", str(db), str(log))
    _append(log, _lines(2, 3))
    grown = json.loads(run_cli("ingest", "--db", str(db), str(log), "--json").stdout)
    assert [(b["batch"], b["records"], b["new_snippets"], b["already_ingested"])
            for b in grown["batches"]] == [("log.2", 2, 2, False)]
    again = run_cli("ingest", "--db", str(db), str(log))
    assert again.stdout.strip() == "batch log: already in the store, nothing to do"
    _append(log, _lines(1, 5))
    assert "batch log.3: 1 records" in run_cli("ingest", "--db", str(db), str(log)).stdout
    assert _batches(db) == [("log", 1, 3, True, None), ("log.2", 2, 2, True, "log"),
                            ("log.3", 3, 1, True, "log")]
    with Store(db) as store:
        assert store.check() == [] and store.counts()["copies"] == 6
        assert [c.external_id for c in store.batch_copies(2)] == ["r3", "r4"]
    # (batch seq, position in the batch, line of the file): each batch counts from 0.
    assert [(c[2], c[3], c[-1]) for c in _store(db)["copies"]] == [
        (1, 0, 1), (1, 1, 2), (1, 2, 3), (2, 0, 4), (2, 1, 5), (3, 0, 6)]


@needs_static
@pytest.mark.parametrize("change", ["edited", "shortened", "continuation edited"])
def test_a_file_whose_earlier_lines_changed_is_refused_and_nothing_is_written(tmp_path,
                                                                             change):
    db, log = tmp_path / "s.db", tmp_path / "log.jsonl"
    _append(log, _lines(3))
    run_cli("ingest", "--fast", "--db", str(db), str(log))
    _append(log, _lines(2, 3))
    run_cli("ingest", "--db", str(db), str(log))
    lines = log.read_text().splitlines()
    if change == "edited":
        lines[1] = _lines(1, 99)[0]
    elif change == "shortened":
        lines = lines[:4]
    else:
        lines[4] = _lines(1, 99)[0]
    log.write_text("\n".join(lines + _lines(2, 10)) + "\n")  # and lines after them
    before = _store(db)
    refused = run_cli("ingest", "--db", str(db), str(log), check=False)
    assert refused.returncode == 3 and "with other content" in refused.stderr
    assert ("'log.2' (which continues 'log')" in refused.stderr) == (change != "edited")
    assert _store(db) == before


def test_a_stop_in_the_new_lines_then_a_rerun_gives_the_clean_run_s_store(tmp_path,
                                                                          monkeypatch):
    """The new lines are written in transactions of commit_records: stopped after the
    first (a kill between two, or in one: rolled back), the same ingest again writes the
    rest once, and the store is the one an uninterrupted run leaves, row for row."""
    log = tmp_path / "log.jsonl"
    first, grown = _lines(250), _lines(250) + _lines(350, 250)
    settings = {**WORDS_ONLY, "commit_records": 100}
    for name in ("clean", "stopped"):
        log.write_text("\n".join(first) + "\n")
        with Storyline(tmp_path / f"{name}.db", "default", **settings) as sl:
            sl.ingest(log)
        log.write_text("\n".join(grown) + "\n")
        if name == "stopped":
            write, calls = Engine.write_chunk, []

            def stop_at_the_second(self, *args, calls=calls, write=write, **kwargs):
                calls.append(args[0])
                if len(calls) == 2:
                    raise KeyboardInterrupt  # as Ctrl-C, or a kill, between the two
                return write(self, *args, **kwargs)

            monkeypatch.setattr(Engine, "write_chunk", stop_at_the_second)
            with Storyline(tmp_path / "stopped.db", **settings) as sl:
                with pytest.raises(KeyboardInterrupt):
                    sl.ingest(log)
                assert calls == ["log.2", "log.2"]
                assert sl.store.notes()[0].startswith("batch 'log.2' is partly stored (100 ")
            monkeypatch.setattr(Engine, "write_chunk", write)
        with Storyline(tmp_path / f"{name}.db", **settings) as sl:
            (report,) = sl.ingest(log)
            assert (report.batch, report.already_ingested) == ("log.2", False)
            assert sl.store.check() == [] and sl.store.notes() == []
    assert _batches(tmp_path / "stopped.db")[1] == ("log.2", 2, 350, True, "log")
    assert _store(tmp_path / "stopped.db") == _store(tmp_path / "clean.db")


def test_appended_lines_on_both_backends(any_db, tmp_path):
    """The continuations are the store's: PostgreSQL keeps and finds them as SQLite does."""
    log = tmp_path / "log.jsonl"
    _append(log, _lines(2))
    with Storyline(any_db, "default", **WORDS_ONLY) as sl:
        sl.ingest(log)
        _append(log, _lines(2, 2))
        assert [(r.batch, r.records) for r in sl.ingest(log)] == [("log.2", 2)]
        _append(log, _lines(1, 4))
        assert [(r.batch, r.records) for r in sl.ingest(log)] == [("log.3", 1)]
        assert sl.ingest(log)[0].already_ingested
        assert [b.name for b in sl.store.continuations("log")] == ["log.2", "log.3"]
        assert sl.store.continuations("log.2") == [] and sl.store.check() == []
    assert _batches(any_db)[1:] == [("log.2", 2, 2, True, "log"), ("log.3", 3, 1, True, "log")]


def test_a_continuation_takes_a_name_no_batch_has(tmp_path):
    """``log.2`` given to another batch already (--batch): the new lines go to ``log.3``;
    and a name at the length limit gives way to the number."""
    db, log, other = tmp_path / "s.db", tmp_path / "log.jsonl", tmp_path / "other.jsonl"
    _append(log, _lines(1))
    _append(other, _lines(1, 50))
    long = "x" * 200
    with Storyline(db, "default", **WORDS_ONLY) as sl:
        sl.ingest(log)
        sl.ingest(other, batch="log.2")
        sl.ingest(log, batch=long)
        _append(log, _lines(1, 1))
        assert [r.batch for r in sl.ingest(log)] == ["log.3"]
        assert [r.batch for r in sl.ingest(log, batch=long)] == ["x" * 198 + ".2"]
        assert [r.already_ingested for r in sl.ingest(log)] == [True]


def test_the_watcher_ingests_the_lines_appended_to_a_file(tmp_path):
    pytest.importorskip("feedparser")
    from storyline.feeds import Watcher
    from storyline.web.access import StoreAccess, WebSettings

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    log = inbox / "log.jsonl"
    _append(log, _lines(2))
    access = StoreAccess(WebSettings(db=tmp_path / "w.db", model="none"))
    try:
        watcher = Watcher(access, folder=inbox, settle=0.0)
        assert [(r.batch, r.records) for r in watcher.poll().reports] == [("log", 2)]
        _append(log, _lines(3, 2))
        assert [(r.batch, r.records) for r in watcher.poll().reports] == [("log.2", 3)]
        assert watcher.poll().reports == []
        # A restarted watcher sees the file again: nothing new in it.
        again = Watcher(access, folder=inbox, settle=0.0).poll()
        assert [(r.batch, r.already_ingested) for r in again.reports] == [("log", True)]
        # Over HTTP too (ingest --server): the same batch with more records continues it,
        # one with other content is refused before anything is written.
        records = _records(log)
        more = records + _records_of(_lines(1, 5), len(records))
        assert [(r.batch, r.records) for r in access.ingest_records(more, "http")] == [
            ("log.3", 1)]
        with pytest.raises(Exception, match="'log.2' is already in the store with other"):
            access.ingest_records(more[:2] + more[3:], "http")
    finally:
        access.close()
    assert _batches(tmp_path / "w.db")[1:] == [("log.2", 2, 3, True, "log"),
                                               ("log.3", 3, 1, True, "log")]


def _records(path: Path):
    from storyline.pipeline.read import read_file

    return list(read_file(path))


def _records_of(lines: list[str], after: int):
    from storyline.pipeline.read import checked_record

    return [checked_record(json.loads(line), "log", after + n, "http")
            for n, line in enumerate(lines, 1)]


@needs_static
@pytest.mark.slow
def test_kill_in_the_new_lines_of_a_big_file_then_rerun_gives_the_clean_run_s_store(
        tmp_path):
    big = headlines_file(tmp_path / "all.txt", 2_500)
    lines = big.read_text().splitlines(keepends=True)
    env = {"STORYLINE_COMMIT_RECORDS": "400"}
    log = tmp_path / "log.txt"
    stores = {}
    for name in ("clean", "killed"):
        db = tmp_path / f"{name}.db"
        log.write_text("".join(lines[:500]))
        run_cli("ingest", "--fast", "--db", str(db), str(log), env=env)
        log.write_text("".join(lines))  # 2,000 lines more: five transactions
        if name == "killed":
            proc = subprocess.Popen([sys.executable, "-m", "storyline.cli", "ingest", "--db",
                                     str(db), str(log)],
                                    env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 240
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    if any(b[0] == "log.2" and b[2] >= 800 for b in _batches(db)):
                        break
                except Exception:  # held by the writer this moment
                    pass
                time.sleep(0.05)
            assert proc.poll() is None, "the ingest ended before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            with Store(db) as store:
                assert store.check() == [] and "partly stored" in store.notes()[0]
        run_cli("ingest", "--db", str(db), str(log), env=env)
        stores[name] = _store(db)
    assert stores["killed"] == stores["clean"]


@pytest.mark.parametrize("cut", [3, 5])
def test_a_file_cut_back_to_an_earlier_batch_s_end_is_refused_as_over_http(tmp_path, cut):
    """Cut short to exactly the records of its first batch (or of it and a continuation),
    a file no longer holds what its later batches hold: other content, as the docs say
    and as POST /api/batches says, where ingest called it 'already in the store'."""
    db, log = tmp_path / "s.db", tmp_path / "log.jsonl"
    for n, start in ((3, 0), (2, 3), (1, 5)):
        _append(log, _lines(n, start))
        with Storyline(db, "default", **WORDS_ONLY) as sl:
            sl.ingest(log)
    log.write_text("".join(line + "\n" for line in _lines(cut)))
    before = _store(db)
    refused = run_cli("ingest", "--db", str(db), str(log), check=False)
    assert refused.returncode == 3, refused.stdout
    later = "log.2" if cut == 3 else "log.3"
    assert f"batch '{later}' (which continues 'log') is already in" in refused.stderr
    assert "with other content" in refused.stderr
    assert _store(db) == before
    from storyline.web.access import StoreAccess, WebSettings

    access = StoreAccess(WebSettings(db=db, model="none"))
    try:
        with pytest.raises(Exception, match=f"'{later}' is already in the store with other"):
            access.ingest_records(_records(log), "http")
    finally:
        access.close()
    assert _store(db) == before
