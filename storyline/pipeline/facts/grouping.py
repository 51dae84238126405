"""A story's facts: equivalent quantities from many snippets grouped into one fact, with
their backers (outlets, snippets, sources), corroboration and contradictions."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storyline.pipeline.facts.entities import canonical_entities
from storyline.pipeline.facts.keys import compatible
from storyline.pipeline.facts.lexicon import _fold
from storyline.pipeline.facts.records import Quantity, SnippetFacts


@dataclass
class FactInput:
    """One snippet's facts, as the story grouper sees them."""

    snippet_id: int
    batch: str
    outlet: str | None
    facts: SnippetFacts


@dataclass
class StoryFact:
    """One fact of a story, backed by one or more snippets."""

    what: str
    unit: str
    value: float
    qualifiers: list[str]
    sources: list[str]  # who the snippets attribute it to
    outlets: list[str]  # distinct known outlets that carry it
    snippet_ids: list[int]
    first_batch: str
    batches: list[str]
    status: str  # "corroborated" (>= 2 distinct outlets) | "single-source" | "contradicted"
    contradicts: list[int]  # indexes of conflicting StoryFacts in the returned list
    # Independent backers: the distinct outlets (len(outlets)); snippets whose outlet is
    # unknown back the fact but cannot corroborate it.
    independent: int = 0
    upper: float | None = None  # upper end when the fact is a range
    # Values every backing statement allows (intersection of their intervals).
    # None for an open upper end ("over 12,000"), so the fact serialises as plain JSON.
    bounds: tuple[float, float | None] = (0.0, None)


def group_story_facts(items: Sequence[FactInput]) -> list[StoryFact]:
    """Group a story's quantities into facts and flag contradictions.

    Two statements are the same fact when they count the same thing (:func:`what_key`) and
    their intervals overlap with the intersection of the group so far; a statement that
    fits no group opens a new one. Groups with the same key are therefore mutually
    incompatible, and each is marked "contradicted" with the indexes of the others, unless
    the key is too vague to be one thing: it names no event and no modifier ("cents"), or a
    single snippet gives it two incompatible values (so it covers two measures). Otherwise
    a fact backed by two or more distinct outlets is "corroborated", else "single-source"
    (snippets without a known outlet, however many, do not corroborate). Pass items in
    ingestion order: ``first_batch`` is the batch of the first snippet that states the fact.
    """
    groups = _group_quantities(items)
    facts = [_story_fact(g) for g in groups]
    _mark_contradictions(items, groups, facts)
    return facts


def _group_quantities(items: Sequence[FactInput]) -> list[dict[str, Any]]:
    """Statements in groups of one key whose intervals all overlap, in first-seen order."""
    all_entities = [e for it in items for e in it.facts.entities]
    names = canonical_entities(all_entities)
    # A name the model typed otherwise in one snippet ("Zelenskyy" ORG) is still a person
    # when its canonical story name is one.
    people = frozenset(names.get(e.text, e.text) for e in all_entities if e.label == "PERSON")
    groups: list[dict[str, Any]] = []
    speaker: str | None = None  # the last person a snippet of the story names as a source
    for it in items:
        for q in it.facts.quantities:
            key = q.key()
            lo, hi = q.interval()
            target = None
            for g in groups:
                if g["key"] == key and lo <= g["hi"] and g["lo"] <= hi:
                    target = g
                    break
            if target is None:
                target = {"key": key, "lo": lo, "hi": hi, "members": []}
                groups.append(target)
            target["lo"], target["hi"] = max(target["lo"], lo), min(target["hi"], hi)
            target["members"].append((it, q, _source_for(q, it.facts, names, speaker, people)))
        speaker = _last_speaker(it.facts, names, people) or speaker
    return groups


def _last_speaker(
    facts: SnippetFacts, names: dict[str, str], people: frozenset[str] = frozenset()
) -> str | None:
    """The last named person a snippet gives as a source, in its canonical story form."""
    found = None
    for a in facts.attributions:
        person = _person_in(a.source, facts, names, people)
        if person:
            found = person
    return found


