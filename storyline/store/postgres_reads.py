"""The PostgreSQL store's reads: every query that reads the store, as a mixin of
:class:`~storyline.store.postgres.PostgresStore` (which holds the connection, ``self.db``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from storyline.outlets import outlet_of
from storyline.store.base import COPIED_TABLES, damaged_facts_problem
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

_VERSION = ("SELECT (SELECT COALESCE(MAX(seq), 0) FROM batches), "
            "(SELECT COALESCE(MAX(id), 0) FROM copies), "
            "(SELECT COALESCE(MAX(id), 0) FROM stories), (SELECT COUNT(*) FROM merges)")
_BATCH = ("SELECT name, seq, digest, records, ingested_at, origin, clock, complete = 1, "
          "continues FROM batches")
# A copy's url matters to its outlet only where it names no source (storyline.outlets):
# grouping by it there alone keeps the rows few.
_OUTLET_URL = "CASE WHEN c.source IS NULL OR c.source !~ '\\S' THEN c.url END"
_SNIPPET = "SELECT id, text, truncated, batch_seq, story_id, novel FROM snippets"
_STORY = ("SELECT id, merged_into, headline_id, summary, size, first_seq, last_seq, headline "
          "FROM stories")
_COPY = ("SELECT id, snippet_id, batch_seq, position, kind, similarity, external_id, source, "
         "url, published_at, title, raw_text FROM copies")
_STORY_LIST = """
SELECT st.id, st.merged_into, st.headline_id, {summary}, st.size, st.first_seq, st.last_seq,
       st.headline, {lead}
FROM stories st
WHERE st.merged_into IS NULL AND st.size >= %(min_size)s {where}
ORDER BY st.size DESC, st.last_seq DESC, st.id DESC {page}
"""
_STORY_COUNT = ("SELECT COUNT(*) FROM stories st WHERE st.merged_into IS NULL "
                "AND st.size >= %(min_size)s {where}")
_BATCH_ARRIVALS = """
SELECT c.snippet_id, c.kind, s.story_id, s.novel, s.batch_seq
FROM copies c JOIN snippets s ON s.id = c.snippet_id
WHERE c.batch_seq = %s ORDER BY c.position
"""
_IN_BATCH = (" AND st.id IN (SELECT s.story_id FROM copies c JOIN snippets s "
             "ON s.id = c.snippet_id WHERE c.batch_seq = %(batch_seq)s)")
_ACTIVE = " AND st.last_seq = ANY(%(live)s)"
_DORMANT = " AND st.last_seq = ANY(%(dormant)s)"
_LIST_FILTERS = ListFilters(_IN_BATCH, _ACTIVE, _DORMANT)
_ARRIVALS = f"""
SELECT s.story_id, c.batch_seq, c.source, {_OUTLET_URL} AS url, COUNT(*),
       SUM(CASE WHEN c.kind = 'original' THEN 1 ELSE 0 END)
