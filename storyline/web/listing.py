"""The story list, one page at a time, with the number of stories on all pages.

:func:`list_page` returns the lines :func:`storyline.views.list_stories` returns, in the
same order (a test holds it to that), and how many stories match in all: it filters and
orders in SQL (no story row is built for the stories off the page) and reads the page's
timelines and sources in one pass, so a page of a large store costs the same as a page
of a small one.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from storyline.pipeline.describe import first_sentence
from storyline.store import Store
from storyline.types import DormancyRule, StorySummary, TimelineEntry
from storyline.views import NotFound

# The order views.list_stories gives: biggest first, then the latest news, then newest.
_ORDERED = """
SELECT st.id, st.size, st.headline_id, {summary}, st.first_seq, st.last_seq
FROM stories st
WHERE st.merged_into IS NULL AND st.size >= :min_size {where}
ORDER BY st.size DESC, st.last_seq DESC, st.id DESC
"""
# Timeline, arrivals and sources of the page's stories in one pass over their copies (the
# store's story_batch_counts and story_source_counts take one pass each).
_DETAILS = """
SELECT s.story_id, c.batch_seq, c.source, COUNT(*), SUM(c.kind = 'original')
FROM snippets s JOIN copies c ON c.snippet_id = s.id
WHERE s.story_id IN ({marks}) GROUP BY s.story_id, c.batch_seq, c.source
"""
_IN_BATCH = (" AND st.id IN (SELECT s.story_id FROM copies c JOIN snippets s "
             "ON s.id = c.snippet_id WHERE c.batch_seq = :batch_seq)")
# A story is dormant when its last batch is (Store.dormant_seqs, as views._status).
_ACTIVE = " AND st.last_seq NOT IN (SELECT value FROM json_each(:dormant))"
_DORMANT = " AND st.last_seq IN (SELECT value FROM json_each(:dormant))"
# Superset of the text filter (the headline is a part of its snippet's text); the exact
# test on the headline runs in Python on what this lets through.
_TEXT = (" AND (instr(storyline_lower(st.summary), :needle) OR instr(storyline_lower("
         "(SELECT text FROM snippets WHERE id = st.headline_id)), :needle))")


@dataclass
class _Row:
    id: int
    size: int
    headline_id: int | None
    summary: str
    first_seq: int
    last_seq: int


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def prepare(db: sqlite3.Connection) -> None:
    """Registers the SQL function the text filter needs (Unicode-aware, as str.lower)."""
    db.create_function("storyline_lower", 1, _lower, deterministic=True)


def list_page(
    store: Store, *, batch: str | None = None, status: str | None = None,
    text: str | None = None, limit: int | None = 50, offset: int = 0, min_size: int = 1,
    dormancy: DormancyRule = DormancyRule(),
) -> tuple[int, list[StorySummary]]:
    """(number of stories that match, the lines of the asked page), biggest first.

    Same arguments and the same lines as :func:`storyline.views.list_stories`; the
    connection must have been through :func:`prepare` for ``text``.
    """
    names = store.batch_names()
    dormant = store.dormant_seqs(dormancy)
    params: dict[str, object] = {"min_size": min_size, "dormant": json.dumps(sorted(dormant))}
    where = ""
    if batch is not None:
        found = store.batch(batch)
        if found is None:
            raise NotFound(f"no batch {batch!r}")
        where += _IN_BATCH
        params["batch_seq"] = found.seq
    if status == "active":
        where += _ACTIVE
    elif status == "dormant":
        where += _DORMANT
    elif status:
        return 0, []
    needle = (text or "").lower()
    if needle and "…" not in needle:  # "…" may be added by the headline's cut
        where += _TEXT
        params["needle"] = needle
    summary = "st.summary" if needle else "''"  # only the text filter reads it
    cursor = store.db.cursor()
    cursor.row_factory = None  # plain tuples: thousands of rows
    rows = [_Row(*r) for r in cursor.execute(_ORDERED.format(summary=summary, where=where),
                                             params)]
    headlines: dict[int, str] = {}
    if needle:
        kept = []
        for row in rows:
            headline = headlines[row.id] = _headline(store, row.headline_id)
            if needle in headline.lower() or needle in row.summary.lower():
                kept.append(row)
        rows = kept
    end = None if limit is None else offset + limit
    page = rows[offset:end]
    counts, sources = _details(store, [r.id for r in page])
    lines = [
        StorySummary(
            id=r.id,
            headline=headlines[r.id] if r.id in headlines else _headline(store, r.headline_id),
            size=r.size, copies=sum(c for c, _ in counts[r.id].values()),
            sources=len(sources[r.id]),
            first_batch=names.get(r.first_seq, ""), last_batch=names.get(r.last_seq, ""),
            status="dormant" if r.last_seq in dormant else "active",
            batches=[TimelineEntry(names[seq], c, n)
                     for seq, (c, n) in sorted(counts[r.id].items())],
        )
        for r in page
    ]
    return len(rows), lines


def _details(store: Store, ids: list[int]
             ) -> tuple[dict[int, dict[int, list[int]]], dict[int, set[str]]]:
    """Per story: {batch seq: [arrivals, new snippets]}, and its distinct sources."""
    counts: dict[int, dict[int, list[int]]] = {i: {} for i in ids}
    sources: dict[int, set[str]] = {i: set() for i in ids}
    if not ids:
        return counts, sources
    cursor = store.db.cursor()
    cursor.row_factory = None
    for start in range(0, len(ids), 900):  # within SQLite's bound on parameters
        chunk = ids[start:start + 900]
        rows = cursor.execute(_DETAILS.format(marks=",".join("?" * len(chunk))), chunk)
        for story, seq, source, n, new in rows:
            entry = counts[story].setdefault(seq, [0, 0])
            entry[0] += n
            entry[1] += new
            if source is not None:
                sources[story].add(source)
    return counts, sources


def _headline(store: Store, headline_id: int | None) -> str:
    snippet = store.snippet(headline_id) if headline_id else None
    return first_sentence(snippet.text) if snippet else ""