def _person_in(
    source: str, facts: SnippetFacts, names: dict[str, str], people: frozenset[str] = frozenset()
) -> str | None:
    folded = _fold(source)
    found = [
        e
        for e in facts.entities
        if (e.label == "PERSON" or names.get(e.text) in people) and _fold(e.text) in folded
    ]
    return names.get(found[0].text, found[0].canonical) if found else None


def _story_fact(g: dict[str, Any]) -> StoryFact:
    """One group's fact: its commonest value and wording, backers, batches and status."""
    members = g["members"]
    qs = [q for _, q, _ in members]
    values = Counter(q.value for q in qs)
    value = max(values, key=lambda v: (values[v], -[q.value for q in qs].index(v)))
    whats = Counter(q.what for q in qs)
    what = max(whats, key=lambda w: (whats[w], -len(w)))
    snippet_ids = list(dict.fromkeys(it.snippet_id for it, _, _ in members))
    outlets: list[str] = []
    for it, _, _ in members:  # distinct outlets, case and spacing aside
        if it.outlet and _fold(it.outlet) not in {_fold(o) for o in outlets}:
            outlets.append(it.outlet)
    batches = list(dict.fromkeys(it.batch for it, _, _ in members))
    sources: list[str] = []
    for _, _, src in members:
        if src and _fold(src) not in {_fold(s) for s in sources}:
            sources.append(src)
    independent = len(outlets)
    return StoryFact(
        what=what,
        unit=qs[0].unit,
        value=value,
        qualifiers=list(dict.fromkeys(q.qualifier for q in qs if q.qualifier)),
        sources=sources,
        outlets=outlets,
        snippet_ids=snippet_ids,
        first_batch=batches[0],
        batches=batches,
        status="corroborated" if independent >= 2 else "single-source",
        contradicts=[],
        independent=independent,
        upper=next((q.upper for q in qs if q.upper is not None), None),
        bounds=(g["lo"], g["hi"] if math.isfinite(g["hi"]) else None),
    )


def _mark_contradictions(
    items: Sequence[FactInput], groups: list[dict[str, Any]], facts: list[StoryFact]
) -> None:
    """Groups of one key contradict each other, unless the key is too vague to be one thing."""
    # A key one snippet gives two incompatible values for names different measures, not one
    # fact ("rose to 25 cents from 12 cents", "36 feet, 8 feet above flood stage").
    ambiguous = {
        a.key()
        for it in items
        for a, b in itertools.combinations(it.facts.quantities, 2)
        if a.key() == b.key() and not compatible(a, b)
    }
    for i, g in enumerate(groups):
        key = g["key"]
        # A bare unit ("22 cents" vs "19 cents") says too little to be the same thing.
        if key in ambiguous or not (key[1] or key[3]):
            continue
        for j, h in enumerate(groups):
            if i != j and h["key"] == key:
                facts[i].contradicts.append(j)
                facts[i].status = "contradicted"


def _source_for(
    q: Quantity,
    facts: SnippetFacts,
    names: dict[str, str],
    speaker: str | None = None,
    people: frozenset[str] = frozenset(),
) -> str | None:
    """Who the snippet attributes a quantity to: the attribution whose content holds it.
    A person's name is shown in its canonical story form; "he"/"she" left unresolved in
    its snippet is the person an earlier snippet of the story named as a source."""
    span = _fold(q.span)
    for a in facts.attributions:
        if span and not a.negated and span in _fold(a.content):
            if _fold(a.source) in ("he", "she") and speaker:
                return speaker
            return _person_in(a.source, facts, names, people) or a.source
    return None


def new_in_batch(facts: Sequence[StoryFact], batch: str) -> list[StoryFact]:
    """Facts first stated in ``batch``."""
    return [f for f in facts if f.first_batch == batch]
