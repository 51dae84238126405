"""The JSON shapes: one per object, written the same by ``storyline ... --json`` and the
HTTP API under ``/api`` (tests/test_shapes.py pairs them; docs/glossary.md names the
keys).

Every list a user can ask for comes in an envelope that says what was asked (``total``,
``limit``, ``offset`` where it pages); a snippet is keyed ``snippet_id``, a copy
``copy_id``, a story ``id`` on itself and ``story_id`` elsewhere; whole numbers are
written as whole numbers (a fact's value 2 is ``2``, never ``2.0``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

from storyline.types import IngestReport, SearchHit, StoryChanges, StoryDetail

# What a batch says about itself, in this order (its digest and origin stay in the store:
# an origin is a path on the machine that ingested it).
BATCH_KEYS = ("name", "seq", "records", "clock", "ingested_at", "continues")


_SCALARS = (str, int, type(None))  # bool is an int


def plain(obj: Any) -> Any:
    """``obj`` as JSON types: dataclasses and models become objects, tuples lists, and a
    float with a whole value an int.

    >>> plain({"n": 2.0, "pair": (1, 0.5)})
    {'n': 2, 'pair': [1, 0.5]}
    """
    # Cheapest tests first: a story list is tens of thousands of scalars.
    if isinstance(obj, _SCALARS):
        return obj
    if isinstance(obj, float):
        return int(obj) if math.isfinite(obj) and obj.is_integer() else obj
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if is_dataclass(obj) and not isinstance(obj, type):
        # Field by field, not asdict(): that deep-copies every value first.
        return {f.name: plain(getattr(obj, f.name)) for f in fields(obj)}
    if hasattr(obj, "model_dump"):
        return plain(obj.model_dump())
    return obj


def dumps(obj: Any) -> str:
    """The JSON text of a shape, as the CLI prints it."""
    return json.dumps(plain(obj), ensure_ascii=False, indent=2)


def batch(row: Any) -> dict[str, Any]:
    """A batch (a store's ``BatchRow``, or anything with the same attributes)."""
    return {key: getattr(row, key, None) for key in BATCH_KEYS}


def batch_list(rows: list) -> dict[str, Any]:
    return {"batches": [batch(r) for r in rows]}


def story_list(total: int, limit: int | None, offset: int, stories: list) -> dict[str, Any]:
    return {"total": total, "limit": limit, "offset": offset, "stories": plain(stories)}


# Bounds of the numbers the CLI and the HTTP API take: a story id past MAX_ID is no id
# (and would overflow the stores' integers); a page or offset past MAX_COUNT, no page.
MAX_ID = 2**53
MAX_COUNT = 10**9
SNIPPETS_PAGE = 100  # a story's snippets shown at once: a wire story has thousands


def story(detail: StoryDetail, facts: list | None = None, limit: int | None = SNIPPETS_PAGE,
          offset: int = 0) -> dict[str, Any]:
    """A story with a page of its snippets (``snippets_total`` of them in all, from
    ``snippets_offset``, ``snippets_limit`` at most); ``facts`` is None where they were
    not asked for."""
    out = plain(replace(detail, snippets=page_of(detail.snippets, limit, offset)))
    out.update(snippets_total=len(detail.snippets), snippets_limit=limit,
               snippets_offset=offset)
    out["facts"] = None if facts is None else plain(facts)
    return out


def page_of(items: list, limit: int | None, offset: int) -> list:
    """``limit`` items (all with None) from ``offset``."""
    return items[offset:None if limit is None else offset + limit]


def facts_of(story_id: int, facts: list) -> dict[str, Any]:
    return {"story_id": story_id, "facts": plain(facts)}


@dataclass
class ChangesPage:
    """What a batch changed, a page of its stories, with the batches either side."""

    batch: Any  # BatchRow
    previous: str | None
    next: str | None
    total: int
    changes: list[StoryChanges]


def changes_page(rows: list, name: str, changes: list[StoryChanges], limit: int | None,
                 offset: int) -> ChangesPage | None:
    """The page of ``changes`` (all of a batch's) for batch ``name`` among ``rows`` (the
    store's batches), or None if there is no such batch."""
    found = next((i for i, b in enumerate(rows) if b.name == name), None)
    if found is None:
        return None
    return ChangesPage(
        batch=rows[found], previous=rows[found - 1].name if found > 0 else None,
        next=rows[found + 1].name if found + 1 < len(rows) else None,
        total=len(changes), changes=page_of(changes, limit, offset),
    )


def batch_changes(page: ChangesPage, limit: int | None, offset: int) -> dict[str, Any]:
    return {"batch": batch(page.batch), "previous": page.previous, "next": page.next,
            "total": page.total, "limit": limit, "offset": offset,
            "changes": plain(page.changes)}


def search_result(query: str, limit: int, hits: list[SearchHit],
                  offset: int = 0) -> dict[str, Any]:
    """A page of search hits (no total: the floor decides as it goes how many match)."""
    return {"query": query, "limit": limit, "offset": offset, "hits": plain(hits)}


def ingest_result(reports: list[IngestReport]) -> dict[str, Any]:
    return {"batches": plain(reports)}


def check_result(counts: dict[str, int], problems: list[str]) -> dict[str, Any]:
    return {"consistent": not problems, "counts": dict(counts), "problems": list(problems)}
