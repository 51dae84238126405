"""The PostgreSQL store's queries that keep the engine's memory bounded by the live
stream (as :mod:`storyline.store.sqlite_recent`): the recent part of stories, the window
of near-copy signatures, exact keys at any age, follow-up links and the embedding cells
of the on-disk nearest-neighbour index (storyline.pipeline.ivf). A mixin of
:class:`~storyline.store.postgres.PostgresStore`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from storyline.store.rows import SnippetRow, StoryRow
from storyline.store.vectors import stacked

if TYPE_CHECKING:
    import numpy as np

_SNIPPET = "SELECT id, text, truncated, batch_seq, story_id, novel FROM snippets"

# As SQLite's, without its index hint: PostgreSQL's planner takes the batch index itself.
_SIGNED = ("SELECT s.id, s.batch_seq, g.minhash, s.text FROM snippets s "
           "LEFT JOIN snippet_signatures g ON g.id = s.id")


def _row(r: tuple) -> SnippetRow:
    return SnippetRow(id=r[0], text=r[1], truncated=bool(r[2]), batch_seq=r[3],
                      story_id=r[4], novel=bool(r[5]))


# The probed cells in their order, each with how many embeddings the cells before it
# hold; those with fewer than the budget before them are read (Store's loop, in SQL).
# Each cell is counted once, in a lateral join (the count as a subquery was run twice
# a cell, and the whole took twice as long).
_NEAREST_CELLS = """
WITH probed AS (
    SELECT p.cell, p.rank, counted.n
    FROM unnest(%(cells)s::int[]) WITH ORDINALITY AS p(cell, rank)
    CROSS JOIN LATERAL (SELECT COUNT(*) AS n FROM snippets s WHERE s.cell = p.cell) counted),
chosen AS (
    SELECT cell, rank FROM (
        SELECT cell, rank, SUM(n) OVER (ORDER BY rank) - n AS before FROM probed) running
    WHERE before < %(budget)s)
SELECT s.id, s.embedding FROM chosen JOIN snippets s ON s.cell = chosen.cell
ORDER BY chosen.rank
"""


class PostgresRecent:
    """Needs ``self.db`` (a psycopg connection in autocommit mode)."""

    db: Any

    def snippet_ids_by_key(self, keys: list[str]) -> dict[str, int]:
        return dict(self.db.execute("SELECT key, id FROM snippets WHERE key = ANY(%s)",
                                    (list(keys),)).fetchall())

    def signature_rows_since(self, seq: int) -> list[tuple[int, int, bytes | None, str]]:
        return [(i, s, None if m is None else bytes(m), t) for i, s, m, t in self.db.execute(
            f"{_SIGNED} WHERE s.batch_seq >= %s ORDER BY s.id", (seq,)).fetchall()]

    def latest_signature_rows(self, seq: int, limit: int
                              ) -> list[tuple[int, int, bytes | None, str]]:
        rows = self.db.execute(
            f"{_SIGNED} WHERE s.batch_seq >= %s ORDER BY s.id DESC LIMIT %s", (seq, limit)
        ).fetchall()
        return [(i, s, None if m is None else bytes(m), t) for i, s, m, t in reversed(rows)]

    def live_member_count(self, dormant_seqs: Iterable[int], per_story: int) -> int:
        return int(self.db.execute(
            "SELECT COALESCE(SUM(LEAST(size, %s)), 0) FROM stories "
            "WHERE last_seq = ANY(%s) AND merged_into IS NULL",
            (per_story, self.live_seqs(dormant_seqs))).fetchone()[0])

    def recently_fed_stories(self, dormant_seqs: Iterable[int], since_id: int
                             ) -> list[StoryRow]:
        return [StoryRow(*r) for r in self.db.execute(
            "SELECT s.id, s.merged_into, s.headline_id, s.summary, s.size, s.first_seq, "
            "s.last_seq FROM stories s JOIN (SELECT story_id, MAX(id) AS latest FROM snippets "
            "WHERE id >= %s AND story_id IS NOT NULL GROUP BY story_id) fed "
            "ON fed.story_id = s.id WHERE s.merged_into IS NULL "
            "AND s.last_seq = ANY(%s) ORDER BY fed.latest DESC",
            (since_id, self.live_seqs(dormant_seqs))).fetchall()]

    def drop_signatures_before(self, seq: int) -> None:
        self.db.execute("DELETE FROM snippet_signatures WHERE batch_seq < %s", (seq,))

    def recent_members(self, story_ids: list[int], per_story: int) -> list[tuple[int, int]]:
        return [tuple(r) for r in self.db.execute(
            "SELECT id, story_id FROM (SELECT id, story_id, ROW_NUMBER() OVER "
            "(PARTITION BY story_id ORDER BY id DESC) AS n FROM snippets "
            "WHERE story_id = ANY(%s)) recent WHERE n <= %s ORDER BY id",
            (list(story_ids), per_story)).fetchall()]

    def snippet_rows(self, snippet_ids: list[int]) -> dict[int, SnippetRow]:
        return {r[0]: _row(r) for r in self.db.execute(
            _SNIPPET + " WHERE id = ANY(%s)", (list(snippet_ids),)).fetchall()}

    def follows(self, story_id: int) -> int | None:
        row = self.db.execute("SELECT follows FROM stories WHERE id=%s", (story_id,)).fetchone()
        return row[0] if row else None

    def followed_by(self, story_id: int) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT id FROM stories WHERE follows=%s AND merged_into IS NULL ORDER BY id",
            (story_id,)).fetchall()]

    def set_cells(self, rows: Iterable[tuple[int, int]]) -> None:
        # One statement for all: the cells drawn again file every snippet, 10,000 a call.
        pairs = [(int(s), int(c)) for s, c in rows]
        if pairs:
            self.db.execute(
                "UPDATE snippets SET cell = v.cell FROM unnest(%s::bigint[], %s::int[]) "
                "AS v(id, cell) WHERE snippets.id = v.id",
                ([s for s, _ in pairs], [c for _, c in pairs]))

    def embeddings_in_cells(self, cells: list[int], dim: int) -> tuple[list[int], np.ndarray]:
        return stacked(self.db.execute(
            "SELECT id, embedding FROM snippets WHERE cell = ANY(%s)",
            ([int(c) for c in cells],)).fetchall(), dim)

    def embeddings_of_nearest_cells(self, cells: list[int], dim: int, budget: int
                                    ) -> tuple[list[int], np.ndarray]:
        # What the loop of Store's method reads, in one round trip instead of one a cell
        # (33 at 2 M snippets), the embeddings as raw bytes (binary, not hex): 151 -> 122 ms.
        with self.db.cursor(binary=True) as cursor:
            return stacked(cursor.execute(_NEAREST_CELLS, {
                "cells": [int(c) for c in cells], "budget": int(budget)}).fetchall(), dim)

    def embedding_sample(self, limit: int, dim: int, step: int = 1
                         ) -> tuple[list[int], np.ndarray]:
        return stacked(self.db.execute(
            "SELECT id, embedding FROM snippets WHERE embedding IS NOT NULL AND id %% %s = 0 "
            "ORDER BY id LIMIT %s", (step, limit)).fetchall(), dim)

    def embeddings_after(self, after_id: int, limit: int, dim: int
                         ) -> tuple[list[int], np.ndarray]:
        return stacked(self.db.execute(
            "SELECT id, embedding FROM snippets WHERE id > %s AND embedding IS NOT NULL "
            "ORDER BY id LIMIT %s", (after_id, limit)).fetchall(), dim)
