"""The SQLite store's reads: every query that reads the store, as a mixin of
:class:`~storyline.store.sqlite.SQLiteStore` (which holds the connection, ``self.db``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from storyline.store.base import damaged_facts_problem
from storyline.store.rows import (
    CONSISTENCY_CHECKS,
    BatchRow,
    CopyRow,
    ListFilters,
    SnippetRow,
    StoryRow,
    dormant_batches,
    fold_arrivals,
    follow_merges,
)
from storyline.store.vectors import placed, stacked
from storyline.types import DormancyRule

if TYPE_CHECKING:
    import numpy as np

# What the store holds, in one value: every ingest adds a batch and copies, and maybe
# stories and merges (its snippets, embeddings, descriptions and facts are written in
# the same transaction), so this changes with every write a reader can see.
_VERSION = ("SELECT (SELECT COALESCE(MAX(seq), 0) FROM batches), "
            "(SELECT COALESCE(MAX(id), 0) FROM copies), "
            "(SELECT COALESCE(MAX(id), 0) FROM stories), (SELECT COUNT(*) FROM merges)")
# The story list, biggest first, then the latest news, then newest; filters are added.
_STORY_COLUMNS = "id, merged_into, headline_id, summary, size, first_seq, last_seq, headline"
# The story list, biggest first, then the latest news, then newest (index stories_list);
# filters are added, and a page is cut by LIMIT/OFFSET.
_STORY_LIST = """
SELECT st.id, st.merged_into, st.headline_id, {summary}, st.size, st.first_seq, st.last_seq,
       st.headline
FROM stories st
WHERE st.merged_into IS NULL AND st.size >= :min_size {where}
ORDER BY st.size DESC, st.last_seq DESC, st.id DESC LIMIT :limit OFFSET :offset
"""
_STORY_COUNT = ("SELECT COUNT(*) FROM stories st WHERE st.merged_into IS NULL "
                "AND st.size >= :min_size {where}")
_BATCH_ARRIVALS = """
SELECT c.snippet_id, c.kind, s.story_id, s.novel, s.batch_seq
FROM copies c JOIN snippets s ON s.id = c.snippet_id
WHERE c.batch_seq = ? ORDER BY c.position
"""
_IN_BATCH = (" AND st.id IN (SELECT s.story_id FROM copies c JOIN snippets s "
             "ON s.id = c.snippet_id WHERE c.batch_seq = :batch_seq)")
_ACTIVE = " AND st.last_seq IN (SELECT value FROM json_each(:live))"
_DORMANT = " AND st.last_seq IN (SELECT value FROM json_each(:dormant))"
_LIST_FILTERS = ListFilters(_IN_BATCH, _ACTIVE, _DORMANT)
# A superset of the text filter (a headline is a part of its snippet's text): the caller
# tests the headline itself on what this lets through.
_TEXT = (" AND (instr(storyline_lower(st.summary), :needle) OR instr(storyline_lower("
         "(SELECT text FROM snippets WHERE id = st.headline_id)), :needle))")
# Arrivals and sources of a page's stories in one pass over their copies, grouped by
# source (and by url only where no source is given) before the outlet is worked out:
# a call into Python per copy cost more than the query.
_ARRIVALS = """
SELECT s.story_id, c.batch_seq, c.source,
       CASE WHEN trim(COALESCE(c.source, ''), ' ' || char(9, 10, 11, 12, 13, 160)) = ''
       THEN c.url END AS url, COUNT(*), SUM(c.kind = 'original')
