"""Attributions: who says so ("officials said", "according to X", "Source: X"), the cue and
what they attribute."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storyline.pipeline.facts.lexicon import _PRONOUNS, _STRONG_CUES, _WEAK_CUES
from storyline.pipeline.facts.records import Attribution


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
