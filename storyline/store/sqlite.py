"""The embedded store: SQLite in WAL mode, behind :class:`Store`.

Everything one batch changes is written in one transaction, so a batch is in
the store whole or not at all: a process killed mid-ingest leaves the store as
it was before that batch, and the next run ingests it again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from storyline.dates import parse_date
from storyline.errors import StoreError  # noqa: E402  (re-exported)
from storyline.store.guard import busy_timeout, guarded
from storyline.store.schema import MIGRATIONS
from storyline.types import DormancyRule, Record


def parse_clock(value: str | None) -> datetime | None:
    """A stored time (ISO 8601; naive times are UTC) as an aware UTC datetime."""
    return parse_date(value)


@dataclass
class NewSnippet:
    """A canonical snippet about to be written (its id handed out beforehand)."""

    id: int
    key: str
    text: str
    truncated: bool
    batch_seq: int
    minhash: bytes | None


@dataclass
class BatchRow:
    name: str
    seq: int
    digest: str
    records: int
    ingested_at: str
    origin: str | None
    clock: str | None = None  # latest published_at of its records, UTC (see DormancyRule)
    complete: bool = True  # False while a batch written in chunks is not all in

    def __post_init__(self) -> None:
        self.complete = bool(self.complete)


@dataclass
class SnippetRow:
    id: int
    text: str
    truncated: bool
    batch_seq: int
    story_id: int | None
    novel: bool


@dataclass
class CopyRow:
    id: int
    snippet_id: int
    batch_seq: int
    position: int
    kind: str
    similarity: float
    external_id: str | None
    source: str | None
    url: str | None
    published_at: str | None
    title: str | None
    raw_text: str


@dataclass
class StoryRow:
    id: int
    merged_into: int | None
    headline_id: int | None
    summary: str
    size: int
    first_seq: int
    last_seq: int


class Store:
    """One storyline database. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path, *, durable: bool = True) -> None:
        """``durable=False`` is for a throwaway store (``storyline cluster``
        without --db): no waiting for the disk, which a crash would make unreadable."""
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            raise StoreError(f"{self.path}: folder {self.path.parent} does not exist")
        # A writer waits this long for another (BEGIN IMMEDIATE), then says the store is busy.
        self.busy_timeout = busy_timeout()
        with guarded(self.path, self.busy_timeout):
            self.db = sqlite3.connect(str(self.path), isolation_level=None,
                                      check_same_thread=False, timeout=self.busy_timeout)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={'NORMAL' if durable else 'OFF'}")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._depth = 0
            self._migrate()

    # -- plumbing ---------------------------------------------------------

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing; nested calls join the outer transaction.

        BEGIN IMMEDIATE takes the write lock at once: a second writer waits for the
        first (up to ``busy_timeout``, then :class:`StoreBusyError`) instead of failing
        halfway. SQLite's errors leave as storyline's (store.guard)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with guarded(self.path, self.busy_timeout):
            self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            with guarded(self.path, self.busy_timeout):
                yield
                self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back itself (disk full)
                with guarded(self.path, self.busy_timeout):
                    self.db.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    def data_version(self) -> int:
        """Changes whenever another connection commits (SQLite's PRAGMA data_version):
        a writer's in-memory state is stale when it moved since the writer last wrote."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def _schema_version(self) -> int:
        row = self.db.execute("SELECT version FROM schema_version").fetchone()
        return row[0] if row else 0

    def _migrate(self) -> None:
        if self._current_schema():
            return
        # Under the write lock, read again: another process may be creating the store.
        with self.transaction():
            self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            for number in range(self._schema_version(), len(MIGRATIONS)):
                for statement in _statements(MIGRATIONS[number]):
                    self.db.execute(statement)
                self.db.execute("DELETE FROM schema_version")
                self.db.execute("INSERT INTO schema_version VALUES (?)", (number + 1,))

    def _current_schema(self) -> bool:
        """True when the store is at this storyline's schema (read without a lock)."""
        exists = self.db.execute("SELECT 1 FROM sqlite_master WHERE name='schema_version'")
        version = self._schema_version() if exists.fetchone() else 0
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path}: schema version {version} is newer than this storyline "
                f"({len(MIGRATIONS)}); upgrade storyline"
            )
        return version == len(MIGRATIONS)

    @property
    def schema_version(self) -> int:
        return self.db.execute("SELECT version FROM schema_version").fetchone()[0]

    # -- state blobs ------------------------------------------------------

    def get_state(self, name: str) -> bytes | None:
        row = self.db.execute("SELECT value FROM state WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def get_text_state(self, name: str) -> str | None:
        """A state value stored as text (set_state keeps str as given, bytes as bytes)."""
        value = self.get_state(name)
        return None if value is None else (
            value.decode() if isinstance(value, bytes) else str(value))

    def set_state(self, name: str, value: bytes | str | int) -> None:
        self.db.execute(
            "INSERT INTO state(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
            (name, value),
        )

    # -- batches ----------------------------------------------------------

    def batch(self, name: str) -> BatchRow | None:
        row = self.db.execute("SELECT * FROM batches WHERE name=?", (name,)).fetchone()
        return BatchRow(**dict(row)) if row else None

    def batches(self) -> list[BatchRow]:
        return [BatchRow(**dict(r)) for r in self.db.execute("SELECT * FROM batches ORDER BY seq")]

    def batch_names(self) -> dict[int, str]:
        return {r[0]: r[1] for r in self.db.execute("SELECT seq, name FROM batches")}

    def next_batch_seq(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM batches").fetchone()[0]

    def add_batch(self, name: str, seq: int, digest: str, records: int, when: str,
                  origin: str | None, clock: str | None = None, complete: bool = True) -> None:
        """Write a batch's row, or (a batch written in chunks) bring it up to date."""
        self.db.execute(
            "INSERT INTO batches(name, seq, digest, records, ingested_at, origin, clock, "
            "complete) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
            "digest=excluded.digest, records=excluded.records, clock=excluded.clock, "
            "complete=excluded.complete",
            (name, seq, digest, records, when, origin, clock, int(complete)),
        )

    def dormant_seqs(self, rule: DormancyRule, now_seq: int | None = None) -> set[int]:
        """The batches whose stories are dormant for stored batch ``now_seq``, by
        its clock (a story is as old as the last batch that brought it news).
        Without ``now_seq``: for the next batch, on the last stored one's clock."""
        batches = self.db.execute("SELECT seq, clock FROM batches ORDER BY seq").fetchall()
        clocks = dict(batches)
        if now_seq is None:
            last = batches[-1][0] if batches else 0
            now_seq, now = last + 1, parse_clock(clocks.get(last))
        else:
            now = parse_clock(clocks.get(now_seq))
        out = set()
        for seq, clock in batches:
            then = parse_clock(clock)
            if now is not None and then is not None and rule.after_days is not None:
                if (now - then).total_seconds() > rule.after_days * 86400:
                    out.add(seq)
            elif now_seq - seq > rule.after_batches:
                out.add(seq)
        return out

    # -- snippets and copies ----------------------------------------------

    def next_snippet_id(self) -> int:
        """The id the next added snippet gets (ids are handed out in order, so a
        batch can number its snippets before writing them all at once)."""
        return self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM snippets").fetchone()[0]

    def add_snippets(self, rows: Iterable[NewSnippet]) -> None:
        """Write canonical snippets with the ids given (see next_snippet_id)."""
        rows = list(rows)
        self.db.executemany(
            "INSERT INTO snippets(id, key, text, truncated, batch_seq, minhash) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((r.id, r.key, r.text, int(r.truncated), r.batch_seq, r.minhash) for r in rows),
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

    def set_embeddings(self, rows: Iterable[tuple[int, np.ndarray]]) -> None:
        self.db.executemany(
            "UPDATE snippets SET embedding=? WHERE id=?",
            ((vec.astype(np.float32).tobytes(), sid) for sid, vec in rows),
        )

    def embeddings(self, snippet_ids: list[int], dim: int) -> np.ndarray:
        """Stored embeddings in the order asked (zero rows where none is stored)."""
        out = np.zeros((len(snippet_ids), dim), dtype=np.float32)
        where = {sid: i for i, sid in enumerate(snippet_ids)}
        for chunk in _chunks(snippet_ids, 900):
            marks = ",".join("?" * len(chunk))
            for sid, blob in self.db.execute(
                f"SELECT id, embedding FROM snippets WHERE id IN ({marks})", chunk
            ):
                if blob is not None and len(blob) == dim * 4:
                    out[where[sid]] = np.frombuffer(blob, dtype=np.float32)
        return out

    def duplicate_index_rows(self) -> list[tuple[int, str, bytes | None, str]]:
        return self.db.execute("SELECT id, key, minhash, text FROM snippets").fetchall()

    def snippet(self, snippet_id: int) -> SnippetRow | None:
        row = self.db.execute(
            "SELECT id, text, truncated, batch_seq, story_id, novel FROM snippets WHERE id=?",
            (snippet_id,),
        ).fetchone()
        return _snippet_row(row) if row else None

    def story_snippets(self, story_id: int) -> list[SnippetRow]:
        rows = self.db.execute(
            "SELECT id, text, truncated, batch_seq, story_id, novel FROM snippets "
            "WHERE story_id=? ORDER BY batch_seq, id",
            (story_id,),
        )
        return [_snippet_row(r) for r in rows]

    def members_of_stories(self, story_ids: list[int]) -> list[tuple[int, int]]:
        """(snippet id, story id) of every snippet in these stories, by snippet id."""
        out: list[tuple[int, int]] = []
        for chunk in _chunks(story_ids, 900):
            marks = ",".join("?" * len(chunk))
            out.extend((r[0], r[1]) for r in self.db.execute(
                f"SELECT id, story_id FROM snippets WHERE story_id IN ({marks})", chunk))
        out.sort()
        return out

    def snippet_texts(self, snippet_ids: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in _chunks(snippet_ids, 900):
            marks = ",".join("?" * len(chunk))
            out.update((r[0], r[1]) for r in self.db.execute(
                f"SELECT id, text FROM snippets WHERE id IN ({marks})", chunk))
        return out

    def copies_of(self, snippet_ids: list[int]) -> dict[int, list[CopyRow]]:
        out: dict[int, list[CopyRow]] = {sid: [] for sid in snippet_ids}
        for chunk in _chunks(snippet_ids, 900):
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(
                "SELECT id, snippet_id, batch_seq, position, kind, similarity, external_id, "
                "source, url, published_at, title, raw_text FROM copies "
                f"WHERE snippet_id IN ({marks}) ORDER BY batch_seq, position", chunk,
            ):
                out[r["snippet_id"]].append(CopyRow(**dict(r)))
        return out

    def batch_copies(self, batch_seq: int) -> list[CopyRow]:
        rows = self.db.execute(
            "SELECT id, snippet_id, batch_seq, position, kind, similarity, external_id, source, "
            "url, published_at, title, raw_text FROM copies WHERE batch_seq=? ORDER BY position",
            (batch_seq,),
        )
        return [CopyRow(**dict(r)) for r in rows]

    def copy_stories(self) -> list[tuple[int, int, int, str, int | None]]:
        """Every copy as (batch seq, position, snippet id, kind, the snippet's story
        before merges), in arrival order: what ``storyline cluster`` reports."""
        return self.db.execute(
            "SELECT c.batch_seq, c.position, c.snippet_id, c.kind, s.story_id FROM copies c "
            "JOIN snippets s ON s.id = c.snippet_id ORDER BY c.batch_seq, c.position"
        ).fetchall()

    def set_novel(self, flags: Iterable[tuple[int, bool]]) -> None:
        self.db.executemany(
            "UPDATE snippets SET novel=? WHERE id=?", ((int(f), sid) for sid, f in flags)
        )

    def search_text(self, query: str, limit: int) -> list[tuple[int, float]]:
        """Full-text matches (snippet id, bm25 score: lower is better)."""
        terms = [t for t in "".join(c if c.isalnum() else " " for c in query).split() if t]
        if not terms:
            return []
        match = " ".join(f'"{t}"' for t in terms)
        try:
            rows = self.db.execute(
                "SELECT rowid, bm25(snippets_fts) FROM snippets_fts WHERE snippets_fts MATCH ? "
                "ORDER BY bm25(snippets_fts) LIMIT ?",
                (match, limit),
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        if not rows:  # no snippet holds every word: any of them
            rows = self.db.execute(
                "SELECT rowid, bm25(snippets_fts) FROM snippets_fts WHERE snippets_fts MATCH ? "
                "ORDER BY bm25(snippets_fts) LIMIT ?",
                (" OR ".join(f'"{t}"' for t in terms), limit),
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def all_embeddings(self, dim: int) -> tuple[list[int], np.ndarray]:
        ids, vecs = [], []
        for sid, blob in self.db.execute(
            "SELECT id, embedding FROM snippets WHERE embedding IS NOT NULL"
        ):
            if len(blob) == dim * 4:
                ids.append(sid)
                vecs.append(np.frombuffer(blob, dtype=np.float32))
        return ids, (np.vstack(vecs) if vecs else np.zeros((0, dim), dtype=np.float32))

    # -- facts ------------------------------------------------------------

    def set_facts(self, rows: Iterable[tuple[int, str]]) -> None:
        """(snippet id, JSON of SnippetFacts.to_record()) pairs."""
        self.db.executemany(
            "INSERT INTO facts(snippet_id, data) VALUES (?, ?) "
            "ON CONFLICT(snippet_id) DO UPDATE SET data=excluded.data", rows,
        )

    def facts_of(self, snippet_ids: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in _chunks(snippet_ids, 900):
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(
                f"SELECT snippet_id, data FROM facts WHERE snippet_id IN ({marks})", chunk))
        return out

    # -- stories ----------------------------------------------------------

    def new_story(self, seq: int) -> int:
        cur = self.db.execute(
            "INSERT INTO stories(first_seq, last_seq) VALUES (?, ?)", (seq, seq)
        )
        return cur.lastrowid

    def assign(self, snippet_ids: list[int], story_id: int) -> None:
        self.db.executemany(
            "UPDATE snippets SET story_id=? WHERE id=?", ((story_id, s) for s in snippet_ids)
        )

    def story(self, story_id: int) -> StoryRow | None:
        row = self.db.execute(
            "SELECT id, merged_into, headline_id, summary, size, first_seq, last_seq "
            "FROM stories WHERE id=?", (story_id,),
        ).fetchone()
        return StoryRow(**dict(row)) if row else None

    def resolve(self, story_id: int) -> int | None:
        """The live story an id stands for now, following merges."""
        seen = set()
        while True:
            row = self.story(story_id)
            if row is None:
                return None
            if row.merged_into is None:
                return row.id
            if story_id in seen:
                raise StoreError(f"merge cycle at story {story_id}")
            seen.add(story_id)
            story_id = row.merged_into

    def live_stories(self, dormant_seqs: Iterable[int] = ()) -> list[StoryRow]:
        """Stories not merged away, but for those last seen in ``dormant_seqs``."""
        rows = self.db.execute(
            "SELECT id, merged_into, headline_id, summary, size, first_seq, last_seq FROM stories "
            "WHERE merged_into IS NULL AND last_seq NOT IN (SELECT value FROM json_each(?)) "
            "ORDER BY id",
            (json.dumps(sorted(dormant_seqs)),),
        )
        return [StoryRow(**dict(r)) for r in rows]

    def story_centroids(self, story_ids: list[int], dim: int) -> np.ndarray:
        out = np.zeros((len(story_ids), dim), dtype=np.float32)
        where = {sid: i for i, sid in enumerate(story_ids)}
        for chunk in _chunks(story_ids, 900):
            marks = ",".join("?" * len(chunk))
            for sid, blob in self.db.execute(
                f"SELECT id, centroid FROM stories WHERE id IN ({marks})", chunk
            ):
                if blob is not None and len(blob) == dim * 4:
                    out[where[sid]] = np.frombuffer(blob, dtype=np.float32)
        return out

    def update_story(self, story_id: int, *, size: int, last_seq: int,
                     centroid: np.ndarray | None) -> None:
        self.db.execute(
            "UPDATE stories SET size=?, last_seq=MAX(last_seq, ?), centroid=? WHERE id=?",
            (size, last_seq, None if centroid is None else centroid.astype(np.float32).tobytes(),
             story_id),
        )

    def describe_story(self, story_id: int, headline_id: int | None, summary: str) -> None:
        self.db.execute(
            "UPDATE stories SET headline_id=?, summary=? WHERE id=?",
            (headline_id, summary, story_id),
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

    def merged_from(self, story_id: int) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT absorbed FROM merges WHERE into_id=? ORDER BY batch_seq, absorbed",
            (story_id,))]

    def merges(self) -> list[tuple[int, int, int, float]]:
        return [tuple(r) for r in self.db.execute(
            "SELECT absorbed, into_id, batch_seq, similarity FROM merges ORDER BY rowid")]

    def story_batch_counts(self, story_ids: list[int]) -> dict[int, list[tuple[int, int, int]]]:
        """Per story: (batch seq, copies arriving in it, canonical snippets first seen in it)."""
        out: dict[int, list[tuple[int, int, int]]] = {sid: [] for sid in story_ids}
        for chunk in _chunks(story_ids, 900):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT s.story_id, c.batch_seq, COUNT(*), "
                "SUM(CASE WHEN c.kind='original' THEN 1 ELSE 0 END) "
                "FROM copies c JOIN snippets s ON s.id=c.snippet_id "
                f"WHERE s.story_id IN ({marks}) GROUP BY s.story_id, c.batch_seq "
                "ORDER BY s.story_id, c.batch_seq", chunk,
            )
            for story_id, seq, count, new in rows:
                out[story_id].append((seq, count, new))
        return out

    def stories_in_batch(self, batch_seq: int) -> set[int]:
        """Live stories that received a snippet or a copy in the batch."""
        rows = self.db.execute(
            "SELECT DISTINCT s.story_id FROM copies c JOIN snippets s ON s.id=c.snippet_id "
            "WHERE c.batch_seq=?", (batch_seq,),
        )
        return {r[0] for r in rows}

    def story_source_counts(self, story_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
        out: dict[int, list[tuple[str, int]]] = {sid: [] for sid in story_ids}
        for chunk in _chunks(story_ids, 900):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT s.story_id, c.source, COUNT(*) FROM copies c "
                "JOIN snippets s ON s.id=c.snippet_id "
                f"WHERE s.story_id IN ({marks}) AND c.source IS NOT NULL "
                "GROUP BY s.story_id, c.source ORDER BY s.story_id, COUNT(*) DESC, c.source",
                chunk,
            )
            for story_id, source, count in rows:
                out[story_id].append((source, count))
        return out

    def snippet_text_chunks(self, size: int = 10_000) -> Iterator[list[str]]:
        """Every canonical snippet's text, in id order, ``size`` at a time."""
        last = 0
        while True:
            rows = self.db.execute("SELECT id, text FROM snippets WHERE id > ? ORDER BY id "
                                   "LIMIT ?", (last, size)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [r[1] for r in rows]

    def snippets_without_facts(self, limit: int | None = None) -> list[int]:
        """Snippets whose facts were not written (a run stopped before writing them)."""
        return [r[0] for r in self.db.execute(
            "SELECT id FROM snippets s WHERE NOT EXISTS (SELECT 1 FROM facts f "
            "WHERE f.snippet_id=s.id) ORDER BY id LIMIT ?", (-1 if limit is None else limit,))]

    def has_snippets(self) -> bool:
        return bool(self.db.execute("SELECT EXISTS(SELECT 1 FROM snippets)").fetchone()[0])

    def counts(self) -> dict[str, int]:
        q = self.db.execute
        return {
            "batches": q("SELECT COUNT(*) FROM batches").fetchone()[0],
            "snippets": q("SELECT COUNT(*) FROM snippets").fetchone()[0],
            "copies": q("SELECT COUNT(*) FROM copies").fetchone()[0],
            "stories": q("SELECT COUNT(*) FROM stories WHERE merged_into IS NULL").fetchone()[0],
            "merges": q("SELECT COUNT(*) FROM merges").fetchone()[0],
        }

    def check(self) -> list[str]:
        """Consistency problems, if any (an empty list means consistent)."""
        q = self.db.execute
        problems = []
        if q("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append("sqlite integrity check failed")
        n = q("SELECT COUNT(*) FROM snippets WHERE story_id IS NULL").fetchone()[0]
        if n:
            problems.append(f"{n} snippets belong to no story")
        n = q("SELECT COUNT(*) FROM snippets s WHERE NOT EXISTS "
              "(SELECT 1 FROM copies c WHERE c.snippet_id=s.id)").fetchone()[0]
        if n:
            problems.append(f"{n} snippets have no copy")
        n = q("SELECT COUNT(*) FROM copies c WHERE NOT EXISTS "
              "(SELECT 1 FROM batches b WHERE b.seq=c.batch_seq)").fetchone()[0]
        if n:
            problems.append(f"{n} copies belong to no batch")
        n = q("SELECT COUNT(*) FROM stories st WHERE merged_into IS NULL AND size != "
              "(SELECT COUNT(*) FROM snippets s WHERE s.story_id=st.id)").fetchone()[0]
        if n:
            problems.append(f"{n} stories have a wrong size")
        n = q("SELECT COUNT(*) FROM snippets WHERE batch_seq NOT IN (SELECT seq FROM batches)"
              ).fetchone()[0]
        if n:
            problems.append(f"{n} snippets belong to no batch")
        return problems

    def notes(self) -> list[str]:
        """What a stopped run left to do (not inconsistent: the same command again
        finishes it)."""
        return [f"batch {name!r} is partly stored ({records} records so far): run the same "
                "ingest again to finish it" for name, records in self.db.execute(
                    "SELECT name, records FROM batches WHERE complete=0 ORDER BY seq")]


def _snippet_row(r: sqlite3.Row) -> SnippetRow:
    return SnippetRow(id=r["id"], text=r["text"], truncated=bool(r["truncated"]),
                      batch_seq=r["batch_seq"], story_id=r["story_id"], novel=bool(r["novel"]))


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (none of ours holds a ';' in a literal)."""
    return [s.strip() for s in script.split(";") if s.strip()]