FROM snippets s JOIN copies c ON c.snippet_id = s.id
WHERE s.story_id IN ({marks}) GROUP BY s.story_id, c.batch_seq, c.source, url
"""


def lower(value: str | None) -> str | None:
    """``str.lower`` as an SQL function (SQLite's own lower() knows ASCII only)."""
    return None if value is None else value.lower()


class SQLiteReads:
    """Every read of :class:`~storyline.store.sqlite.SQLiteStore`."""

    db: sqlite3.Connection

    @property
    def schema_version(self) -> int:
        return self.db.execute("SELECT version FROM schema_version").fetchone()[0]

    def get_state(self, name: str) -> bytes | None:
        row = self.db.execute("SELECT value FROM state WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def get_text_state(self, name: str) -> str | None:
        """A state value stored as text (set_state keeps str as given, bytes as bytes)."""
        value = self.get_state(name)
        return None if value is None else (
            value.decode() if isinstance(value, bytes) else str(value))

    def batch(self, name: str) -> BatchRow | None:
        row = self.db.execute("SELECT * FROM batches WHERE name=?", (name,)).fetchone()
        return BatchRow(**dict(row)) if row else None

    def batches(self) -> list[BatchRow]:
        return [BatchRow(**dict(r)) for r in self.db.execute("SELECT * FROM batches ORDER BY seq")]

    def continuations(self, name: str) -> list[BatchRow]:
        return [BatchRow(**dict(r)) for r in self.db.execute(
            "SELECT * FROM batches WHERE continues=? ORDER BY seq", (name,))]

    def batch_names(self) -> dict[int, str]:
        return {r[0]: r[1] for r in self.db.execute("SELECT seq, name FROM batches")}

    def next_batch_seq(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM batches").fetchone()[0]

    def dormant_seqs(self, rule: DormancyRule, now_seq: int | None = None) -> set[int]:
        """The batches whose stories are dormant for stored batch ``now_seq``, by
        its clock (a story is as old as the last batch that brought it news).
        Without ``now_seq``: for the next batch, on the last stored one's clock."""
        batches = self.db.execute("SELECT seq, clock FROM batches ORDER BY seq").fetchall()
        return dormant_batches(batches, rule, now_seq)

    def next_snippet_id(self) -> int:
        """The id the next added snippet gets (ids are handed out in order, so a
        batch can number its snippets before writing them all at once)."""
        return self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM snippets").fetchone()[0]

    def embeddings(self, snippet_ids: list[int], dim: int) -> np.ndarray:
        """Stored embeddings in the order asked (zero rows where none is stored)."""

        rows = [row for chunk in _chunks(snippet_ids, 900) for row in self.db.execute(
            f"SELECT id, embedding FROM snippets WHERE id IN ({','.join('?' * len(chunk))})",
            chunk)]
        return placed(rows, snippet_ids, dim)

    def snippet(self, snippet_id: int) -> SnippetRow | None:
        row = self.db.execute(
            "SELECT id, text, truncated, batch_seq, story_id, novel FROM snippets WHERE id=?",
            (snippet_id,),
        ).fetchone()
        return _snippet_row(row) if row else None

    def story_date_values(self, story_id: int) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT c.published_at FROM snippets s "
            "JOIN copies c ON c.snippet_id = s.id WHERE s.story_id=? "
            "AND c.published_at IS NOT NULL AND c.published_at <> ''", (story_id,))]

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
        return stacked(self.db.execute(
            "SELECT id, embedding FROM snippets WHERE embedding IS NOT NULL"), dim)

    def facts_of(self, snippet_ids: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in _chunks(snippet_ids, 900):
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(
                f"SELECT snippet_id, data FROM facts WHERE snippet_id IN ({marks})", chunk))
        return out

    def story(self, story_id: int) -> StoryRow | None:
        row = self.db.execute(f"SELECT {_STORY_COLUMNS} FROM stories WHERE id=?",
                              (story_id,)).fetchone()
        return StoryRow(**dict(row)) if row else None

    def stories_of(self, story_ids: list[int]) -> dict[int, StoryRow]:
        out: dict[int, StoryRow] = {}
        for chunk in _chunks(list(story_ids), 900):
            marks = ",".join("?" * len(chunk))
            out.update((r["id"], StoryRow(**dict(r))) for r in self.db.execute(
                f"SELECT {_STORY_COLUMNS} FROM stories WHERE id IN ({marks})", chunk))
        return out

    def resolve_many(self, story_ids: Iterable[int]) -> dict[int, int]:
        """The live story each id stands for now: one read per step of the longest
        chain of merges, not one per id."""
        return follow_merges(set(story_ids), self._merged_into)

    def _merged_into(self, story_ids: list[int]) -> dict[int, int | None]:
        out: dict[int, int | None] = {}
        for chunk in _chunks(story_ids, 900):
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(
                f"SELECT id, merged_into FROM stories WHERE id IN ({marks})", chunk))
        return out

    def batch_arrivals(self, batch_seq: int) -> list[tuple[int, str, int, bool, int]]:
        cursor = self.db.cursor()
        cursor.row_factory = None
        return [(sid, kind, story, bool(novel), first)
                for sid, kind, story, novel, first in cursor.execute(_BATCH_ARRIVALS,
                                                                       (batch_seq,))]

    def live_stories(self, dormant_seqs: Iterable[int] = ()) -> list[StoryRow]:
        """Stories not merged away, but for those last seen in ``dormant_seqs``."""
        rows = self.db.execute(
            f"SELECT {_STORY_COLUMNS} FROM stories "
            "WHERE last_seq IN (SELECT value FROM json_each(?)) AND merged_into IS NULL "
            "ORDER BY id",
            (json.dumps(self.live_seqs(dormant_seqs)),),
        )
        return [StoryRow(**dict(r)) for r in rows]

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
                "SELECT s.story_id, storyline_outlet(c.source, c.url) AS outlet, COUNT(*) "
                "FROM copies c JOIN snippets s ON s.id=c.snippet_id "
                f"WHERE s.story_id IN ({marks}) AND outlet IS NOT NULL "
                "GROUP BY s.story_id, outlet ORDER BY s.story_id, COUNT(*) DESC, outlet",
                chunk,
            )
            for story_id, source, count in rows:
                out[story_id].append((source, count))
        return out

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

    def size_bytes(self) -> int:
        """The database file and its write-ahead log (what the store holds on disk now;
        once the last connection closes, the log is folded into the file)."""
        files = (self.path, self.path.with_name(self.path.name + "-wal"))
        return sum(f.stat().st_size for f in files if f.exists())

    def check(self) -> list[str]:
        """Consistency problems, if any (an empty list means consistent)."""
        q = self.db.execute
        problems = []
        if q("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append("sqlite integrity check failed")
        for what, sql in CONSISTENCY_CHECKS:
            n = q(sql).fetchone()[0]
            if n:
                problems.append(f"{n} {what}")
        damaged = damaged_facts_problem([r[0] for r in q(
            "SELECT snippet_id FROM facts WHERE NOT json_valid(data) "
            "OR json_type(data) != 'object' ORDER BY snippet_id")])
        return problems + ([damaged] if damaged else [])

    def notes(self) -> list[str]:
        return [f"batch {name!r} is partly stored ({records} records so far): run the same "
                "ingest again to finish it" for name, records in self.db.execute(
                    "SELECT name, records FROM batches WHERE complete=0 ORDER BY seq")]

    def snippet_text_chunks(self, size: int = 10_000) -> Iterator[list[str]]:
        last = 0
        while True:
            rows = self.db.execute("SELECT id, text FROM snippets WHERE id > ? ORDER BY id "
                                   "LIMIT ?", (last, size)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [r[1] for r in rows]

    def snippets_without_facts(self, limit: int | None = None) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT id FROM snippets s WHERE NOT EXISTS (SELECT 1 FROM facts f "
            "WHERE f.snippet_id=s.id) ORDER BY id LIMIT ?", (-1 if limit is None else limit,))]


    # -- versions, snapshots, the story list --------------------------------

    def version(self) -> tuple[int, ...]:
        """A value that changes with every write a reader can see (see ``_VERSION``)."""
        return tuple(self.db.execute(_VERSION).fetchone())

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction: every read inside sees the same state of the store,
        even while another connection commits a batch."""
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN")  # deferred: the snapshot is taken at the first read
        try:
            yield
        finally:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")  # read-only: nothing to keep

    def known_links(self) -> set[str]:
        """Every url and external id of a copy in the store."""
        rows = self.db.execute("SELECT url, external_id FROM copies "
                               "WHERE url IS NOT NULL OR external_id IS NOT NULL")
        return {value for row in rows for value in row if value}

    def story_list(self, *, min_size: int = 1, batch_seq: int | None = None,
                   dormant: Iterable[int] = (), status: str | None = None,
                   needle: str | None = None, limit: int | None = None,
                   offset: int = 0) -> list[StoryRow]:
        """Live stories of at least ``min_size`` snippets, biggest first (then the latest
        news, then newest), ``limit`` of them from ``offset``: only those touched by batch
        ``batch_seq``, those ``active`` or ``dormant`` (last seen in a ``dormant``
        batch), those whose summary or headline snippet holds ``needle`` (lower case).
        ``summary`` is read only when ``needle`` is not None (else empty: thousands of
        rows); ``""`` reads it without filtering."""
        where, params = self._filters(min_size, batch_seq, dormant, status)
        if needle:
            where += _TEXT
            params["needle"] = needle
        params.update(limit=-1 if limit is None else limit, offset=offset)
        cursor = self.db.cursor()
        cursor.row_factory = None  # plain tuples: thousands of rows
        summary = "st.summary" if needle is not None else "''"
        sql = _STORY_LIST.format(summary=summary, where=where)
        return [StoryRow(*row) for row in cursor.execute(sql, params)]

    def story_count(self, *, min_size: int = 1, batch_seq: int | None = None,
                    dormant: Iterable[int] = (), status: str | None = None) -> int:
        where, params = self._filters(min_size, batch_seq, dormant, status)
        return self.db.execute(_STORY_COUNT.format(where=where), params).fetchone()[0]

    def _filters(self, min_size: int, batch_seq: int | None, dormant: Iterable[int],
                 status: str | None) -> tuple[str, dict[str, object]]:
        """The story list's WHERE clauses past its first, and their parameters."""
        dormant = sorted(dormant)
        live = self.live_seqs(dormant) if status == "active" else []
        return _LIST_FILTERS.where(min_size, batch_seq, json.dumps(dormant), json.dumps(live),
                                   status)

    def story_arrivals(self, story_ids: list[int]
                       ) -> tuple[dict[int, dict[int, list[int]]], dict[int, set[str]]]:
        """Per story: {batch seq: [arrivals, new snippets]}, and its distinct sources."""
        cursor = self.db.cursor()
        cursor.row_factory = None
        return fold_arrivals(story_ids, (
            row for chunk in _chunks(story_ids, 900)
            for row in cursor.execute(_ARRIVALS.format(marks=",".join("?" * len(chunk))),
                                      chunk)))


def _snippet_row(r: sqlite3.Row) -> SnippetRow:
    return SnippetRow(id=r["id"], text=r["text"], truncated=bool(r["truncated"]),
                      batch_seq=r["batch_seq"], story_id=r["story_id"], novel=bool(r["novel"]))


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
