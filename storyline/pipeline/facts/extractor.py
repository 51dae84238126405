"""The extractor: spaCy parses in, :class:`SnippetFacts` out."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

from storyline.pipeline.facts.attribution import _attributions
from storyline.pipeline.facts.entities import _entities, canonical_entities
from storyline.pipeline.facts.lexicon import _ENGLISH_WORDS, _FOREIGN_WORDS, _fold
from storyline.pipeline.facts.model import _NER_ONLY, _PIPE_LOCK, _load_model, _needs_parse
from storyline.pipeline.facts.quantities import _quantities
from storyline.pipeline.facts.records import SnippetFacts


class FactExtractor:
    """Reads quantities, attributions and entities off spaCy parses.

    The model loads on first use and is shared by all extractors in the process. All of
    en_core_web_sm is used (tok2vec feeds the tagger and parser; the attribute ruler and
    lemmatizer give POS and lemmas; NER gives entity types) except the optional ``senter``.
    Snippets with a number or a reporting word go through the whole pipeline; the others
    (most headlines) only need entities and run through NER alone.
    """

    def __init__(self, model: str = "en_core_web_sm", max_chars: int = 20_000) -> None:
        self.model = model
        self.max_chars = max_chars

    @property
    def nlp(self) -> Any:
        return _load_model(self.model)

    def extract(self, text: str) -> SnippetFacts:
        """Facts of one snippet; empty for empty or non-English text.

        >>> facts = FactExtractor().extract(
        ...     "About 300 North Korean soldiers were killed, South Korea's spy agency said.")
        >>> [(q.value, q.what, q.qualifier) for q in facts.quantities]
        [(300.0, 'North Korean soldiers killed', 'about')]
        >>> [(a.source, a.cue) for a in facts.attributions]
        [("South Korea's spy agency", 'said')]
        >>> FactExtractor().extract("Le gouvernement a annoncé des mesures pour les écoles.")
        SnippetFacts(quantities=[], attributions=[], entities=[])
        """
        return self.extract_many([text])[0]

    def extract_many(
        self, texts: Iterable[str], batch_size: int = 128, n_process: int = 1
    ) -> list[SnippetFacts]:
        """Facts of many snippets, in input order, parsed in batches with ``nlp.pipe``.
        Each snippet's facts are its own: the same text gives the same facts whatever it
        is read with (a batch, a worker's part of one, a story read later)."""
        texts = [self._prepare(t) for t in texts]
        results = [SnippetFacts() for _ in texts]
        todo = [i for i, t in enumerate(texts) if t]
        if not todo:
            return results
        nlp = self.nlp
        opts = {"batch_size": batch_size, "n_process": n_process}
        with _PIPE_LOCK:  # one pipe at a time over the shared model (web server threads)
            docs = list(nlp.tokenizer.pipe(texts[i] for i in todo))
            parse = [k for k, doc in enumerate(docs) if _needs_parse(doc)]
            wanted = set(parse)
            rest = [k for k in range(len(docs)) if k not in wanted]
            for k, doc in zip(parse, nlp.pipe((docs[k] for k in parse), **opts), strict=True):
                results[todo[k]] = _facts_from_doc(doc)
            ner_only = nlp.pipe((docs[k] for k in rest), disable=list(_NER_ONLY), **opts)
            for k, doc in zip(rest, ner_only, strict=True):
                results[todo[k]] = _facts_from_doc(doc, parsed=False)
        return results

    def _prepare(self, text: str | None) -> str:
        if not text or not isinstance(text, str):
            return ""
        text = text.replace("\x00", " ").strip()
        if len(text) > self.max_chars:
            # Cut at the last sentence end (or space) before the cap, so no word is split
            # and the parser's memory stays bounded on pathological inputs.
            cut = text[: self.max_chars]
            end = max(cut.rfind(". "), cut.rfind("\n"))
            if end < self.max_chars // 2:
                end = cut.rfind(" ")
            text = cut[: end + 1] if end > 0 else cut
        return text if looks_english(text) else ""


def looks_english(text: str) -> bool:
    """Cheap language check: the small English model has no language identifier and would
    read foreign words as names, so non-English snippets are skipped."""
    letters = [c for c in text[:5000] if c.isalpha()]
    if not letters:
        return False
    latin = sum(1 for c in letters if c.isascii() or "LATIN" in unicodedata.name(c, ""))
    if latin / len(letters) < 0.6:
        return False
    words = re.findall(r"[^\W\d_]+", text[:5000].lower())
    foreign = sum(1 for w in words if w in _FOREIGN_WORDS)
    english = sum(1 for w in words if w in _ENGLISH_WORDS)
    return not (foreign >= 2 and foreign > english)


# --------------------------------------------------------------------------- per-doc rules


def _facts_from_doc(doc: Any, parsed: bool = True) -> SnippetFacts:
    entities = _entities(doc)
    mapping = canonical_entities(entities)
    people = {e.text for e in entities if e.label == "PERSON"}
    for e in entities:
        e.canonical = mapping.get(e.text, e.text)
        if e.canonical != e.text and e.canonical in people:
            e.label = "PERSON"  # "Trump" (ORG to the model) next to "Donald Trump"
    if not parsed:
        return SnippetFacts([], [], entities)
    return SnippetFacts(_quantities(doc), _attributions(doc), entities)


def one_type_per_name(results: list[SnippetFacts]) -> None:
    """A surname the model typed ORG ("Trump negotiations") is a person's when the group
    (a story's snippets) names that person in full ("Donald Trump") and, counting a full
    name twice, types the name PERSON more often than ORG. Changes the labels in place."""
    votes: Counter[str] = Counter()
    full: set[str] = set()
    for facts in results:
        for e in facts.entities:
            words = e.text.split()
            if e.label == "PERSON" and 2 <= len(words) <= 3 and all(
                w.isalpha() and w[0].isupper() for w in words
            ):
                full.add(_fold(words[-1]))
                votes[_fold(words[-1])] += 2
            elif e.label in ("PERSON", "ORG") and len(words) == 1:
                votes[_fold(e.text)] += 1 if e.label == "PERSON" else -1
    for facts in results:
        for e in facts.entities:
            name = _fold(e.text)
            if e.label == "ORG" and " " not in e.text and name in full and votes[name] > 0:
                e.label = "PERSON"