FROM snippets s JOIN copies c ON c.snippet_id = s.id
WHERE s.story_id = ANY(%s) GROUP BY s.story_id, c.batch_seq, c.source, url
"""
_SEARCH = """
SELECT id, -ts_rank_cd(words, query) FROM snippets, to_tsquery('simple', %s) query
WHERE words @@ query ORDER BY 2, id LIMIT %s
"""


class PostgresReads:
    """Every read of :class:`~storyline.store.postgres.PostgresStore`."""

    db: Any  # psycopg.Connection
    path: str

    def _rows(self, sql: str, params: Any = None) -> list[tuple]:
        return self.db.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Any = None) -> Any:
        return self.db.execute(sql, params).fetchone()[0]

    @property
    def schema_version(self) -> int:
        return self._one("SELECT version FROM schema_version")

    def get_state(self, name: str) -> bytes | str | int | None:
        from storyline.store.postgres import _state_value

        row = self.db.execute("SELECT value, kind FROM state WHERE name=%s", (name,)).fetchone()
        return _state_value(row[0], row[1]) if row else None

    def get_text_state(self, name: str) -> str | None:
        value = self.get_state(name)
        return None if value is None else (
            value.decode() if isinstance(value, bytes) else str(value))

    def batch(self, name: str) -> BatchRow | None:
        row = self.db.execute(_BATCH + " WHERE name=%s", (name,)).fetchone()
        return BatchRow(*row) if row else None

    def batches(self) -> list[BatchRow]:
        return [BatchRow(*r) for r in self._rows(_BATCH + " ORDER BY seq")]

    def continuations(self, name: str) -> list[BatchRow]:
        return [BatchRow(*r) for r in self._rows(_BATCH + " WHERE continues=%s ORDER BY seq",
                                                 (name,))]

    def batch_names(self) -> dict[int, str]:
        return dict(self._rows("SELECT seq, name FROM batches"))

    def next_batch_seq(self) -> int:
        return self._one("SELECT COALESCE(MAX(seq), 0) + 1 FROM batches")

    def dormant_seqs(self, rule: DormancyRule, now_seq: int | None = None) -> set[int]:
        """As the SQLite store's: by the batches' clocks, else by batch count."""
        batches = self._rows("SELECT seq, clock FROM batches ORDER BY seq")
        return dormant_batches(batches, rule, now_seq)

    def next_snippet_id(self) -> int:
        return self._one("SELECT COALESCE(MAX(id), 0) + 1 FROM snippets")

    def embeddings(self, snippet_ids: list[int], dim: int) -> np.ndarray:
        rows = self._rows("SELECT id, embedding FROM snippets WHERE id = ANY(%s)",
                          (list(snippet_ids),))
        return placed(rows, snippet_ids, dim)

    def all_embeddings(self, dim: int) -> tuple[list[int], np.ndarray]:
        return stacked(self._rows(
            "SELECT id, embedding FROM snippets WHERE embedding IS NOT NULL ORDER BY id"), dim)

    def snippet(self, snippet_id: int) -> SnippetRow | None:
        row = self.db.execute(_SNIPPET + " WHERE id=%s", (snippet_id,)).fetchone()
        return _snippet_row(row) if row else None

    def story_date_values(self, story_id: int) -> list[str]:
        return [r[0] for r in self._rows(
            "SELECT DISTINCT c.published_at FROM snippets s JOIN copies c "
            "ON c.snippet_id = s.id WHERE s.story_id=%s "
            "AND c.published_at IS NOT NULL AND c.published_at <> ''", (story_id,))]

    def story_snippets(self, story_id: int) -> list[SnippetRow]:
        return [_snippet_row(r) for r in self._rows(
            _SNIPPET + " WHERE story_id=%s ORDER BY batch_seq, id", (story_id,))]

    def members_of_stories(self, story_ids: list[int]) -> list[tuple[int, int]]:
        return [tuple(r) for r in self._rows(
            "SELECT id, story_id FROM snippets WHERE story_id = ANY(%s) ORDER BY id",
            (list(story_ids),))]

    def snippet_texts(self, snippet_ids: list[int]) -> dict[int, str]:
        return dict(self._rows("SELECT id, text FROM snippets WHERE id = ANY(%s)",
                               (list(snippet_ids),)))

    def copies_of(self, snippet_ids: list[int]) -> dict[int, list[CopyRow]]:
        out: dict[int, list[CopyRow]] = {sid: [] for sid in snippet_ids}
        for r in self._rows(_COPY + " WHERE snippet_id = ANY(%s) ORDER BY batch_seq, position",
                            (list(snippet_ids),)):
            out[r[1]].append(CopyRow(*r))
        return out

    def batch_copies(self, batch_seq: int) -> list[CopyRow]:
        return [CopyRow(*r) for r in self._rows(
            _COPY + " WHERE batch_seq=%s ORDER BY position", (batch_seq,))]

    def copy_stories(self) -> list[tuple[int, int, int, str, int | None]]:
        return [tuple(r) for r in self._rows(
            "SELECT c.batch_seq, c.position, c.snippet_id, c.kind, s.story_id FROM copies c "
            "JOIN snippets s ON s.id = c.snippet_id ORDER BY c.batch_seq, c.position")]

    def known_links(self) -> set[str]:
        rows = self._rows("SELECT url, external_id FROM copies "
                          "WHERE url IS NOT NULL OR external_id IS NOT NULL")
        return {value for row in rows for value in row if value}

    def search_text(self, query: str, limit: int) -> list[tuple[int, float]]:
        """Full-text matches (snippet id, minus ts_rank_cd: lower is better): every word,
        else any of them (as the SQLite store)."""
        terms = [t for t in "".join(c if c.isalnum() else " " for c in query).split() if t]
        if not terms:
            return []
        rows = self._rows(_SEARCH, (" & ".join(terms), limit))
        if not rows:
            rows = self._rows(_SEARCH, (" | ".join(terms), limit))
        return [(r[0], float(r[1])) for r in rows]

    def has_snippets(self) -> bool:
        return self._one("SELECT EXISTS(SELECT 1 FROM snippets)")

    def facts_of(self, snippet_ids: list[int]) -> dict[int, str]:
        return dict(self._rows("SELECT snippet_id, data FROM facts WHERE snippet_id = ANY(%s)",
                               (list(snippet_ids),)))

    def story(self, story_id: int) -> StoryRow | None:
        row = self.db.execute(_STORY + " WHERE id=%s", (story_id,)).fetchone()
        return StoryRow(*row) if row else None

    def stories_of(self, story_ids: list[int]) -> dict[int, StoryRow]:
        return {r[0]: StoryRow(*r) for r in self._rows(_STORY + " WHERE id = ANY(%s)",
                                                       (list(story_ids),))}

    def resolve_many(self, story_ids: Iterable[int]) -> dict[int, int]:
        """As the SQLite store's: one read per step of the longest chain of merges."""
        return follow_merges(set(story_ids), lambda ids: dict(self._rows(
            "SELECT id, merged_into FROM stories WHERE id = ANY(%s)", (ids,))))

    def batch_arrivals(self, batch_seq: int) -> list[tuple[int, str, int, bool, int]]:
        return [(sid, kind, story, bool(novel), first) for sid, kind, story, novel, first
                in self._rows(_BATCH_ARRIVALS, (batch_seq,))]

    def live_stories(self, dormant_seqs: Iterable[int] = ()) -> list[StoryRow]:
        return [StoryRow(*r) for r in self._rows(
            _STORY + " WHERE last_seq = ANY(%s) AND merged_into IS NULL ORDER BY id",
            (self.live_seqs(dormant_seqs),))]

    def merged_from(self, story_id: int) -> list[int]:
        return [r[0] for r in self._rows(
            "SELECT absorbed FROM merges WHERE into_id=%s ORDER BY batch_seq, absorbed",
            (story_id,))]

    def merges(self) -> list[tuple[int, int, int, float]]:
        return [tuple(r) for r in self._rows(
            "SELECT absorbed, into_id, batch_seq, similarity FROM merges ORDER BY id")]

    def story_batch_counts(self, story_ids: list[int]) -> dict[int, list[tuple[int, int, int]]]:
        out: dict[int, list[tuple[int, int, int]]] = {sid: [] for sid in story_ids}
        for story_id, seq, count, new in self._rows(
                "SELECT s.story_id, c.batch_seq, COUNT(*), "
                "SUM(CASE WHEN c.kind='original' THEN 1 ELSE 0 END) "
                "FROM copies c JOIN snippets s ON s.id=c.snippet_id "
                "WHERE s.story_id = ANY(%s) GROUP BY s.story_id, c.batch_seq "
                "ORDER BY s.story_id, c.batch_seq", (list(story_ids),)):
            out[story_id].append((seq, count, int(new)))
        return out

    def stories_in_batch(self, batch_seq: int) -> set[int]:
        return {r[0] for r in self._rows(
            "SELECT DISTINCT s.story_id FROM copies c JOIN snippets s ON s.id=c.snippet_id "
            "WHERE c.batch_seq=%s", (batch_seq,))}

    def story_source_counts(self, story_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
        """As the SQLite store's: copies counted by outlet (storyline.outlets), which is
        worked out here rather than in SQL."""
        totals: dict[int, Counter[str]] = {sid: Counter() for sid in story_ids}
        for story_id, source, url, count in self._rows(
                f"SELECT s.story_id, c.source, {_OUTLET_URL} AS url, COUNT(*) FROM copies c "
                "JOIN snippets s ON s.id=c.snippet_id WHERE s.story_id = ANY(%s) "
                "GROUP BY s.story_id, c.source, url", (list(story_ids),)):
            outlet = outlet_of(source, url)
            if outlet is not None:
                totals[story_id][outlet] += count
        return {sid: sorted(c.items(), key=lambda item: (-item[1], item[0]))
                for sid, c in totals.items()}

    def notes(self) -> list[str]:
        return [f"batch {name!r} is partly stored ({records} records so far): run the same "
                "ingest again to finish it" for name, records in self._rows(
                    "SELECT name, records FROM batches WHERE complete=0 ORDER BY seq")]

    def snippet_text_chunks(self, size: int = 10_000) -> Iterator[list[str]]:
        last = 0
        while True:
            rows = self._rows("SELECT id, text FROM snippets WHERE id > %s ORDER BY id "
                              "LIMIT %s", (last, size))
            if not rows:
                return
            last = rows[-1][0]
            yield [r[1] for r in rows]

    def snippets_without_facts(self, limit: int | None = None) -> list[int]:
        return [r[0] for r in self._rows(
            "SELECT id FROM snippets s WHERE NOT EXISTS (SELECT 1 FROM facts f "
            "WHERE f.snippet_id=s.id) ORDER BY id LIMIT %s", (limit,))]

    def counts(self) -> dict[str, int]:
        return dict(zip(("batches", "snippets", "copies", "stories", "merges"), self.db.execute(
            "SELECT (SELECT COUNT(*) FROM batches), (SELECT COUNT(*) FROM snippets), "
            "(SELECT COUNT(*) FROM copies), "
            "(SELECT COUNT(*) FROM stories WHERE merged_into IS NULL), "
            "(SELECT COUNT(*) FROM merges)").fetchone()))

    def size_bytes(self) -> int:
        """The server's bytes for the storyline tables, each with its indexes and TOAST
        (not the rest of the database, which may hold other things)."""
        tables = [*COPIED_TABLES, "schema_version"]
        return int(self.db.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(to_regclass(name))), 0) "
            "FROM unnest(%s::text[]) AS name", (tables,)).fetchone()[0])

    def check(self) -> list[str]:
        """Consistency problems, if any (an empty list means consistent)."""
        problems = []
        for what, sql in CONSISTENCY_CHECKS:
            n = self._one(sql)
            if n:
                problems.append(f"{n} {what}")
        damaged = damaged_facts_problem(self._damaged_facts())
        return problems + ([damaged] if damaged else [])

    def _damaged_facts(self) -> list[int]:
        """Snippets whose stored facts are no JSON object. Read here, a page at a time:
        this server's version has no JSON test for text (PostgreSQL 16's IS JSON)."""
        import json

        damaged = []
        with self.snapshot(), self.db.cursor(name="check_facts") as cur:
            cur.itersize = 5_000
            cur.execute("SELECT snippet_id, data FROM facts ORDER BY snippet_id")
            for snippet_id, data in cur:
                try:
                    value = json.loads(data)
                except (TypeError, ValueError):
                    value = None
                if not isinstance(value, dict):
                    damaged.append(snippet_id)
        return damaged

    def version(self) -> tuple[int, ...]:
        return tuple(self.db.execute(_VERSION).fetchone())

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction (repeatable read): every read inside sees the same state."""
        if self.db.info.transaction_status != 0:  # already in a transaction: join it
            yield
            return
        self.db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield
        finally:
            self.db.execute("ROLLBACK")

    def story_list(self, *, min_size: int = 1, batch_seq: int | None = None,
                   dormant: Iterable[int] = (), status: str | None = None,
                   needle: str | None = None, limit: int | None = None,
                   offset: int = 0) -> list[StoryRow]:
        """As the SQLite store's; the text filter is applied here, with str.lower (the
        server's lower() depends on its locale), and the page cut after it."""
        where, params = self._filters(min_size, batch_seq, dormant, status)
        page = ""
        if not needle:
            page = "LIMIT %(limit)s OFFSET %(offset)s"
            params.update(limit=limit, offset=offset)
        sql = _STORY_LIST.format(
            summary="st.summary" if needle is not None else "''", where=where, page=page,
            lead="(SELECT text FROM snippets WHERE id = st.headline_id)" if needle
            else "NULL")
        rows = self._rows(sql, params)
        if needle:
            rows = [r for r in rows if needle in (r[3] or "").lower()
                    or needle in (r[8] or "").lower()]
            rows = rows[offset:None if limit is None else offset + limit]
        return [StoryRow(*r[:8]) for r in rows]

    def story_count(self, *, min_size: int = 1, batch_seq: int | None = None,
                    dormant: Iterable[int] = (), status: str | None = None) -> int:
        where, params = self._filters(min_size, batch_seq, dormant, status)
        return self._one(_STORY_COUNT.format(where=where), params)

    def _filters(self, min_size: int, batch_seq: int | None, dormant: Iterable[int],
                 status: str | None) -> tuple[str, dict[str, object]]:
        """The story list's WHERE clauses past its first, and their parameters."""
        dormant = sorted(dormant)
        live = self.live_seqs(dormant) if status == "active" else []
        return _LIST_FILTERS.where(min_size, batch_seq, dormant, live, status)

    def story_arrivals(self, story_ids: list[int]
                       ) -> tuple[dict[int, dict[int, list[int]]], dict[int, set[str]]]:
        return fold_arrivals(story_ids, self._rows(_ARRIVALS, (list(story_ids),)))


def _snippet_row(r: tuple) -> SnippetRow:
    return SnippetRow(id=r[0], text=r[1], truncated=bool(r[2]), batch_seq=r[3],
                      story_id=r[4], novel=bool(r[5]))


__all__ = ["PostgresReads"]
