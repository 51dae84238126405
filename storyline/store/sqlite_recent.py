"""The SQLite store's queries that keep the engine's memory bounded by the live stream.

A mixin of :class:`~storyline.store.sqlite.SQLiteStore`: the recent part of
stories, the window of near-copy signatures, exact keys at any age, follow-up
links and the embedding cells of the on-disk nearest-neighbour index
(storyline.pipeline.ivf).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np  # imported where vectors are read: listing stories needs none

from storyline.store.rows import StoryRow
from storyline.store.vectors import stacked

_CHUNK = 900  # bound parameters per statement (SQLite allows 999 by default)


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Snippets with their signature where it is still kept (none: recomputed from the text).
# The window's snippets through the batch index. Asked for them by id, newest first,
# SQLite walked the whole table from the newest back (it cannot know that no older row
# is in the window): 0.25 s at 2 M arrivals for every new process, and growing.
_SIGNED = ("SELECT s.id, s.batch_seq, g.minhash, s.text FROM snippets s INDEXED BY "
           "snippets_batch LEFT JOIN snippet_signatures g ON g.id = s.id")


class SQLiteRecent:
    """Needs ``self.db`` (a sqlite3 connection with Row rows)."""

    db = None  # set by the store

    # -- duplicates -------------------------------------------------------

    def snippet_ids_by_key(self, keys: list[str]) -> dict[str, int]:
        """Canonical snippets by comparison key, at any age (the unique index on key)."""
        out: dict[str, int] = {}
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            out.update((r[0], r[1]) for r in self.db.execute(
                f"SELECT key, id FROM snippets WHERE key IN ({marks})", chunk))
        return out

    def signature_rows_since(self, seq: int) -> list[tuple[int, int, bytes | None, str]]:
        """(id, batch seq, MinHash, text) of the snippets first seen from batch ``seq``."""
        return [tuple(r) for r in self.db.execute(
            f"{_SIGNED} WHERE s.batch_seq >= ? ORDER BY s.id", (seq,))]

    def latest_signature_rows(self, seq: int, limit: int
                              ) -> list[tuple[int, int, bytes | None, str]]:
        rows = self.db.execute(
            f"{_SIGNED} WHERE s.batch_seq >= ? ORDER BY s.id DESC LIMIT ?", (seq, limit)
        ).fetchall()
        return [tuple(r) for r in reversed(rows)]

    def live_member_count(self, dormant_seqs: Iterable[int], per_story: int) -> int:
        return self.db.execute(
            "SELECT COALESCE(SUM(MIN(size, ?)), 0) FROM stories "
            "WHERE last_seq IN (SELECT value FROM json_each(?)) AND merged_into IS NULL",
            (per_story, json.dumps(self.live_seqs(dormant_seqs)))).fetchone()[0]

    def recently_fed_stories(self, dormant_seqs: Iterable[int], since_id: int
                             ) -> list[StoryRow]:
        rows = self.db.execute(
            "SELECT s.id, s.merged_into, s.headline_id, s.summary, s.size, s.first_seq, "
            "s.last_seq FROM stories s JOIN (SELECT story_id, MAX(id) AS latest FROM snippets "
            "WHERE id >= ? AND story_id IS NOT NULL GROUP BY story_id) fed "
            "ON fed.story_id = s.id WHERE s.merged_into IS NULL "
            "AND s.last_seq IN (SELECT value FROM json_each(?)) ORDER BY fed.latest DESC",
            (since_id, json.dumps(self.live_seqs(dormant_seqs))))
        return [StoryRow(**dict(r)) for r in rows]

    def drop_signatures_before(self, seq: int) -> None:
        """Near copies are looked for in a window of recent batches only: older
        signatures are dead weight in the store."""
        self.db.execute("DELETE FROM snippet_signatures WHERE batch_seq < ?", (seq,))

    # -- the recent part of stories ----------------------------------------

    def recent_members(self, story_ids: list[int], per_story: int) -> list[tuple[int, int]]:
        """(snippet id, story id) of the latest ``per_story`` snippets of each story."""
        out: list[tuple[int, int]] = []
        for chunk in _chunks(story_ids):
            marks = ",".join("?" * len(chunk))
            out.extend((r[0], r[1]) for r in self.db.execute(
                "SELECT id, story_id FROM (SELECT id, story_id, ROW_NUMBER() OVER "
                "(PARTITION BY story_id ORDER BY id DESC) AS n FROM snippets "
                f"WHERE story_id IN ({marks})) WHERE n <= ?", [*chunk, per_story]))
        out.sort()
        return out

    def snippet_rows(self, snippet_ids: list[int]) -> dict:
        """SnippetRow by id, in one query per 900 ids (a batch's page reads thousands)."""
        from storyline.store.sqlite_reads import _snippet_row

        out = {}
        for chunk in _chunks(snippet_ids):
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(
                "SELECT id, text, truncated, batch_seq, story_id, novel FROM snippets "
                f"WHERE id IN ({marks})", chunk,
            ):
                out[r["id"]] = _snippet_row(r)
        return out

    # -- follow-ups ---------------------------------------------------------

    def follows(self, story_id: int) -> int | None:
        row = self.db.execute("SELECT follows FROM stories WHERE id=?", (story_id,)).fetchone()
        return row[0] if row else None

    def followed_by(self, story_id: int) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT id FROM stories WHERE follows=? AND merged_into IS NULL ORDER BY id",
            (story_id,))]

    # -- the embedding cells (storyline.pipeline.ivf) -----------------------

    def set_cells(self, rows: Iterable[tuple[int, int]]) -> None:
        """(snippet id, cell) pairs."""
        self.db.executemany("UPDATE snippets SET cell=? WHERE id=?",
                            ((int(c), int(s)) for s, c in rows))

    def embeddings_in_cells(self, cells: list[int], dim: int) -> tuple[list[int], np.ndarray]:
        marks = ",".join("?" * len(cells))
        return stacked(self.db.execute(
            f"SELECT id, embedding FROM snippets WHERE cell IN ({marks})", cells
        ), dim)

    def embedding_sample(self, limit: int, dim: int, step: int = 1
                         ) -> tuple[list[int], np.ndarray]:
        """The first ``limit`` stored embeddings of ids that are multiples of ``step``."""
        return stacked(self.db.execute(
            "SELECT id, embedding FROM snippets WHERE embedding IS NOT NULL AND id % ? = 0 "
            "ORDER BY id LIMIT ?", (step, limit),
        ), dim)

    def embeddings_after(self, after_id: int, limit: int, dim: int
                         ) -> tuple[list[int], np.ndarray]:
        return stacked(self.db.execute(
            "SELECT id, embedding FROM snippets WHERE id > ? AND embedding IS NOT NULL "
            "ORDER BY id LIMIT ?", (after_id, limit),
        ), dim)
