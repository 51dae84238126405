"""A headline a reader takes in at a glance (at most ``HEADLINE_WORDS`` words).

An item's own title is the best headline. A lead sentence alone (most wire
snippets) is compressed extractively: an attribution tail (", South Korea's
intelligence service said") and a reporting frame ("Officials said that ...")
go first, then, on spaCy's dependency parse, whole subtrees of the least needed
kinds (relative clauses, appositions, dates, adverbial clauses, trailing
prepositional phrases) until the clause fits. The words kept are the lead's own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

HEADLINE_WORDS = 15

_REPORTING = (r"(?:said|says|say|reported|reports|announced|announces|told [\w ]{1,30}?|"
              r"confirmed|confirms|claimed|claims|added|stated|wrote|warned|according to "
              r"[^,]{1,60})")
# ", South Korea's intelligence service said (on Sunday)." at a sentence's end.
_ATTRIBUTION_TAIL = re.compile(
    rf",\s+(?:[^,]{{0,80}}?\s)?{_REPORTING}(?:\s+(?:on|late|early|this|last)?\s*\w+)?\s*[.!]?$")
_ACCORDING_TAIL = re.compile(r",\s+according to [^,]{1,80}[.!]?$", re.I)
_ACCORDING_HEAD = re.compile(r"^According to [^,]{1,80},\s+", re.I)
_REPORTING_LEMMAS = {"say", "report", "announce", "tell", "confirm", "claim", "state", "add",
                     "write", "warn", "believe", "estimate", "predict", "insist", "argue",
                     "suggest", "show", "find", "think", "expect", "accuse", "allege"}
# Subtrees dropped first to last while a headline is too long.
_DROP_ORDER = ("relcl", "appos", "date", "advcl", "parataxis", "acl", "npadvmod", "prep",
               "conj", "advmod")


def headline_text(lead: str, titles: Sequence[str] = (), max_words: int = HEADLINE_WORDS) -> str:
    """The headline of a story whose most central snippet opens with ``lead``
    (a sentence) and whose copies carry ``titles`` (possibly none).

    >>> headline_text("A quake hit Chile.", ["Strong Quake Hits Chile"])
    'Strong Quake Hits Chile'
    >>> headline_text("Ukraine captured two wounded North Korean soldiers who were fighting "
    ...               "on behalf of Russia in a Russian border region, South Korea's "
    ...               "intelligence service said.")
    'Ukraine captured two wounded North Korean soldiers'
    """
    text, needs_parse = _unparsed(lead, titles, max_words)
    return _parsed(text, max_words) if needs_parse else text


def headline_texts(items: Sequence[tuple[str, Sequence[str]]],
                   max_words: int = HEADLINE_WORDS) -> list[str]:
    """:func:`headline_text` of each ``(lead, titles)``. The leads that need a parse are
    parsed together, in a facts worker where one runs: this process then never loads
    spaCy for them (a process per batch would pay its load, about 1 s of CPU)."""
    unparsed = [_unparsed(lead, titles, max_words) for lead, titles in items]
    todo = list(dict.fromkeys(text for text, needs_parse in unparsed if needs_parse))
    if not todo:
        return [text for text, _ in unparsed]
    from storyline.pipeline.facts.worker import compress_elsewhere

    done = compress_elsewhere(todo, max_words) or [_parsed(t, max_words) for t in todo]
    parsed = dict(zip(todo, done, strict=True))
    return [parsed[text] if needs_parse else text for text, needs_parse in unparsed]


def _unparsed(lead: str, titles: Sequence[str], max_words: int) -> tuple[str, bool]:
    """A short title, else the first title or the lead without its attribution frame;
    and whether that is still too long (then :func:`_parsed` shortens it)."""
    for title in titles:
        title = " ".join((title or "").split())
        if title and len(title.split()) <= max_words:
            return title, False
    base = next((" ".join(t.split()) for t in titles if t and t.strip()), lead.strip())
    text = _without_frame(base)
    return text, len(text.split()) > max_words


def _without_frame(sentence: str) -> str:
    """``sentence`` without an attribution tail or head, nor its final stop."""
    text = sentence.strip()
    for pattern in (_ATTRIBUTION_TAIL, _ACCORDING_TAIL, _ACCORDING_HEAD):
        shorter = pattern.sub("", text).strip()
        if len(shorter.split()) >= 4:
            text = shorter
    return text.rstrip(" .!") or text  # a text of stops only ("...") stays itself


@lru_cache(maxsize=4096)
def _parsed(text: str, max_words: int) -> str:
    """``text`` (too long, frame removed) cut down on its parse to ``max_words``."""
    try:
        kept = _parse_compress(text, max_words)
    except (OSError, ImportError):  # no spaCy model: the cut below still holds
        kept = text
    tokens = kept.split()
    if len(tokens) > max_words:
        kept = " ".join(tokens[:max_words]).rstrip(",;:") + " …"
    return kept


def _nlp() -> Any:
    from storyline.pipeline.facts.model import _load_model

    return _load_model("en_core_web_sm")


def _parse_compress(text: str, max_words: int) -> str:
    doc = _nlp()(text)
    root = next(iter(doc.sents)).root
    if root.lemma_ in _REPORTING_LEMMAS:  # "Officials said (that) X": X
        clause = next((c for c in root.children if c.dep_ == "ccomp"), None)
        if clause is not None and len(list(clause.subtree)) >= 4:
            root = clause
    keep = {t.i for t in root.subtree if t.dep_ != "mark" or t.head is not root}
    while _words(doc, keep) > max_words:
        victim = _next_to_drop(doc, root, keep)
        if victim is None:
            break
        keep -= {t.i for t in victim.subtree}
        # The comma or conjunction before a dropped phrase goes with it.
        before = victim.left_edge.i - 1
        if before in keep and doc[before].dep_ in ("punct", "cc"):
            keep.discard(before)
    return _tidy("".join(doc[i].text_with_ws for i in sorted(keep)))


def _words(doc: Any, keep: set[int]) -> int:
    return sum(1 for i in keep if not doc[i].is_punct)


def _next_to_drop(doc: Any, root: Any, keep: set[int]) -> Any:
    """The subtree to drop next: the kind first in _DROP_ORDER, then the rightmost."""
    best, best_key = None, None
    for i in keep:
        t = doc[i]
        if t is root or t.head.i not in keep or t.i == root.i:
            continue
        kind = t.dep_
        if kind in ("prep", "npadvmod") and any(c.ent_type_ in ("DATE", "TIME")
                                                for c in t.subtree):
            kind = "date"
        if kind not in _DROP_ORDER:
            continue
        if kind in ("prep", "advmod", "conj") and t.head is not root and kind != "conj":
            continue  # only phrases hung on the main verb; a noun keeps its own
        key = (_DROP_ORDER.index(kind), -t.i)
        if best_key is None or key < best_key:
            best, best_key = t, key
    return best


def _tidy(text: str) -> str:
    text = re.sub(r"\s+([,;:])", r"\1", text)
    text = re.sub(r"([,;:])(\s*[,;:])+", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    text = re.sub(r"^(?:and|but|or|that)\s+", "", text, flags=re.I)
    text = text.strip(" ,;:-.")
    if text.count('"') % 2:
        text = text.replace('"', "").strip(" ,;:-.")
    return text[:1].upper() + text[1:]
