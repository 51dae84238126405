"""Fact extraction: quantities, attributions and entities, and story-level fact grouping.

Per snippet, :class:`FactExtractor` runs spaCy's small English pipeline (tagger, dependency
parser, lemmatizer, named-entity recogniser) and reads three kinds of facts off the parse:

* quantities -- a number, what it counts (head noun + event: killed, wounded, captured, ...),
  a hedging qualifier ("about", "at least", "over", "up to", "nearly") and the text span;
* attributions -- who says so (subject of a reporting verb, "according to X", "Source: X"),
  the cue and the attributed content;
* entities -- people, organisations and places, with one canonical name per story.

spaCy gives tokens, parts of speech, dependencies, lemmas and entity types. It does not turn
"2,700", "3 million" or "nearly a third" into numbers, does not know which numbers are counts
(rather than dates, ages, ordinals, identifiers), does not know which verbs report speech, and
does not link "Zelensky" to "Volodymyr Zelenskyy". Those rules are written by hand here.

Per story, :func:`group_story_facts` groups equivalent quantities from many snippets (same
thing counted, compatible values), counts outlets and snippets, and flags contradictions:
two statements about the same thing whose value intervals cannot both hold;
:func:`story_facts` does it for a stored story, from the facts the store keeps.

The modules, in the order a snippet meets them:

* ``lexicon`` -- the hand-written word lists (hedges, events, reporting verbs, titles);
* ``model`` -- spaCy's pipeline, loaded once per process;
* ``extractor`` -- :class:`FactExtractor`, from text to :class:`SnippetFacts`;
* ``numbers`` and ``quantities`` -- numbers found, then what they count;
* ``attribution`` -- who says so; ``entities`` -- names and their canonical forms;
* ``records`` -- the dataclasses; ``keys`` -- intervals and keys for comparing quantities;
* ``grouping`` -- a story's facts, corroborated or contradicted; ``story`` -- a stored story's;
* ``worker`` -- worker processes that read a batch's facts during an ingest.
"""

from storyline.pipeline.facts.entities import canonical_entities
from storyline.pipeline.facts.extractor import FactExtractor, looks_english
from storyline.pipeline.facts.grouping import (
    FactInput,
    StoryFact,
    group_story_facts,
    new_in_batch,
)
from storyline.pipeline.facts.keys import _unit_kind, compatible, value_interval, what_key
from storyline.pipeline.facts.lexicon import _fold
from storyline.pipeline.facts.records import Attribution, Entity, Quantity, SnippetFacts
from storyline.pipeline.facts.story import story_facts

__all__ = [
    "Attribution",
    "Entity",
    "FactExtractor",
    "FactInput",
    "Quantity",
    "SnippetFacts",
    "StoryFact",
    "_fold",
    "_unit_kind",
    "canonical_entities",
    "compatible",
    "group_story_facts",
    "looks_english",
    "new_in_batch",
    "story_facts",
    "value_interval",
    "what_key",
]
