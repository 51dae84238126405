"""Attributions a label makes, not a verb: "PENCE: Well, look ...", "Study: ...",
a signature after a quotation ("..." ― Azucena Gonzalez) and "Source: Yonhap" bylines."""

from __future__ import annotations

from typing import Any

from storyline.pipeline.facts.lexicon import (
    _DOCUMENT_NOUNS,
    _FIRST_PERSON,
    _LABEL_FURNITURE,
    _SECTION_NAMES,
    _THIRD_PERSON,
)
from storyline.pipeline.facts.records import Attribution
from storyline.pipeline.facts.spans import _ends_sentence, _headline, _join, _quoted

_NAMED_THINGS = ("WORK_OF_ART", "PRODUCT", "EVENT")


def _speaker_label(label: list[Any], after: list[Any]) -> bool:
    """A label that names a speaker: a person or organisation ("PENCE", "Mark Carney",
    "SoftBank CEO"), or a document or group ("Report", "Police"); not headline furniture
    ("The Latest", "Bachelor Preview")."""
    words = [t.lower_ for t in label if t.is_alpha]
    if not words or words[0] in ("source", "the") or set(words) & _LABEL_FURNITURE:
        return False
    if not label[0].text[:1].isupper() or any(t.pos_ in ("VERB", "AUX") for t in label):
        return False
    if words[-1] == "report" and len(words) > 1 and all(
        t.text[:1].isupper() for t in label if t.is_alpha
    ):
        return False  # "London Report:", "Mid-Day Report:": a column's name
    if words[-1] in _DOCUMENT_NOUNS:
        return True  # "Report:", "Police:", "SoftBank CEO:"
    if after and after[0].like_num:
        return False  # "Iditarod: 5 memorable ends to the race": a list under a name
    if len(label) == 1 and label[0].is_alpha and len(label[0].text) > 3:
        # "PENCE:", "Pence:" (a transcript, a headline quote); not "SNL:" or "NYT:".
        if label[0].is_upper and label[0].lower_ in _SECTION_NAMES:
            return False  # "ENTERTAINMENT: ...": a section
        return label[0].ent_type_ in ("", "PERSON") and (
            label[0].is_upper or label[0].pos_ == "PROPN"
        )
    # A person: organisations and titles before a colon are mostly headline sections
    # ("SNL Recap:", "Forex News:", "LME ASIAN WRAP:").
    names = [t for t in label if t.pos_ == "PROPN"]
    return bool(names) and all(t.ent_type_ == "PERSON" for t in names) and (
        len(names) >= len(label) - 1
    )


def _label_says(label: list[Any], content: list[Any], sent: Any, quoted: bool) -> bool:
    """What follows a label in a headline is speech unless it only names something:
    "Grant Gustin: 'The Flash' Full Costume!" captions a picture of a named work."""
    if content and content[0].lower_ in ("her", "his", "their"):
        return False  # "Lena Dunham: Her Top 5 'SNL' Moments": about the label, not by it
    if _captioned(content):
        return False  # "Justin Bieber: Deposition regarding ... (Video)"
    # A quotation is speech; so is a transcript's line ("WALLACE: Will you ...?"); a lead's
    # sentence is not a headline however many names it capitalises.
    transcript = all(t.is_upper for t in label if t.is_alpha)
    if not (quoted or transcript or _ends_sentence(sent.doc)) and _about_the_label(content):
        return False
    if not _headline(sent) or any(t.pos_ in ("VERB", "AUX") for t in content):
        return True
    words = [t for t in content if t.is_alpha]
    named = all(t.ent_type_ in _NAMED_THINGS for t in words)
    return not (words and named and sum(t.ent_iob_ == "B" for t in words) == 1)


_ABOUT = _THIRD_PERSON | {"hers"}  # the labelled person, talked about


def _about_the_label(content: list[Any]) -> bool:
    """A headline's words after a label that tell about the labelled person, not what they
    say: a one-word caption ("MARRIED!"), the person in the third person ("Get Ready For Her
    Docu-series", "Who is he and why should you care?"), a question with nobody speaking
    in it ("perfectly styled to be Prince Harry's princess?"), the reader addressed in a
    caption with no verb ("Your 2014 It Girl")."""
    words = [t.lower_ for t in content if t.is_alpha or "'" in t.text]
    if len(words) < 2:
        return True
    if set(words) & _FIRST_PERSON:
        return False
    verbless = not any(t.pos_ in ("VERB", "AUX") for t in content)
    return (
        bool(set(words) & _ABOUT)
        or any(t.text == "?" for t in content)
        or (verbless and words[0] == "your")
    )


