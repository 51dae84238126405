"""Token spans the attribution rules share: joining tokens back into text, what lies inside
quotation marks, and whether a sentence is a headline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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


def _headline(sent: Any) -> bool:
    """A headline: a title-case sentence, or a snippet of one unpunctuated sentence, where
    the parser takes nouns for verbs ("reality show", "Ratings notes"). Kept with the doc:
    the rules ask it for each cue of a sentence."""
    known = sent.doc.user_data.setdefault("storyline_headline", {})
    key = (sent.start, sent.end)
    if key not in known:
        known[key] = _is_headline(sent)
    return known[key]


def _is_headline(sent: Any) -> bool:
    if _title_case(sent):
        return True
    doc = sent.doc
    last = next((t for t in reversed(doc) if not t.is_space), None)
    # The parser may split a headline at its label ("WATCH: Beyonce and ..."): a snippet
    # with no full stop before its end is still one headline.
    stops = any(t.text in (".", "?", "!") for t in doc[: last.i] if t.i > 0) if last else False
    whole = (sent.start == 0 and sent.end >= len(doc) - 2) or not stops
    return whole and (last is None or last.text not in (".", "?", "!") and not last.is_quote)


def _ends_sentence(doc: Any) -> bool:
    """A full stop at the end (not a feed's "..."): a lead's sentence, however many names it
    capitalises."""
    text = doc.text.rstrip().rstrip("\"'”’)")
    return text.endswith(".") and not text.endswith(("..", "…"))  # "Mrs.", "p.m." too


def _title_case(sent: Any) -> bool:
    """A headline's sentence: most of its words capitalised."""
    words = [t for t in sent if t.is_alpha and len(t) > 3]
    return bool(words) and sum(t.text[0].isupper() for t in words) * 2 > len(words)


def _quoted(doc: Any) -> set[int]:
    """Indexes of the tokens inside quotation marks (per sentence: a stray mark in one
    sentence does not flip the next)."""
    inside: set[int] = set()
    for sent in doc.sents:
        inside |= _quoted_in(sent)
    return inside


def _running_quotes(doc: Any) -> set[int]:
    """Indexes of the tokens in a quotation left open at the end of its sentence."""
    inside: set[int] = set()
    for sent in doc.sents:
        marks = [t for t in sent if t.is_quote and t.text not in ("'", "’", "‘")]
        opening = [t for t in marks if t.text in ("“", "``", "‘‘")]
        if opening and opening[-1].i == marks[-1].i:
            inside.update(range(opening[-1].i + 1, sent.end))
    return inside


def _quoted_in(sent: Any) -> set[int]:
    inside: set[int] = set()
    open_at: int | None = None
    for tok in sent:
        text = tok.text
        opens = text in ("“", "‘‘", "``") or (text in ('"', "''") and open_at is None)
        if text in ("”", "’’") or (text in ('"', "''") and open_at is not None):
            if open_at is not None:
                inside.update(range(open_at + 1, tok.i))
            open_at = None
        elif opens:
            open_at = tok.i
    if open_at is not None:  # a quote running on past the sentence
        inside.update(range(open_at + 1, sent.end))
    return inside
