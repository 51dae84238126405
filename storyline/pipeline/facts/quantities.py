"""Quantities: what each number in a snippet counts ("North Korean soldiers killed")."""

from __future__ import annotations

from typing import Any

from storyline.pipeline.facts.entities import _clean_entity_text
from storyline.pipeline.facts.lexicon import (
    _CURRENCY_WORDS,
    _EVENT_NOUNS,
    _EVENTS,
    _FRACTIONS,
    _FRAMING,
    _HEAD_CLASSES,
    _MEASURE_NOUNS,
    _NOMINAL_EVENTS,
    _PLACE_HEADS,
    _QUALIFIERS,
    _SCALES,
    _SKIP_MODIFIERS,
    _TIME_NOUNS,
    _VAGUE,
)
from storyline.pipeline.facts.numbers import (
    _COUNTED_BY_LETTER,
    _base_forms,
    _currency_sign,
    _excluded,
    _Found,
    _fraction_at,
    _number_run_at,
    _qualifier,
    _unit_of,
    _vague_at,
)
from storyline.pipeline.facts.records import Quantity


def _quantities(doc: Any) -> list[Quantity]:
    out: list[Quantity] = []
    last_counted: dict[int, Any] = {}  # sentence start -> last counted noun
    cut = _truncated_at(doc)
    i = 0
    while i < len(doc):
        found = _fraction_at(doc, i) or _vague_at(doc, i) or _number_run_at(doc, i)
        if found is None:
            i += 1
            continue
        # "... could raise $250  ...": a feed cut the text off, maybe before "million".
        cut_off = cut is not None and all(t.is_space for t in doc[found.end : cut])
        q = None if cut_off else _build_quantity(doc, found, last_counted)
        if q is not None and not any(u.span == q.span and u.value == q.value for u in out):
            out.append(q)
        i = max(found.end, i + 1)
    return out


def _truncated_at(doc: Any) -> int | None:
    """Index of a trailing ellipsis where a feed cut the text short ("... to  ..."), else
    None: the words just before it may be missing their ends."""
    toks = [t for t in doc if not t.is_space]
    k = len(toks)
    while k and toks[k - 1].text in (".", "..", "...", "…"):
        k -= 1
    tail = "".join(t.text for t in toks[k:])
    return toks[k].i if k < len(toks) and ("..." in tail or "…" in tail) else None


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
    noun, measure, unit, cands = _counted(f, anchor, x, unit)
    if noun is None and unit is None and measure is None and f.end < len(doc) and (
            doc[f.end].lower_ in _COUNTED_BY_LETTER):
        noun, cands = doc[f.end], [doc[f.end]]  # "1.5m people": the parse hangs "m" apart
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
    event_tok = _event_of(cands, level, unit, anchor)
    if noun is None and unit is None and measure is None:
        return None  # a bare number with nothing counted ("The first 12 were ...") is no fact
    if _headline_fragment(doc, f, noun, event_tok, unit):
        return None
    if noun is None and measure is not None and event_tok is None:
        # "prices up 4 cents", "dividend to 25 cents": name what the measure measures.
        noun, event_tok = _measured(measure)
        if noun is None:
            return None  # "a 4.7-inch display", "up 4 cents" with nothing named
    what = _describe(noun, event_tok, f, measure, unit)
    if not what:
        return None
    if unit is None:
        unit = measure.lower_ if measure is not None else (noun.lower_ if noun is not None else "")
    if noun is not None and unit == noun.lower_:
        last_counted[sent_start] = noun
    target = measure if measure is not None else (None if inherited or level else noun)
    span = doc[span_start : _span_end(f, unit_tok, target, event_tok)].text
    return Quantity(f.value, unit, what, qualifier, span, f.upper if f.kind != "vague" else None)


