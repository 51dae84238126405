"""Stores damaged by hand, and files that are no store: one line each, the right code."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from storyline.errors import StoreError
from storyline.store import open_store

from .conftest import SEEDS, run_cli


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("damaged") / "news.db"
    run_cli("ingest", "--db", str(db), "--model", "none", str(SEEDS))
    return db


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '"text"'])
def test_facts_damaged_by_hand_are_named_by_check_and_by_facts(tmp_path, store, data):
    db = tmp_path / "news.db"
    shutil.copy(store, db)
    with sqlite3.connect(db) as conn:
        snippet, story = conn.execute(
            "SELECT f.snippet_id, s.story_id FROM facts f JOIN snippets s ON s.id = "
            "f.snippet_id ORDER BY f.snippet_id LIMIT 1").fetchone()
        conn.execute("UPDATE facts SET data = ? WHERE snippet_id = ?", (data, snippet))
    checked = run_cli("check", "--db", str(db), check=False)
    assert checked.returncode == 1
    assert (f"problem: 1 snippets have damaged facts (not a JSON object): snippet {snippet}"
            in checked.stderr)
    facts = run_cli("facts", str(story), "--db", str(db), check=False)
    assert facts.returncode == 3
    assert facts.stderr.startswith(f"error: the stored facts of snippet {snippet} are "
                                   "damaged (")
    assert len(facts.stderr.strip().splitlines()) == 1 and "unexpected" not in facts.stderr


@pytest.mark.parametrize("command", [["check"], ["stories"],
                                     ["ingest", "--model", "none", str(SEEDS)]])
def test_a_sqlite_database_of_something_else_is_refused_and_left_as_it_was(tmp_path,
                                                                          command):
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER)")
    result = run_cli(*command, "--db", str(db), check=False)
    assert result.returncode == 3
    assert result.stderr.strip() == (f"error: {db}: a SQLite database but not a storyline "
                                     "store (it holds accounts); name another file")
    with sqlite3.connect(db) as conn:  # no storyline table was added to it
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["accounts"]


def test_a_copy_onto_a_sqlite_database_of_something_else_is_refused(tmp_path, store):
    target = tmp_path / "other.db"
    with sqlite3.connect(target) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER)")
    result = run_cli("copy", "--from", str(store), "--to", str(target), check=False)
    assert result.returncode == 3 and "not a storyline store" in result.stderr


def test_a_read_only_sqlite_database_of_something_else_is_no_old_store(tmp_path):
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER)")
    with pytest.raises(StoreError, match="not a storyline store"):
        open_store(db, create=False, read_only=True)


@pytest.mark.parametrize("command", [["stories"], ["check"],
                                     ["ingest", "--model", "none", str(SEEDS)]])
def test_a_folder_as_the_store_says_so(tmp_path, command):
    result = run_cli(*command, "--db", str(tmp_path), check=False)
    assert result.returncode == 3
    assert result.stderr.strip() == f"error: {tmp_path}: is a folder, not a store file"
