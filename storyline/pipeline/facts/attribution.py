"""Attributions: who says so, the cue and what they attribute.

Cues: reporting verbs ("officials said", "she asked", "Trump tweeted", "the report found
that"), in either order ("..., X said" and "said X"), participles and conjoined verbs that
share their subject ("..., saying", "tweeted ... and urged"), "according to X", nouns of
saying with their possessor ("Trump's claim that"), colon forms ("X said: ...",
"PENCE: ...", "Source: X"). Sources are people, organisations, documents and media; a
pronoun source is kept as written (``mention``) and, when the snippet names a person before
it, ``source`` is that person.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from storyline.pipeline.facts.labels import _dash_signatures, _source_labels, _speaker_labels
from storyline.pipeline.facts.lexicon import (
    _COMPLEMENT_CUES,
    _FIRST_PERSON,
    _HEADLINE_NON_CUES,
    _INTENTION_CUES,
    _NOUN_CUES,
    _NOUN_LIKE_CUES,
    _SHOW_WORDS,
    _SPEAKER_NOUNS,
    _STANCE_ADJECTIVES,
    _STANCE_NOUNS,
    _STRONG_CUES,
    _THING_NOUNS,
    _THIRD_PERSON,
    _WEAK_CUES,
)
from storyline.pipeline.facts.records import Attribution
from storyline.pipeline.facts.spans import (
    _ends_sentence,
    _headline,
    _join,
    _quoted,
    _quoted_in,
    _running_quotes,
    _title_case,
)

_PERSONAL = _THIRD_PERSON
_KEPT_PRONOUNS = ("they", "it", "them", "their", "its")
# First and second person in news text are inside someone's quote: the attribution that
# counts is that someone's ("'I think ...,' she said").
_QUOTE_PERSONS = (*_FIRST_PERSON, "you", "your")
_RELATIVE = ("who", "which")
# Longer sentences (no news sentence in PolNeAR's or ECB+'s dev sets is over 111 tokens)
# get no attribution: see _attributions.
MAX_SENTENCE_TOKENS = 150
_QUESTION_WORDS = ("when", "whether", "if", "why", "how", "what", "where", "who")
# Cues whose prepositional object is what is said ("called for a ban", "responded with
# attacks"); other cues need an object or a clause ("Costume Revealed For 'The Flash'").
_PREP_CUES = frozenset(
    "call respond reply speak complain testify comment agree disagree write warn argue talk "
    "point plead rail lash joke boast".split()
)


def _source_text(
    tok: Any, doc: Any, content: frozenset[int] = frozenset()
) -> tuple[str, str | None] | None:
    """(source, mention) of a source token: its noun phrase, without trailing time phrases
    ("NIS on Sunday"); a pronoun stays as written in ``mention``."""
    lower = tok.lower_
    if lower in _RELATIVE and tok.head.dep_ == "relcl":
        # "Zelensky, who said ...": the source is Zelensky, written "who"; "Kaine is a
        # lawyer who is an opponent of ...": Kaine.
        antecedent = tok.head.head
        if antecedent.dep_ == "attr":
            antecedent = next(
                (c for c in antecedent.head.children if c.dep_ == "nsubj"), antecedent
            )
        named = _source_text(antecedent, doc, content | {t.i for t in tok.head.subtree})
        return (named[0], tok.text) if named else None
    if lower in _PERSONAL:
        # The last person named before the pronoun, outside the quoted content (a name in
        # the quote is who the speaker talks about); else the pronoun itself.
        people = [
            e
            for e in doc.ents
            if e.label_ == "PERSON" and e.end <= tok.i and e.root.i not in content
        ]
        return (people[-1].text if people else tok.text), tok.text
    if lower in _KEPT_PRONOUNS:
        return tok.text, tok.text
    if tok.pos_ == "PRON" or lower in ("this", "that", "these", "those") + _QUOTE_PERSONS:
        return None
    drop: set[int] = set(content)  # the content is never part of its source
    for child in tok.children:
        if child.dep_ == "prep" and any(
            g.ent_type_ in ("DATE", "TIME") for g in child.subtree if g.dep_ == "pobj"
        ):
            drop.update(t.i for t in child.subtree)
        if (
            child.dep_ in ("relcl", "acl")
            and child.i > tok.i
            and child.lemma_ in _STRONG_CUES
            and _has_complement(child)
        ):
            drop.update(t.i for t in child.subtree)
    toks = _clause_cut([t for t in tok.subtree if t.i not in drop], tok)
    # "... news: AT&T, Verizon slip; Son promises": a source never reaches back over a colon
    # or semicolon; the part next to the cue is the speaker.
    stops = [k for k, t in enumerate(toks) if t.text in (":", ";")]
    if stops:
        toks = toks[stops[-1] + 1 :]
    # "Responding, Edward Skyler, a spokesman ...": a misattached lead-in before a comma.
    if toks and toks[0].pos_ in ("VERB", "ADV", "SCONJ", "ADP") and toks[0].i < tok.i:
        commas = [t for t in toks if t.text == "," and t.i < tok.i]
        if commas:
            toks = [t for t in toks if t.i > commas[0].i]
    first = toks[0].lower_ if toks else ""
    if first in ("neither", "no", "nobody", "none"):
        return None
    text = _join(toks)
    return (text, None) if text else None


def _clause_cut(toks: list[Any], root: Any) -> list[Any]:
    """The noun phrase alone when a misparse hangs a clause on it: "Hackers dox Mt. Gox CEO"
    -> "Hackers", "Watch Ed Snowden" -> "Ed Snowden", "UPDATE 2-Bank of England" -> the bank."""
    for t in toks:
        if t.i != root.i and t.tag_ in ("VB", "VBP", "VBZ", "VBD") and t.dep_ not in (
            "relcl", "acl", "amod", "advcl", "conj"
        ):
            toks = [u for u in toks if u.i < t.i] if t.i > root.i else [
                u for u in toks if u.i > t.i
            ]
            break
    while toks and toks[0].lower_ in ("update", "updated", "watch") or (
        toks and (toks[0].like_num or toks[0].text == "-")
    ):
        toks = toks[1:]
    return toks


def _cue_text(verb: Any) -> str:
    negated = any(c.dep_ == "neg" for c in verb.children)
    aux = [
        c
        for c in verb.lefts
        if (c.dep_ == "aux" and (negated or c.lower_ not in ("to", "do", "did", "does")))
        or c.dep_ == "neg"
    ]
    prt = [c for c in verb.rights if c.dep_ == "prt"]
    return _join(aux + [verb] + prt)  # "wo" + "n't" joined as written: "won't"


def _after_colon(verb: Any) -> list[Any]:
    """ "He said: ..." -- what follows a colon right after the cue (or its particle)."""
    j = verb.i + 1
    doc = verb.doc
    while j < len(doc) and doc[j].dep_ in ("prt", "advmod") and doc[j].head.i == verb.i:
        j += 1
    if j < len(doc) and doc[j].text == ":":
        return [t for t in doc[j + 1 : verb.sent.end] if not t.is_space]
    return []


def _content(verb: Any, skip: set[int], strong: bool) -> list[Any]:
    """What the cue attributes: its clause, its object, the clause it follows, or what
    follows a colon."""
    # "has not said when they would ...": the parser takes the question for an adverbial.
    comps = [
        c
        for c in verb.children
        if c.dep_ in ("ccomp", "xcomp")
        or (c.dep_ == "advcl" and c.i > verb.i and c.left_edge.lower_ in _QUESTION_WORDS)
    ]
    # The object of "tell"/"inform" is the audience ("told Reuters"), not the content.
    audience = verb.lemma_ in ("tell", "inform", "brief")
    objs = [
        c
        for c in verb.children
        if c.i > verb.i
        and not _is_time_phrase(c)
        and (c.dep_ in ("dobj", "prep", "dative") or (strong and c.dep_ in ("attr", "oprd")))
    ]
    toks: list[Any] = []
    if comps:
        for c in comps:
            toks += list(c.subtree)
    elif objs and not audience and (
        any(c.dep_ == "dobj" for c in objs) or (strong and verb.lemma_ in _PREP_CUES)
    ):
        for c in objs:
            toks += list(c.subtree)
    elif verb.dep_ == "parataxis" or (
        verb.dep_ in ("conj", "advcl", "ccomp") and verb.i > verb.head.i
    ):
        # "Ukraine captured two soldiers, Zelenskyy said": the clause before the cue.
        own = {t.i for t in verb.subtree}
        toks = [t for t in verb.head.subtree if t.i not in own]
    if not toks and audience:
        # "told a meeting of leaders that few understood ...": the clause hung on the audience.
        toks = [t for o in objs for c in o.subtree if _that_clause(c) for t in c.subtree]
    toks = [t for t in toks if t.i not in skip] or _after_colon(verb)
    if not toks and any(c.dep_ == "agent" for c in verb.children):
        # "The issue was first reported by the Post": what was reported is the subject.
        toks = [t for c in verb.children if c.dep_ == "nsubjpass" for t in c.subtree]
    if not toks and strong:
        # "O'Neill said, \"Not going to go into that.\"": the quotation the parse left loose.
        toks = [verb.doc[i] for i in sorted(_quoted_in(verb.sent))]
    return [t for t in toks if t.i not in skip]


def _that_clause(tok: Any) -> bool:
    return tok.dep_ == "relcl" and any(
        m.lower_ == "that" and m.dep_ == "mark" for m in tok.children
    )


def _is_time_phrase(tok: Any) -> bool:
    """ "on Sunday", "in August": a preposition whose object is a date or time."""
    return tok.dep_ == "prep" and any(
        c.dep_ == "pobj" and c.ent_type_ in ("DATE", "TIME") for c in tok.children
    )


def _subject(verb: Any, depth: int = 0) -> Any | None:
    """Who does the cue: its subject, the agent of a passive, or the subject it shares with
    the verb it hangs off ("..., saying"; "tweeted ... and urged")."""
    subj = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    if subj is not None:
        return subj
    doc = verb.doc
    after_quote = verb.i > 0 and (doc[verb.i - 1].is_quote or doc[verb.i - 1].text == ",")
    nxt = doc[verb.i + 1] if verb.i + 1 < len(doc) else None
    if after_quote and nxt is not None and nxt.head.i == verb.i and nxt.pos_ == "PROPN":
        return nxt  # '"...?" asked Pence': the parser took the speaker for an object
    agent = next((c for c in verb.children if c.dep_ == "agent"), None)
    if agent is not None:  # "was rejected by the council"
        return next((c for c in agent.children if c.dep_ == "pobj"), None)
    if any(c.dep_ in ("nsubjpass", "csubj", "expl") for c in verb.children):
        return None
    head = verb.head
    if verb.dep_ == "pcomp" and head.lower_ == "as" and head.head.lemma_ == "quote":
        # "X was quoted as saying ...": X.
        return next((c for c in head.head.children if c.dep_ == "nsubjpass"), None)
    if head.i == verb.i or verb.tag_ == "VBN":  # "when asked": the subject was asked
        return None
    # "..., saying", "tweeted ... and urged", "went on to discuss": an infinitive of purpose
    # is done by the subject of the verb it hangs on, unless that verb has an object ("Will
    # Pay You $15 To Refer Users") or is a passive ("Subpoenaed To Testify").
    purpose = (
        verb.tag_ == "VB"
        and any(c.dep_ == "aux" and c.lower_ == "to" for c in verb.children)
        and head.tag_ != "VBN"
        and not any(c.dep_ in ("dobj", "dative") for c in head.children)
    )
    shares = verb.dep_ == "conj" or (verb.dep_ == "advcl" and (verb.tag_ == "VBG" or purpose))
    # "refused to say": the subject of the verb it completes, unless that verb has an object
    # ("urged voters to say": the voters would say).
    shares = shares or (
        verb.dep_ == "xcomp" and not any(c.dep_ in ("dobj", "dative") for c in head.children)
    )
    if not shares:
        return None
    subj = next((c for c in head.children if c.dep_ == "nsubj"), None)
    if subj is None and head.tag_ == "VBG" and head.dep_ == "advcl" and depth < 3:
        return _subject(head, depth + 1)  # "Sanders said, going on to say that ...": Sanders
    return subj


def _verb_attribution(tok: Any, doc: Any) -> Attribution | None:
    lemma = tok.lemma_.lower()
    if tok.pos_ not in ("VERB", "AUX"):
        return None
    strong = lemma in _STRONG_CUES
    near = range(tok.i + 1, min(tok.i + 4, len(doc)))
    after = _after_colon(tok) if any(doc[k].text == ":" for k in near) else []
    colon = bool(after)
    negated = any(c.dep_ == "neg" for c in tok.children)  # "have not said when ..."
    if negated and not _running_text(tok):
        return None  # "Juan Pablo Won't Tell ...": a headline's refusal is no one's words
    # "Caddell continued: \"...\"": any verb that opens a quotation with a colon.
    quote_colon = colon and (after[0].is_quote or "\n" in doc[after[0].i - 1].text)
    if lemma in _INTENTION_CUES and not strong:
        strong = _intends(tok)
        if not strong:
            return None
    if not (strong or quote_colon or lemma in _WEAK_CUES):
        return None
    if _headline_passive(tok):
        return None  # "Full Costume Revealed", "Parents warned phone addiction could ..."
    has_clause = any(c.dep_ == "ccomp" for c in tok.children)
    if lemma == "say" and _said_to(tok):
        return None  # "GM said to face probe": reportedly, no speaker
    if not _has_complement(tok):
        return None
    if lemma == "call" and not _calls_something(tok):
        return None  # "she called Machado": a phone call
    postposed = tok.dep_ in ("conj", "parataxis") and tok.i > tok.head.i
    if not strong and not (has_clause or postposed or colon):
        return None
    subj = _subject(tok)
    # "Says" is never a noun, so its subject is a speaker; other cues in a headline may be
    # nouns misread as verbs ("reality show", "Ratings notes") or things that show.
    headline = _headline(tok.sent)
    if subj is None or (lemma != "say" and headline and not _speaker(subj)):
        return None
    if _misread_cue(tok, subj, headline):
        return None
    skip = {t.i for t in subj.subtree}
    content_toks = _content(tok, skip, strong or colon)
    content = _join(content_toks)
    if not content:
        return None
    source = _source_text(subj, doc, frozenset(t.i for t in content_toks))
    if not source or (headline and set(source[0].lower().split()) & _SHOW_WORDS):
        return None  # a show's title read as the speaker ("..., Episode 10: The Women Tell")
    return Attribution(_before_other_cue(source[0], tok), _cue_text(tok), content, source[1],
                       negated)


def _running_text(verb: Any) -> bool:
    """A sentence of running text, not a headline: a full stop at the end, and its words
    other than names in lower case ("Attorney General Eric Schneiderman isn't saying if
    ..." is running text however many names it holds; "Why Powerful Women Want to Ban the
    B-Word." is a headline)."""
    words = [t for t in verb.sent if t.is_alpha and len(t) > 3 and t.pos_ != "PROPN"]
    capitals = sum(t.text[0].isupper() for t in words if not t.is_sent_start)
    return _ends_sentence(verb.doc) and capitals * 2 <= len(words)


def _intends(verb: Any) -> bool:
    """An intention cue with what is intended: an infinitive or a gerund ("wants to triple",
    "proposes doing away with"), or for "offer" and "propose" an object ("offered no proof"),
    in running text (a full stop at the end), not a headline."""
    if not _running_text(verb):
        return False
    if verb.lemma_.lower() in ("offer", "propose") and any(
        c.dep_ in ("dobj", "ccomp") for c in verb.children
    ):
        return True
    return any(
        c.dep_ in ("xcomp", "ccomp") and (c.tag_ == "VBG" or c.left_edge.lower_ == "to")
        for c in verb.children
    )


def _headline_passive(verb: Any) -> bool:
    """A headline's past form without an auxiliary reads as a passive ("Premiere Called
    'Boring'", "Hero Revealed", "Parents warned ..."): headlines tell what someone did in
    the present tense ("Obama says"), so the subject is what was said or who was told."""
    if any(c.dep_ in ("aux", "auxpass") for c in verb.children):
        return False
    if verb.tag_ == "VBN" and not any(c.dep_ in ("ccomp", "advcl") for c in verb.children):
        return _title_case(verb.sent)
    return (
        verb.tag_ in ("VBD", "VBN")
        and verb.lemma_.lower() != "say"
        and verb.dep_ in ("ROOT", "advcl", "conj")
        and _headline(verb.sent)
        and not _ends_sentence(verb.doc)
        and not _quoted_in(verb.sent)
    )


def _before_other_cue(source: str, verb: Any) -> str:
    """A headline's source that runs on into another cue the parser took for a name: "Juan
    Pablo Galavis Defends R-Word Joke, Tells ..." -> "Juan Pablo Galavis"."""
    if not _title_case(verb.sent):
        return source
    words = source.split()
    for k, word in enumerate(words[1:], start=1):
        w = word.lower()
        if w.endswith("s") and (w[:-1] in _STRONG_CUES or w[:-2] in _STRONG_CUES):
            return " ".join(words[:k])
    return source


_SEEING = ("watch", "see", "hear")


def _last_word(doc: Any) -> int:
    return max((t.i for t in doc if t.is_alpha), default=-1)


def _misread_cue(verb: Any, subj: Any, headline: bool) -> bool:
    """A cue word that says nothing here: a headline's "recall" or "considers", an
    infinitive after an adjective ("Hard to Tell If"), a question ("What did he say?") or a
    base form with one name for its subject, a noun misread ("Lindsay Lohan Tell All Book")."""
    doc = verb.doc
    lemma = verb.lemma_.lower()
    # Gated on no full stop: in a lead's sentence "added", "noted", "declined to" do attribute.
    bare_headline = headline and not _ends_sentence(doc)
    if bare_headline and (
        lemma in _HEADLINE_NON_CUES
        or (lemma in _NOUN_LIKE_CUES and verb.tag_ == "VBZ" and verb.i == _last_word(doc))
    ):
        return True
    if verb.tag_ == "VBG" and verb.dep_ == "xcomp" and verb.head.lemma_ in ("stop", "quit"):
        return True  # "stop calling girls 'bossy'": an appeal not to say it
    if bare_headline and lemma == "seek" and any(
        c.dep_ == "xcomp" and c.left_edge.lower_ == "to" for c in verb.children
    ):
        return True  # "Sbarro seeks to reorganize": an aim; "seeks US help" asks for it
    infinitive = verb.i > 0 and doc[verb.i - 1].lower_ == "to"
    if infinitive and (verb.head.pos_ in ("ADJ", "AUX") or verb.head.lemma_ == "be"):
        return True
    if any(c.dep_ == "aux" and c.lemma_ == "do" and c.i < subj.i for c in verb.children):
        return True
    auxiliary = any(c.dep_ in ("aux", "auxpass") for c in verb.children)
    # "Watch Ed Snowden tell SXSW techies: ...": a bare infinitive after a verb of seeing.
    seen = verb.head.lemma_ in _SEEING or subj.left_edge.lower_ in _SEEING
    return (
        verb.tag_ in ("VB", "VBP")
        and not (infinitive or auxiliary or seen)
        and subj.tag_ == "NNP"
        and not any(c.dep_ == "conj" for c in subj.children)
        and verb.lower_ == verb.lemma_.lower()
        and headline
    )


def _speaker(subj: Any) -> bool:
    """A headline subject that can say something: a pronoun, a name (untyped or of a person,
    organisation, place or group), or a noun of a person, group or document ("CEO",
    "study"); not a thing ("trailer promises") or a verb misread as a noun."""
    if subj.lower_ in _THING_NOUNS or subj.lemma_.lower() in _THING_NOUNS:
        return False  # "Speed Reading App Promises": a title-case thing, tagged as a name
    if subj.pos_ == "PRON" or subj.ent_type_ in ("PERSON", "ORG", "GPE", "NORP"):
        return True
    if subj.pos_ == "PROPN" and not subj.ent_type_:
        return True  # "Snowden Says": names the model has no type for
    # Any tag: in a headline the parser may tag the noun as a verb ("..., says report").
    return subj.lemma_.lower() in _SPEAKER_NOUNS or subj.lower_ in _SPEAKER_NOUNS


def _has_complement(verb: Any) -> bool:
    """False for a cue that needs a complement and has none ("spoke to ABC News")."""
    lemma = verb.lemma_.lower()
    return lemma not in _COMPLEMENT_CUES or any(
        c.dep_ in ("ccomp", "xcomp")
        or (c.dep_ in ("prep", "prt") and c.lower_ in _COMPLEMENT_CUES[lemma])
        for c in verb.children
    )


def _said_to(verb: Any) -> bool:
    """ "X said to face probe": an infinitive right after the cue (not a quotation, not a
    colon) reads "reportedly"."""
    return any(
        c.dep_ == "xcomp" and c.left_edge.lower_ == "to" and c.left_edge.i == verb.i + 1
        for c in verb.children
    )


def _stance_attribution(tok: Any, doc: Any) -> Attribution | None:
    """ "Graham has been critical of Trump", "Kaine is an opponent of the death penalty":
    the subject of a stance adjective or noun."""
    if not (
        (tok.dep_ == "acomp" and tok.lemma_.lower() in _STANCE_ADJECTIVES)
        or (tok.dep_ == "attr" and tok.lemma_.lower() in _STANCE_NOUNS)
    ):
        return None
    verb = tok.head
    if verb.lemma_ != "be" or any(c.dep_ == "neg" for c in verb.children):
        return None
    if any(c.dep_ == "nsubj" and c.i > verb.i for c in verb.children):
        return None  # "are we supporters or enablers?": a question, nobody's stance
    subj = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    content = _join([t for t in tok.subtree if t.i > tok.i])
    source = _source_text(subj, doc) if subj is not None and content else None
    if not source:
        return None
    return Attribution(source[0], _cue_text(verb) + " " + tok.text, content, source[1])


def _calls_something(verb: Any) -> bool:
    """ "called it a hoax", "called for a ban", "called on voters to": not a phone call.
    The parser often reads the name given as part of the object ("calls Obamacare 'crazy
    system'", "called the citation ... a transparent political ploy"): a quotation or a
    second, indefinite noun phrase after the object names it too."""
    if any(
        c.dep_ in ("oprd", "xcomp", "ccomp")
        or (c.dep_ in ("prep", "prt") and c.lower_ in ("for", "on") and not _is_time_phrase(c))
        for c in verb.children
    ):
        return True
    obj = next((c for c in verb.children if c.dep_ == "dobj"), None)
    if obj is None:
        return False
    return any(t.is_quote or (t.dep_ == "appos" and any(d.lower_ in ("a", "an")
                                                          for d in t.children))
               for t in obj.subtree)


def _according_to(tok: Any, doc: Any) -> Attribution | None:
    """ "according to X": X is the source, the clause around it the content."""
    if tok.lower_ != "according" or tok.i + 1 >= len(doc) or doc[tok.i + 1].lower_ != "to":
        return None
    # "according to show insiders": the parser may take the object for a clause (pcomp).
    pobj = next((c for c in doc[tok.i + 1].children if c.dep_ in ("pobj", "pcomp")), None)
    source = _source_text(pobj, doc) if pobj is not None else None
    if not source:
        return None
    own = {t.i for t in tok.subtree}
    clause = tok.head if tok.head.i != tok.i else tok
    content = _join([t for t in clause.subtree if t.i not in own])
    if not content:  # "according to X" heading its own sentence fragment
        content = _join([t for t in tok.sent if t.i not in own])
    return Attribution(source[0], "according to", content, source[1])


def _noun_attribution(tok: Any, doc: Any) -> Attribution | None:
    """ "Trump's claim that ...", "his statement": a noun of saying and its possessor."""
    if tok.pos_ != "NOUN" or tok.lemma_.lower() not in _NOUN_CUES:
        return None
    poss = next((c for c in tok.children if c.dep_ == "poss"), None)
    if poss is None or poss.pos_ == "PRON":
        return None  # "his proposals": too often a plan, not something said
    if not any(c.dep_ in ("acl", "ccomp") for c in tok.children):
        return None  # only with what was said: "Trump's claim that ..."
    content = _join([t for t in tok.subtree if t.i > tok.i])
    source = _source_text(poss, doc)
    if not content or not source:
        return None
    name = source[0]
    if source[1] is None and name.endswith(("'s", "’s")):
        name = name[:-2]
    return Attribution(name, tok.text, content, source[1])


def _attributions(doc: Any) -> list[Attribution]:
    found: list[tuple[int, Attribution]] = []
    contents: list[set[int]] = []
    # The rules walk a cue's clause: in a run-on "sentence" of thousands of tokens (a
    # page without full stops) that is the whole page for every cue, quadratic.
    run_on = {t.i for sent in doc.sents if len(sent) > MAX_SENTENCE_TOKENS for t in sent}
    for tok in doc:
        if tok.i in run_on:
            continue
        a = (
            _according_to(tok, doc)
            or _verb_attribution(tok, doc)
            or _noun_attribution(tok, doc)
            or _stance_attribution(tok, doc)
        )
        if a is not None:
            found.append((tok.i, a))
            contents.append(_content_span(tok, a))
    # A cue inside what another source says is reported speech within the report ("X says
    # that Clinton described ..."): the source is X's account, not a second attribution.
    covered = Counter(i for c in contents for i in c)
    found = [(i, a) for (i, a), own in zip(found, contents, strict=True)
             if covered[i] - (i in own) == 0]
    labelled = _speaker_labels(doc)
    labels = [a for _, a in labelled]
    # A transcript line ("PENCE: ... Clinton thinks ..."): cues after the label are the
    # labelled speaker's words.
    spoken = {i for span, _ in labelled for i in span}
    found = [(i, a) for i, a in found if i not in spoken]
    # A cue inside a quotation is the quoted speaker's words ("'I think ...,' she said"):
    # the attribution is the one outside it, when the sentence has one.
    quoted = _quoted(doc)
    if labels or any(i not in quoted for i, _ in found):
        found = [(i, a) for i, a in found if i not in quoted]
    # A quotation that runs on past its sentence is one speaker's long quote, attributed
    # in another sentence: the cues in it are that speaker's words.
    running = _running_quotes(doc) if found else set()
    found = [(i, a) for i, a in found if i not in running]
    return [a for _, a in found] + labels + _dash_signatures(doc) + _source_labels(doc)


def _content_span(cue: Any, a: Attribution) -> set[int]:
    """Token indexes of an attribution's content: the cue's clausal complement."""
    comps = [c for c in cue.children if c.dep_ == "ccomp"]
    return {t.i for c in comps for t in c.subtree}

