"""The shared store: PostgreSQL, :class:`PostgresStore`, for ``--db postgresql://…``.

The same interface and the same guarantees as the SQLite store: everything one batch
changes is written in one transaction. Writers are serialised by a transaction-scoped
advisory lock taken when a write transaction begins (what ``BEGIN IMMEDIATE`` does in
SQLite), so several processes can ingest into one server and none loses another's
batch; readers never wait. The reads are in :mod:`storyline.store.postgres_reads`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from storyline.config import busy_timeout_from_env
from storyline.errors import NotFoundError, StoreError, StoreUnavailableError
from storyline.store import display_url
from storyline.store.base import Store, busy_error
from storyline.store.postgres_reads import PostgresReads
from storyline.store.postgres_recent import PostgresRecent
from storyline.store.postgres_schema import MIGRATIONS
from storyline.store.rows import NewSnippet
from storyline.store.vectors import vector_blob
from storyline.types import Record

try:
    import psycopg
except ImportError:  # the postgres extra is not installed
    psycopg = None

__all__ = ["PostgresStore"]

# One advisory lock for every writer of a storyline database (an arbitrary 64-bit key).
WRITER_LOCK = 0x5707_11E5
# Identity columns that copied rows bring ids for: their sequences move past them.
_IDENTITIES = {"stories": "id", "copies": "id", "merges": "id"}


class PostgresStore(PostgresRecent, PostgresReads, Store):
    """One storyline database on a PostgreSQL server. Use as a context manager or call
    :meth:`close`."""

    def __init__(self, url: str, *, create: bool = True, **_options: object) -> None:
        """``url``: ``postgresql://user:password@host:port/dbname`` (libpq's form; the
        usual PG* environment variables fill in what it leaves out). ``create=False``:
        a database without storyline's tables is not given them (a NotFoundError)."""
        self.path = display_url(url)
        self.busy_timeout = busy_timeout_from_env()
        if psycopg is None:
            raise StoreError(f"{self.path}: PostgreSQL support not installed "
                             "(pip install 'storyline[postgres]')")
        try:
            self.db = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            # libpq's lines ("... failed: Connection refused", "Is the server running ...")
            reason = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            raise StoreUnavailableError(f"{self.path}: cannot connect: "
                                        f"{reason or type(exc).__name__}") from None
        # data_version as SQLite's PRAGMA: a count of the times another connection's
        # commit was seen, against the store's version as this connection's last left it.
        self._own_version: tuple[int, ...] | None = None
        self._next_ids: dict[str, int] = {}  # the next free id of a table, this transaction
        self._others_seen = 0
        self._migrated = False
        if not create and self._stored_version() == 0:
            self.db.close()
            raise NotFoundError(f"no store at {self.path}")
        self._migrate()
        self._migrated = True

    def close(self) -> None:
        self.db.close()

    @property
    def connection_lost(self) -> bool:
        """The server closed this connection (a restart, a failover, a kill)."""
        return self.db.broken or self.db.closed

    def alive(self) -> bool:
        if self.connection_lost:
            return False
        try:
            self.db.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    @contextmanager
    def _outermost_transaction(self) -> Iterator[None]:
        """One writer at a time (an advisory lock held to the commit), waiting for
        another up to ``$STORYLINE_BUSY_TIMEOUT`` seconds, then StoreBusyError."""
        try:
            with self.db.transaction():
                self._take_writer_lock()
                self._next_ids.clear()  # read again under the lock (see _take_ids)
                if self._migrated:  # count another's commit before this one's hides it
                    self.data_version()
                yield
                self._own_version = self.version()  # under the lock: no one else moved it
        except psycopg.errors.DiskFull as exc:
            from storyline.errors import DiskFullError

            raise DiskFullError(f"{self.path}: the server's disk is full") from exc

    def _take_writer_lock(self) -> None:
        wait = self.busy_timeout
        if wait <= 0:  # lock_timeout 0 would wait forever
            if not self.db.execute("SELECT pg_try_advisory_xact_lock(%s)",
                                   (WRITER_LOCK,)).fetchone()[0]:
                raise busy_error(self.path, wait)
            return
        self.db.execute("SELECT set_config('lock_timeout', %s, true)",
                        (f"{int(wait * 1000)}ms",))
        try:
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
        except psycopg.errors.LockNotAvailable:
            raise busy_error(self.path, wait) from None
        self.db.execute("SET LOCAL lock_timeout TO DEFAULT")

    def _take_ids(self, table: str, count: int) -> range:
        """``count`` new ids of ``table``, after the largest stored, under the writer lock.
        Given explicitly rather than drawn from the identity sequence: a transaction
        rolled back (a kill, Ctrl-C) would have used up sequence numbers, and its rerun
        numbered stories unlike a clean run; and a writer role needs no rights on the
        sequences."""
        first = self._next_ids.get(table)
        if first is None:
            first = self.db.execute(
                f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0]
        self._next_ids[table] = first + count
        return range(first, first + count)

    def data_version(self) -> int:
        version = self.version()
        if version != self._own_version:
            self._others_seen += 1
            self._own_version = version
        return self._others_seen

    def _migrate(self) -> None:
        if self._stored_version() == len(MIGRATIONS):
            return  # the usual case: no writer lock, so a reader never waits for an ingest
        with self.transaction():  # the writer lock: two first openers migrate once
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self.db.execute("SELECT version FROM schema_version").fetchone()
            version = row[0] if row else 0
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path}: schema version {version} is newer than this storyline "
                    f"({len(MIGRATIONS)}); upgrade storyline")
            for number in range(version, len(MIGRATIONS)):
                self.db.execute(MIGRATIONS[number])
                self.db.execute("DELETE FROM schema_version")
                self.db.execute("INSERT INTO schema_version VALUES (%s)", (number + 1,))

    def _stored_version(self) -> int:
        row = self.db.execute(
            "SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not row[0]:
            return 0
        row = self.db.execute("SELECT version FROM schema_version").fetchone()
        return row[0] if row else 0

    def set_state(self, name: str, value: bytes | str | int) -> None:
        if isinstance(value, bytes | bytearray | memoryview):
            kind, data = "b", bytes(value)
        elif isinstance(value, int):
            kind, data = "i", str(value).encode()
        else:
            kind, data = "t", str(value).encode()
        self.db.execute(
            "INSERT INTO state(name, value, kind) VALUES (%s, %s, %s) "
            "ON CONFLICT(name) DO UPDATE SET value=excluded.value, kind=excluded.kind",
            (name, data, kind))

    def add_batch(self, name: str, seq: int, digest: str, records: int, when: str,
                  origin: str | None, clock: str | None = None, complete: bool = True,
                  continues: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO batches(name, seq, digest, records, ingested_at, origin, clock, "
            "complete, continues) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON "
            "CONFLICT(name) DO UPDATE SET digest=excluded.digest, records=excluded.records, "
            "clock=excluded.clock, complete=excluded.complete",
            (name, seq, digest, records, when, origin, clock, int(complete), continues))

    def add_snippets(self, rows: Iterable[NewSnippet]) -> None:
        """Write canonical snippets with the ids given (see next_snippet_id)."""
        with self.db.cursor() as cur:
            cur.executemany(
                "INSERT INTO snippets(id, key, text, truncated, batch_seq, embedding, cell, "
                "story_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(r.id, r.key, r.text, int(r.truncated), r.batch_seq,
                  None if r.embedding is None else vector_blob(r.embedding), r.cell, r.story_id)
                 for r in rows])
            cur.executemany(
                "INSERT INTO snippet_signatures(id, batch_seq, minhash) VALUES (%s, %s, %s)",
                [(r.id, r.batch_seq, r.minhash) for r in rows if r.minhash is not None])

    def add_copies(self, rows: Iterable[tuple[int, int, int, str, float, Record]]) -> None:
        """(snippet id, batch seq, position, kind, similarity, record) rows."""
        rows = list(rows)
        ids = self._take_ids("copies", len(rows))
        with self.db.cursor() as cur:
            cur.executemany(
                "INSERT INTO copies(id, snippet_id, batch_seq, position, kind, similarity, "
                "external_id, source, url, published_at, title, raw_text, origin, line) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(cid, sid, seq, position, kind, float(similarity), r.id, r.source, r.url,
                  r.published_at, r.title, r.text, r.origin, r.line)
                 for cid, (sid, seq, position, kind, similarity, r) in zip(ids, rows,
                                                                           strict=True)])

    def set_novel(self, flags: Iterable[tuple[int, bool]]) -> None:
        with self.db.cursor() as cur:
            cur.executemany("UPDATE snippets SET novel=%s WHERE id=%s",
                            [(int(f), sid) for sid, f in flags])

    def set_facts(self, rows: Iterable[tuple[int, str]]) -> None:
        """(snippet id, JSON of SnippetFacts.to_record()) pairs."""
        with self.db.cursor() as cur:
            cur.executemany(
                "INSERT INTO facts(snippet_id, data) VALUES (%s, %s) "
                "ON CONFLICT(snippet_id) DO UPDATE SET data=excluded.data", list(rows))

    def new_stories(self, rows: list[tuple[int, int | None]]) -> list[int]:
        if not rows:
            return []
        ids = list(self._take_ids("stories", len(rows)))
        self.db.execute(
            "INSERT INTO stories(id, first_seq, last_seq, follows) SELECT i, s, s, f "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS t(i, s, f)",
            (ids, [r[0] for r in rows], [r[1] for r in rows]))
        return ids

    def update_stories(self, rows: Iterable[tuple[int, int, int]]) -> None:
        rows = [(size, seq, story) for story, size, seq in rows]
        if rows:
            with self.db.cursor() as cur:
                cur.executemany("UPDATE stories SET size=%s, last_seq=GREATEST(last_seq, %s), "
                                "centroid=NULL WHERE id=%s", rows)

    def describe_stories(self, rows: Iterable[tuple[int, int | None, str, str | None]]
                         ) -> None:
        rows = [(head, summary, headline, story) for story, head, summary, headline in rows]
        if rows:
            with self.db.cursor() as cur:
                cur.executemany("UPDATE stories SET headline_id=%s, summary=%s, headline=%s "
                                "WHERE id=%s", rows)

    def merge_all(self, rows: list[tuple[int, int, int, float]]) -> None:
        # Pipelined: the statements go out in order without waiting for each answer
        # (a round trip each to a remote server).
        with self.db.pipeline():
            super().merge_all(rows)

    def merge(self, absorbed: int, into: int, batch_seq: int, similarity: float) -> None:
        q = self.db.execute
        q("UPDATE snippets SET story_id=%s WHERE story_id=%s", (into, absorbed))
        q("UPDATE stories SET merged_into=%s, first_seq=LEAST(first_seq, "
          "(SELECT first_seq FROM stories WHERE id=%s)) WHERE id=%s", (into, into, absorbed))
        q("UPDATE stories SET first_seq=LEAST(first_seq, (SELECT first_seq FROM stories "
          "WHERE id=%s)) WHERE id=%s", (absorbed, into))
        q("INSERT INTO merges(id, absorbed, into_id, batch_seq, similarity) "
          "VALUES (%s, %s, %s, %s, %s)", (self._take_ids("merges", 1)[0], absorbed, into,
                                          batch_seq, float(similarity)))

    # -- copying a whole store (storyline copy) ---------------------------

    def table_rows(self, table: str, columns: tuple[str, ...]) -> Iterator[tuple]:
        """Every row of ``table`` (one of base.COPIED_TABLES), in key order."""
        if table == "state":
            for name, value, kind in self.db.execute(
                    "SELECT name, value, kind FROM state ORDER BY name"):
                yield name, _state_value(value, kind)
            return
        order = "id" if table == "merges" else columns[0]
        # A server-side cursor (not every row in memory at once) lives in a transaction.
        with self.snapshot(), self.db.cursor(name=f"copy_{table}") as cur:
            cur.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
            for row in cur:
                yield tuple(_plain(v) for v in row)

    def insert_rows(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
        """Insert rows read by another store's table_rows (inside a transaction)."""
        if table == "state":
            for name, value in rows:
                self.set_state(name, value)
            return
        marks = ", ".join(["%s"] * len(columns))
        try:
            with self.db.cursor() as cur:
                cur.executemany(f"INSERT INTO {table}({', '.join(columns)}) VALUES ({marks})",
                                (tuple(_plain(v) for v in row) for row in rows))
        except psycopg.DataError as exc:  # a value this server cannot hold
            raise StoreError(f"{self.path}: cannot take a row of {table}: "
                             f"{str(exc).strip().splitlines()[0]}") from None
        if table in _IDENTITIES:
            column = _IDENTITIES[table]
            self.db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f"GREATEST((SELECT MAX({column}) FROM {table}), 1))")


def _state_value(value: bytes | None, kind: str) -> bytes | str | int | None:
    if value is None:
        return None
    value = bytes(value)
    return value if kind == "b" else int(value) if kind == "i" else value.decode()


def _plain(value: object) -> object:
    if isinstance(value, str) and "\x00" in value:  # a SQLite store's, read before NUL
        return value.replace("\x00", "")  # was dropped on reading: PostgreSQL refuses it
    return bytes(value) if isinstance(value, memoryview) else value