def _headline_fragment(doc: Any, f: _Found, noun: Any, event_tok: Any, unit: str | None) -> bool:
    """Headline numbers that are not facts: ranks and listicles ("Top 5 TV cameos", "the first
    four episodes", "5 Craziest Moments", "8 First World Problems", "3 rumors to choose from":
    a number opening the headline, or praised with a superlative, counting things with nothing
    happening to them), numbers in a name ("Apple TV 6.1 Update", "China's CSI 300") and counts
    whose counted word is a title-case fragment the parser guessed ("107 Questions",
    "$10000 Flower Delivery"). Money and shares keep a capitalised noun that something happens
    to or that the headline is about ("$15 Bounty Offered", "$200 Million Salary")."""
    prev = doc[f.start - 1] if f.start > 0 else None
    if prev is not None and prev.lower_ in _RANK_WORDS:
        return True
    if noun is None:
        return False
    opens = prev is None or prev.text in (":", "-", "—", "–", "|", '"', "'", "‘")
    if unit is None and (_named_with_number(doc, f, noun) or _capitalised_name(doc, f, noun)):
        return True
    if unit is None and f.value == 1 and f.kind == "number" and noun.lemma_ not in _MEASURE_NOUNS:
        return True  # "under one roof", "1 plan": "one" picks a thing out, it counts nothing
    if _things_to_do(noun, opens):
        return True
    if noun.lower_ == "times" and noun.i + 1 < len(doc) and doc[noun.i + 1].tag_ in ("JJR", "RBR"):
        return True  # "Four Times Faster": a ratio, nothing counted
    superlative = any(t.tag_ in ("JJS", "RBS") for t in noun.lefts) or noun.tag_ == "JJS"
    nothing_happens = event_tok is None or event_tok.i == noun.i
    if (opens or superlative) and nothing_happens:
        return True
    if noun.tag_ == "JJS":
        return True
    if unit is not None:
        # An amount in an aside ("... With A $10000 Flower Delivery") with nothing happening.
        return nothing_happens and noun.dep_ == "pobj" and noun.head.lower_ == "with"
    if noun.pos_ == "PROPN" and (nothing_happens or _title_case(doc)):
        # A capitalised word the parser took for a name: no counted noun. In a title-case
        # headline it is as often part of a name ("Big 5 Sporting Goods Downgraded").
        return True
    capitalised = noun.text[:1].isupper() and not noun.is_sent_start
    return capitalised and _title_case(doc) and nothing_happens


# A number after these ranks, picks or points at things rather than counting them ("Top 5 TV
# cameos", "What These 3 Influential Women Want").
_RANK_WORDS = frozenset({"top", "first", "last", "next", "final", "these", "those"})


def _named_with_number(doc: Any, f: _Found, noun: Any) -> bool:
    """A number inside a name: a capitalised word just before it modifies the same noun
    ("Apple TV 6.1 Software Update", "CSI 300 Plunges", "Air 2 Release Date")."""
    if f.start == 0:
        return False
    prev = doc[f.start - 1]
    return (
        prev.text[:1].isupper()
        and prev.dep_ in ("compound", "nmod", "amod")
        and prev.head.i == noun.i
        and not prev.is_sent_start
    )


def _capitalised_name(doc: Any, f: _Found, noun: Any) -> bool:
    """In a headline in sentence case, a capital on a spelled-out number or on its noun
    marks a name: "Five Guys, Chipotle continue ...", "clip depicts Four throwing knives"."""
    if _title_case(doc):
        return False
    first = doc[f.start]
    word_cap = first.is_alpha and first.text[:1].isupper() and not first.is_sent_start
    noun_cap = noun.text[:1].isupper() and not noun.is_sent_start and first.is_alpha
    return word_cap or noun_cap


def _things_to_do(noun: Any, opens: bool) -> bool:
    """ "3 cocktails to make with it", "5 books to read": the noun is the object of an
    infinitive that hangs on it, the shape of a list of suggestions, not a count; so is any
    infinitive after a count that opens the headline ("4 Apps To Give You Fast Eyes")."""
    doc = noun.doc
    if noun.i + 2 >= len(doc) or doc[noun.i + 1].lower_ != "to":
        return False
    verb = doc[noun.i + 2]  # the parser may hang it on a noun before ("syrup and 3 drinks")
    if verb.tag_ != "VB":
        return False
    return opens or (
        verb.dep_ in ("relcl", "acl")
        and not any(a.dep_ in ("dobj", "nsubj", "ccomp", "xcomp") for a in verb.children)
    )


