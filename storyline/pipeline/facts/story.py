"""A stored story's facts, for showing a story: read-side, through the store alone.

The facts of each snippet are read at ingest (the worker) and kept by the store; this
module groups them (:func:`group_story_facts`). Snippets stored without facts (ingested
with facts off, or before facts existed) have theirs read now and stored.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from storyline.errors import StoreError
from storyline.pipeline.facts.extractor import FactExtractor, one_type_per_name
from storyline.pipeline.facts.grouping import FactInput, StoryFact, group_story_facts
from storyline.pipeline.facts.records import SnippetFacts

if TYPE_CHECKING:
    from storyline.store import Store
    from storyline.types import StoryDetail


def story_facts(store: Store, detail: StoryDetail) -> list[StoryFact]:
    """The story's facts: quantities grouped across its snippets, with their backers,
    first batch, status and contradictions."""
    facts = snippet_facts(store, [s.id for s in detail.snippets])
    one_type_per_name(list(facts.values()))  # the story's names, typed alike
    # One input per outlet that carried a snippet: copies from other outlets are
    # independent backers of the same statement.
    items = []
    for s in detail.snippets:
        outlets = list(dict.fromkeys(c.source for c in s.copies)) or [None]
        for outlet in outlets:
            items.append(FactInput(snippet_id=s.id, batch=s.batch, outlet=outlet,
                                   facts=facts[s.id]))
    return group_story_facts(items)


def snippet_facts(store: Store, ids: list[int]) -> dict[int, SnippetFacts]:
    """Facts of stored snippets by id; those not read yet are read now and stored."""
    stored = store.facts_of(ids)
    out = {sid: _stored_facts(sid, data) for sid, data in stored.items()}
    missing = [sid for sid in ids if sid not in out]
    if missing:
        by_id = store.snippet_texts(missing)
        extracted = FactExtractor().extract_many([by_id[sid] for sid in missing])
        with store.transaction():
            store.set_facts((sid, f.to_stored()) for sid, f in zip(missing, extracted))
        out.update(zip(missing, extracted))
    return out


def _stored_facts(snippet_id: int, data: str) -> SnippetFacts:
    """A snippet's stored facts; a row damaged by hand (bad JSON, another shape) is a
    StoreError naming the snippet (`storyline check` lists every such row)."""
    try:
        record = json.loads(data)
        if not isinstance(record, dict):
            raise TypeError(f"a JSON {type(record).__name__}, not an object")
        return SnippetFacts.from_record(record)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StoreError(f"the stored facts of snippet {snippet_id} are damaged ({exc}); "
                         "`storyline check` lists such rows") from None
