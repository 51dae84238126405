"""The embedded store: SQLite in WAL mode, :class:`SQLiteStore`.

Everything one batch changes is written in one transaction (a big batch: one per
chunk of ``commit_records``, see :mod:`storyline.writer`), so a process killed
mid-ingest leaves the store as it was after the last commit, and the same command
again goes on from there. The reads are in
:mod:`storyline.store.sqlite_reads`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from storyline.errors import StoreError
from storyline.outlets import outlet_of
from storyline.store.base import Store
from storyline.store.guard import busy_timeout, guarded
from storyline.store.rows import (  # noqa: F401  (re-exported: their home was here)
    BatchRow,
    CopyRow,
    NewSnippet,
    SnippetRow,
    StoryRow,
    parse_clock,
)
from storyline.store.schema import MIGRATIONS
from storyline.store.sqlite_reads import SQLiteReads, lower
from storyline.store.sqlite_recent import SQLiteRecent
from storyline.store.vectors import vector_blob
from storyline.types import Record

__all__ = ["SQLiteStore", "StoreError"]


def _enter_wal(db: sqlite3.Connection, timeout: float) -> None:
    """Switch a connection to WAL. Two processes creating one store at once: SQLite
    answers the loser's switch "locked" at once, without its busy handler, so wait here."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _read_only_connection(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection that writes nothing: ``mode=ro``, or where a write-ahead log's
    shared-memory file cannot be made beside the store either, ``immutable=1`` (no locks:
    without its shared-memory file no writer has the store open)."""
    from urllib.parse import quote

    uri = "file:" + quote(str(path.resolve()))
    try:
        return _checked(sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None,
                                        check_same_thread=False, timeout=timeout))
    except sqlite3.OperationalError:
        return _checked(sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True,
                                        isolation_level=None, check_same_thread=False))


def _checked(db: sqlite3.Connection) -> sqlite3.Connection:
    """``db`` once it has read the schema (where opening a file really happens)."""
    try:
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except BaseException:
        db.close()
        raise
    return db


class SQLiteStore(SQLiteRecent, SQLiteReads, Store):
    """One storyline database in a SQLite file. Use as a context manager or call
    :meth:`close`."""

    def __init__(self, path: str | Path, *, durable: bool = True, read_only: bool = False
                 ) -> None:
        """``durable=False`` is for a throwaway store (``storyline cluster``
        without --db): no waiting for the disk, which a crash would make unreadable.
        ``read_only``: a store this process cannot write (a read-only mount, a file
        shared read-only) is read as it is, with no write-ahead log files made."""
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            raise StoreError(f"{self.path}: folder {self.path.parent} does not exist")
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a folder, not a store file")
        # A writer waits this long for another (BEGIN IMMEDIATE), then says the store is busy.
        self.busy_timeout = busy_timeout()
        with guarded(self.path, self.busy_timeout):
            if read_only:
                self.db = _read_only_connection(self.path, self.busy_timeout)
            else:
                self.db = sqlite3.connect(str(self.path), isolation_level=None,
                                          check_same_thread=False, timeout=self.busy_timeout)
            self.db.row_factory = sqlite3.Row
            if not read_only:
                _enter_wal(self.db, self.busy_timeout)
                self.db.execute(f"PRAGMA synchronous={'NORMAL' if durable else 'OFF'}")
            self.db.execute("PRAGMA foreign_keys=ON")
            # The story list's text filter: Unicode-aware, as str.lower.
            self.db.create_function("storyline_lower", 1, lower, deterministic=True)
            self.db.create_function("storyline_outlet", 2, outlet_of, deterministic=True)
            if read_only and not self._current_schema():
                self._refuse_foreign()
                raise StoreError(f"{self.path}: the store is of an older storyline and "
                                 "cannot be written here to upgrade it: open it once "
                                 "where it can be written")
            if not read_only:
                self._migrate()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _outermost_transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE takes the write lock at once: a second writer waits for the
        first (up to ``busy_timeout``, then StoreBusyError) instead of failing halfway.
        SQLite's errors leave as storyline's (store.guard)."""
        with guarded(self.path, self.busy_timeout):
            self.db.execute("BEGIN IMMEDIATE")
        try:
            with guarded(self.path, self.busy_timeout):
                yield
                self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back itself (disk full)
                with guarded(self.path, self.busy_timeout):
                    self.db.execute("ROLLBACK")
            raise

    def data_version(self) -> int:
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def _migrate(self) -> None:
        if self._current_schema():
            return
        self._refuse_foreign()
        # Under the write lock, read again: another process may be creating the store.
        with self.transaction():
            self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self.db.execute("SELECT version FROM schema_version").fetchone()
            for number in range(row[0] if row else 0, len(MIGRATIONS)):
                for statement in _statements(MIGRATIONS[number]):
                    self.db.execute(statement)
                self.db.execute("DELETE FROM schema_version")
                self.db.execute("INSERT INTO schema_version VALUES (?)", (number + 1,))

    def _refuse_foreign(self) -> None:
        """A SQLite database of something else (tables, no storyline schema) is no store
        to add storyline's tables to, on a read or a write."""
        if self.db.execute("SELECT 1 FROM sqlite_master WHERE name='schema_version'"
                           ).fetchone():
            return
        names = [r[0] for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name LIMIT 4")]
        if names:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise StoreError(f"{self.path}: a SQLite database but not a storyline store "
                             f"(it holds {shown}); name another file")

    def _current_schema(self) -> bool:
        """True when the store is at this storyline's schema (read without a lock)."""
        exists = self.db.execute("SELECT 1 FROM sqlite_master WHERE name='schema_version'")
        row = self.db.execute("SELECT version FROM schema_version").fetchone() if (
            exists.fetchone()) else None
        version = row[0] if row else 0
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path}: schema version {version} is newer than this storyline "
                f"({len(MIGRATIONS)}); upgrade storyline"
            )
        return version == len(MIGRATIONS)

    def set_state(self, name: str, value: bytes | str | int) -> None:
        self.db.execute(
            "INSERT INTO state(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
            (name, value),
        )

    def add_batch(self, name: str, seq: int, digest: str, records: int, when: str,
                  origin: str | None, clock: str | None = None, complete: bool = True,
                  continues: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO batches(name, seq, digest, records, ingested_at, origin, clock, "
            "complete, continues) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO "
            "UPDATE SET digest=excluded.digest, records=excluded.records, "
            "clock=excluded.clock, complete=excluded.complete",
            (name, seq, digest, records, when, origin, clock, int(complete), continues),
        )

    def add_snippets(self, rows: Iterable[NewSnippet]) -> None:
        """Write canonical snippets with the ids given (see next_snippet_id)."""
        rows = list(rows)
        self.db.executemany(
            "INSERT INTO snippets(id, key, text, truncated, batch_seq, embedding, cell, story_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ((r.id, r.key, r.text, int(r.truncated), r.batch_seq,
              None if r.embedding is None else vector_blob(r.embedding), r.cell, r.story_id)
             for r in rows),
        )
        self.db.executemany(
            "INSERT INTO snippet_signatures(id, batch_seq, minhash) VALUES (?, ?, ?)",
            ((r.id, r.batch_seq, r.minhash) for r in rows if r.minhash is not None),
        )
        self.db.executemany("INSERT INTO snippets_fts(rowid, text) VALUES (?, ?)",
                            ((r.id, r.text) for r in rows))

    def add_copies(self, rows: Iterable[tuple[int, int, int, str, float, Record]]) -> None:
        """(snippet id, batch seq, position, kind, similarity, record) rows."""
        self.db.executemany(
            "INSERT INTO copies(snippet_id, batch_seq, position, kind, similarity, external_id, "
            "source, url, published_at, title, raw_text, origin, line) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((sid, seq, position, kind, similarity, r.id, r.source, r.url, r.published_at,
              r.title, r.text, r.origin, r.line)
             for sid, seq, position, kind, similarity, r in rows),
        )

    def set_novel(self, flags: Iterable[tuple[int, bool]]) -> None:
        self.db.executemany(
            "UPDATE snippets SET novel=? WHERE id=?", ((int(f), sid) for sid, f in flags)
        )

    def set_facts(self, rows: Iterable[tuple[int, str]]) -> None:
        """(snippet id, JSON of SnippetFacts.to_record()) pairs."""
        self.db.executemany(
            "INSERT INTO facts(snippet_id, data) VALUES (?, ?) "
            "ON CONFLICT(snippet_id) DO UPDATE SET data=excluded.data", rows,
        )

    def new_stories(self, rows: list[tuple[int, int | None]]) -> list[int]:
        # In-process: a statement each costs no round trip, and gives its id.
        return [self.db.execute("INSERT INTO stories(first_seq, last_seq, follows) "
                                "VALUES (?, ?, ?)", (seq, seq, f)).lastrowid for seq, f in rows]

    def update_stories(self, rows: Iterable[tuple[int, int, int]]) -> None:
        self.db.executemany(
            "UPDATE stories SET size=?, last_seq=MAX(last_seq, ?), centroid=NULL WHERE id=?",
            ((size, seq, story) for story, size, seq in rows))

    def describe_stories(self, rows: Iterable[tuple[int, int | None, str, str | None]]
                         ) -> None:
        self.db.executemany(
            "UPDATE stories SET headline_id=?, summary=?, headline=? WHERE id=?",
            ((head, summary, headline, story) for story, head, summary, headline in rows),
        )

    def merge(self, absorbed: int, into: int, batch_seq: int, similarity: float) -> None:
        self.db.execute("UPDATE snippets SET story_id=? WHERE story_id=?", (into, absorbed))
        self.db.execute(
            "UPDATE stories SET merged_into=?, first_seq=MIN(first_seq, "
            "(SELECT first_seq FROM stories WHERE id=?)) WHERE id=?",
            (into, into, absorbed),
        )
        self.db.execute(
            "UPDATE stories SET first_seq=MIN(first_seq, (SELECT first_seq FROM stories "
            "WHERE id=?)) WHERE id=?", (absorbed, into),
        )
        self.db.execute(
            "INSERT INTO merges(absorbed, into_id, batch_seq, similarity) VALUES (?, ?, ?, ?)",
            (absorbed, into, batch_seq, similarity),
        )

    # -- copying a whole store (storyline copy) ---------------------------

    def table_rows(self, table: str, columns: tuple[str, ...]) -> Iterator[tuple]:
        """Every row of a table of COPIED_TABLES, in key order (merges as they happened)."""
        order = "rowid" if table == "merges" else columns[0]
        cursor = self.db.cursor()
        cursor.row_factory = None
        yield from cursor.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")

    def insert_rows(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
        """Insert rows another store's table_rows read (inside a transaction)."""
        self.db.execute("PRAGMA defer_foreign_keys=ON")  # till commit: rows come table by table
        marks = ", ".join("?" * len(columns))
        self.db.executemany(f"INSERT INTO {table}({', '.join(columns)}) VALUES ({marks})", rows)
        if table == "snippets":
            self.db.execute("INSERT INTO snippets_fts(snippets_fts) VALUES ('rebuild')")


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (none of ours holds a ';' in a literal)."""
    return [s.strip() for s in script.split(";") if s.strip()]
