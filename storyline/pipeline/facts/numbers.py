"""Numbers in a snippet: finding them ("2,700", "3 million", "a third of", "hundreds of"),
telling counts from dates, ages and labels, and the hedge and unit around them."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storyline.pipeline.facts.lexicon import (
    _CURRENCY_SYMBOLS,
    _CURRENCY_WORDS,
    _FRACTIONS,
    _LABEL_NOUNS,
    _LISTICLE_NOUNS,
    _MEASURE_NOUNS,
    _NUMERIC_RE,
    _PREP_QUALIFIERS,
    _QUALIFIERS,
    _SCALES,
    _TIME_NOUNS,
    _UNITS,
    _VAGUE,
    _YEAR_RE,
    _wordset,
)

# ISO currency codes written before an amount ("USD one mn deal"), upper case only so that
# words such as "cad" in running text are not read as money.
_CURRENCY_CODES = {
    "USD": "USD", "US$": "USD", "EUR": "EUR", "GBP": "GBP", "JPY": "JPY", "CNY": "CNY",
    "INR": "INR", "CAD": "CAD", "AUD": "AUD", "CHF": "CHF",
    "RUB": "RUB",
}  # fmt: skip


def _currency_sign(tok: Any) -> str | None:
    """The currency a token before an amount names: "$", "£", "USD" (else None)."""
    return _CURRENCY_SYMBOLS.get(tok.lower_) or _CURRENCY_CODES.get(tok.text)


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




# What a number with a scale letter counts when it is no money: "1.5m people" is a
# million and a half, "110m hurdles" and "5k runners" are distances.
_COUNTED_BY_LETTER = _wordset("""
people residents voters users customers households homes viewers subscribers refugees
children patients workers jobs passengers visitors migrants followers members doses
cases votes barrels tonnes tons animals students families readers listeners shares""")


def _number_run_at(doc: Any, i: int) -> _Found | None:
    if not _is_number_token(doc, i):
        return None
    m = _NUMERIC_RE.match(doc[i].lower_)
    # "10m", "5k": money ("£10m") or people ("1.5m people") only; otherwise metres,
    # kilometres, runs: too ambiguous.
    short_suffix = bool(m and m.group(3) and len(m.group(3)) == 1)
    split_letter = (i + 1 < len(doc) and not doc[i].whitespace_
                    and doc[i + 1].lower_ in ("m", "k", "b"))
    after = i + 1 + split_letter
    letter_scales = (i > 0 and _currency_sign(doc[i - 1]) is not None) or (
        after < len(doc) and doc[after].lower_ in _COUNTED_BY_LETTER)
    if not letter_scales and (short_suffix or split_letter):
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
        elif _is_scale(w, letter_scales and j == i + 1) or (
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
    if f.kind == "share":
        ent = ""  # "a quarter of the villages" is no fiscal quarter
    return (
        _places_in_time(last, ent)
        or _is_year(f, first, last)
        or _is_age(doc, f, last)
        or _is_label(doc, f, first, last)
        or _is_clock_or_score(doc, f, first)
    )


def _neighbours(doc: Any, f: _Found) -> tuple[Any, Any, Any]:
    """The token before the number and the two after it (None past the ends)."""
    prev = doc[f.start - 1] if f.start > 0 else None
    nxt = doc[f.end] if f.end < len(doc) else None
    nxt2 = doc[f.end + 1] if f.end + 1 < len(doc) else None
    return prev, nxt, nxt2


def _places_in_time(last: Any, ent: str) -> bool:
    """A date or duration that places the event in time ("10 days before", "in 2022").
    It is a fact only when the sentence counts it ("served 10 years")."""
    if not (ent == "DATE" or (last.dep_ == "nummod" and last.head.lemma_ in _TIME_NOUNS)):
        return False
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
    return not counts_time


def _is_year(f: _Found, first: Any, last: Any) -> bool:
    """A bare 4-digit 1800-2099 is a year unless it counts a plural noun. Title-case heads
    ("2014 Winner Spoilers") are headline words, not counted things."""
    counts_plural = last.dep_ == "nummod" and last.head.tag_ == "NNS" and last.head.is_lower
    return f.end - f.start == 1 and bool(_YEAR_RE.match(first.text)) and not counts_plural


def _is_age(doc: Any, f: _Found, last: Any) -> bool:
    """Ages: "25-year-old", "25 years old", "aged 25", "John Smith, 45,"."""
    prev, nxt, nxt2 = _neighbours(doc, f)
    if nxt is not None and nxt2 is not None:
        if nxt.text == "-" and nxt2.lower_ in ("year", "years"):
            return True
        if nxt.lower_ in ("year", "years") and nxt2.lower_ in ("old", "-"):
            return True
    if prev is not None and prev.lower_ in ("aged", "age", "ages"):
        return True
    return (
        last.dep_ in ("appos", "npadvmod", "amod")
        and last.head.ent_type_ == "PERSON"
        and f.value < 120
    )


def _is_label(doc: Any, f: _Found, first: Any, last: Any) -> bool:
    """Identifiers, ranks and attributes: "No. 5", "#3", "season 4", "UPDATE 1-",
    "Flight 17", "two-term president", "5 things to watch"."""
    prev, nxt, nxt2 = _neighbours(doc, f)
    if prev is not None and prev.lower_ in _LABEL_NOUNS:
        return True
    before = doc[f.start - 2] if f.start > 1 else None
    if prev is not None and prev.text == "." and before is not None and (
        before.lower_ in ("ch", "chap", "no", "vol")
    ):
        return True  # "Ch. 11", "Chap. 11": split abbreviations of a label
    if _idiom_or_listicle(doc, f, first, prev, before, nxt):
        return True
    if nxt is not None and nxt.text == "-" and not first.whitespace_ and nxt2 is not None:
        if nxt2.text[:1].isupper():
            return True  # "UPDATE 2-Libyan parliament ...": a wire-story revision tag
        if nxt2.is_alpha and nxt2.lemma_ not in _MEASURE_NOUNS and nxt2.lower_ not in _SCALES:
            return True  # "two-term president", "32-count indictment": an attribute
    if last.dep_ == "nummod" and _base_forms(last.head) & _LISTICLE_NOUNS:
        return True
    return (
        prev is not None
        and prev.pos_ == "PROPN"
        and last.dep_ in ("nummod", "compound", "appos")
        and last.head.i == prev.i
    )


def _idiom_or_listicle(doc: Any, f: _Found, first: Any, prev: Any, before: Any, nxt: Any) -> bool:
    """ "one more spoiler", "one show at a time", "What one big fund is saying": "one" as a
    determiner; "Here are 800 alternatives", "10 Other Notable Attempts": a listicle."""
    if first.lower_ == "one" and f.end - f.start == 1:
        if (nxt is not None and nxt.lower_ in ("more", "other", "another")) or (
            prev is not None and prev.lower_ in ("what", "which")
        ):
            return True
        after = " ".join(t.lower_ for t in doc[f.end : f.end + 5])
        if "at a time" in after:
            return True
    if prev is not None and before is not None and (before.lower_, prev.lower_) in (
        ("here", "are"), ("here", "'re"), ("here", "is"), ("here", "'s")
    ):
        return True
    return nxt is not None and nxt.text == "Other"


def _base_forms(tok: Any) -> set[str]:
    """The lemma and lower-case singular guesses of a word, so that title-case plurals the
    tagger calls names ("Tips", "Cents") still meet the word lists."""
    w = tok.lower_
    forms = {tok.lemma_.lower(), w}
    if w.endswith("s"):
        forms |= {w[:-1], w[:-2] if w.endswith("es") else w[:-1]}
    return forms


def _is_clock_or_score(doc: Any, f: _Found, first: Any) -> bool:
    """Clock times and scores ("3:15", "10 am", "won 2-0"), and "one" as a pronoun."""
    _, nxt, nxt2 = _neighbours(doc, f)
    if any(":" in t.text for t in doc[f.start : f.end]):
        return True
    if nxt is not None and nxt.lower_ in ("am", "pm", "a.m.", "p.m.", "gmt", "bst", "et"):
        return True
    dash_digit = nxt is not None and nxt.text in ("-", "–") and nxt2 is not None and nxt2.is_digit
    if f.kind == "number" and f.upper is None and dash_digit and f.value < 20:
        return True
    # "one" is usually a pronoun ("one of the", "no one"): a count only before a noun.
    lone_one = f.end - f.start == 1 and first.lower_ == "one"
    return lone_one and not (first.dep_ == "nummod" and first.head.pos_ == "NOUN")


def _qualifier(doc: Any, f: _Found) -> tuple[str | None, int]:
    """Hedge before the number (or "or more"/"+" after it); returns it and the span start."""
    s = f.start
    if s > 0 and _currency_sign(doc[s - 1]):
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
    if prev is not None and _currency_sign(prev):
        return _currency_sign(prev), prev
    if nxt is not None:
        if nxt.lower_ in ("%", "percent", "pct"):
            return "%", nxt
        if nxt.lower_ == "per" and f.end + 1 < len(doc) and doc[f.end + 1].lower_ == "cent":
            return "%", doc[f.end + 1]
        if nxt.lower_ in _CURRENCY_WORDS:
            return _CURRENCY_WORDS[nxt.lower_], nxt
    return None, None
