"""What a quantity means when statements are compared: the interval of values it allows
(:func:`value_interval`) and the normalised key of what it counts (:func:`what_key`)."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from storyline.pipeline.facts.lexicon import (
    _APPROX,
    _CURRENCY_WORDS,
    _EVENT_NOUNS,
    _EVENTS,
    _EXACT,
    _HEAD_CLASSES,
    _MEASURE_NOUNS,
    _QUALIFIERS,
    _TIME_NOUNS,
    _VAGUE,
    _fold,
)

if TYPE_CHECKING:
    from storyline.pipeline.facts.records import Quantity

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