def _captioned(content: list[Any]) -> bool:
    """Content that ends in a bracketed media word, "(Video)", "(Photos)": a caption."""
    words = [t for t in content if not t.is_punct]
    return bool(words) and content[-1].text == ")" and words[-1].lower_ in _LABEL_FURNITURE


def _quoted_title(sent: Any, colon: Any) -> bool:
    """A label in quotation marks, "'Divergent': ...": the title of a work."""
    first = next((t for t in sent if not t.is_space), None)
    if first is None or not first.is_quote:
        return False
    # The quotation closes at the colon ("'Divergent': ...") or after it ("'Cosmos: A
    # Spacetime Odyssey' Pulls In ..."): no quotation mark between its opening and the colon.
    before = sent.doc[colon.i - 1]
    if before.is_quote:
        return True
    if any(t.is_quote for t in sent.doc[first.i + 1 : colon.i]):
        return False
    closing = ("'", "’") if first.text in ("'", "‘") else ('"', "”", "''")
    close = next((t for t in sent.doc[colon.i + 1 : sent.end] if t.is_quote), None)
    return (
        close is not None
        and close.text in closing
        and any(t.is_alpha for t in sent.doc[close.i + 1 : sent.end])
    )


def _speaker_labels(doc: Any) -> list[tuple[range, Attribution]]:
    """ "PENCE: Well, look ...", "Politifact: Trump is right": a name that opens a line or
    a sentence, then a colon, then what they say."""
    out = []
    for sent in doc.sents:
        toks = [t for t in sent if not (t.is_space or t.is_quote or t.text in "(")]
        colon = next((k for k, t in enumerate(toks[:6]) if t.text == ":"), None)
        if not colon or colon + 1 >= len(toks):
            continue
        label = toks[:colon]
        if _quoted_title(sent, toks[colon]):
            continue  # "'Divergent': IMAX screening ...": a work's title in quotes
        quoted = _opens_quote(sent, toks[colon])
        if quoted:
            label = _before_topic(label)
        after = toks[colon + 1 :]
        if _speaker_label(label, after) and _label_says(label, after, sent, quoted):
            content = _join(after)
            if content:
                span = range(toks[colon].i + 1, sent.end)
                out.append((span, Attribution(_join(label), ":", content)))
    return out


def _opens_quote(sent: Any, colon: Any) -> bool:
    nxt = next((t for t in sent.doc[colon.i + 1 : sent.end] if not t.is_space), None)
    return nxt is not None and nxt.is_quote


def _before_topic(label: list[Any]) -> list[Any]:
    """ "Justin Bieber on Selena Gomez: '...'" (a quotation follows): the speaker is the
    label before its topic."""
    cut = next((k for k, t in enumerate(label) if k and t.lower_ in ("on", "about")), None)
    return label[:cut] if cut is not None else label


def _dash_signatures(doc: Any) -> list[Attribution]:
    """ "... a real disgrace." ― Azucena Gonzalez': a name signed after a quotation."""
    out: list[Attribution] = []
    text = doc.text
    if "―" not in text and "—" not in text and "–" not in text:
        return out
    for tok in doc:
        # The dash may be glued to the closing quote ('”―') or set off by a space.
        glued = tok.text[:1] in ("”", '"') and tok.text[1:] in ("―", "—", "–")
        if not glued and tok.text not in ("―", "—", "–"):
            continue
        before = tok.i - 1
        while before >= 0 and doc[before].is_space:
            before -= 1
        if not glued and (before < 0 or not doc[before].is_quote):
            continue
        name = []
        for t in doc[tok.i + 1 : tok.i + 8]:
            if t.is_space and not name and "\n" not in t.text:
                continue
            if t.pos_ != "PROPN" and not (name and t.text == "."):
                break
            name.append(t)
        quoted = sorted(i for i in _quoted(doc) if i < tok.i)
        if not quoted:
            # The quotation opened before the snippet: its line up to the dash.
            start = max((t.i for t in doc[:before] if "\n" in t.text), default=-1) + 1
            quoted = list(range(start, before))
        if name and quoted:
            content = _join([doc[i] for i in quoted if i >= quoted[-1] - 60])
            out.append(Attribution(_join(name), "―", content))
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