def _measured(measure: Any) -> tuple[Any, Any]:
    """What a measure with no counted noun measures, and the verb saying what happened:
    "gas prices up 4 cents" -> prices; "raised its dividend to 25 cents" -> dividend, raised.
    A measure that only describes a thing ("a 10-cent jump", "4.7-inch display") gives
    nothing."""
    head = measure.head
    if measure.dep_ == "pobj" and head.dep_ == "prep":
        head = head.head
        if head.pos_ not in ("VERB", "AUX"):
            return None, None  # "since Six Feet Under"
    elif measure.dep_ not in ("dobj", "npadvmod", "attr"):
        return None, None
    if head.pos_ == "ADV" and head.lower_ in ("up", "down", "higher", "lower"):
        head = head.head  # "gas up 2 cents"
    if head.pos_ in ("NOUN", "PROPN"):
        return head, None
    if head.pos_ not in ("VERB", "AUX") or head.lemma_ in ("be", "have"):
        return None, None  # "only had one day of ..."
    for dep in ("dobj", "nsubjpass", "nsubj"):
        thing = next((c for c in head.children if c.dep_ == dep and c.i != measure.i), None)
        if thing is not None and thing.pos_ in ("NOUN", "PROPN"):
            return thing, head
    return None, None


def _title_case(doc: Any) -> bool:
    """Most words capitalised: a headline in title case, where capitals say nothing."""
    words = [t for t in doc if t.is_alpha and len(t) > 3]
    return len(words) >= 3 and sum(t.text[0].isupper() for t in words) >= 0.6 * len(words)


def _counted(f: _Found, anchor: Any, x: Any, unit: str | None) -> tuple[Any, Any, Any, list]:
    """What a number counts: the noun, the measure it comes in ("10 tonnes of ammunition"),
    the unit (a currency named by the noun) and the tokens that may carry the event."""
    measure = None
    if f.kind in ("share", "vague"):
        noun = _of_noun(anchor)
        cands = [anchor, noun]
    elif (
        x.dep_ in ("nummod", "quantmod", "compound", "nmod")
        and x.head.pos_ in ("NOUN", "PROPN")
        and x.head.i > x.i
    ):
        noun = x.head
        if _base_forms(noun) & (_MEASURE_NOUNS | _TIME_NOUNS):
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
    return noun, measure, unit, cands


def _event_of(cands: list, level: Any, unit: str | None, anchor: Any) -> Any:
    """The event the counted thing takes part in, from the first candidate that has one."""
    event_tok = None
    for c in cands:
        event_tok = _event(c)
        if event_tok is not None:
            break
    if level is not None:
        return None  # the level verb ("rose", "hit") is not what happened
    if event_tok is None and unit is not None and anchor.dep_ == "pobj":
        # "rise 16.8 percent to $180.9 billion": a money or share amount reached by a verb.
        gov = anchor.head.head if anchor.head.dep_ == "prep" else None
        if gov is not None and gov.pos_ in ("VERB", "NOUN"):
            event_tok = gov
    return event_tok


def _span_end(f: _Found, unit_tok: Any, target: Any, event_tok: Any) -> int:
    """Where the quantity's span ends: after its unit, its noun or its event word."""
    span_end = f.end
    if unit_tok is not None and unit_tok.i >= f.end:
        span_end = unit_tok.i + 1
    if target is not None and f.end <= target.i <= f.end + 6:
        span_end = target.i + 1
    elif event_tok is not None and event_tok.i == span_end:
        span_end += 1  # "2,700 injured"
    return span_end


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
        if _currency_sign(t) or t.lower_ in _SCALES or not t.text[:1].isalnum():
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
