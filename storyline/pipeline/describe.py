"""Stage 6 — describe a story: headline, summary, and what is new.

* headline: the most central snippet (highest mean similarity to the rest of
  its story, more copies counting for more), cut to its first sentence;
* summary: maximal marginal relevance (Carbonell and Goldstein 1998) over the
  story's sentences, whole sentences only, within a word budget; an update (what
  a batch adds) is drawn from the batch's sentences towards the story's centre and
  away from what the summary before it said;
* novelty: a snippet is new in its batch unless what it says is already
  covered by the story's earlier snippets (close in meaning and adding few
  content words).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from storyline.config import SummaryWeights
from storyline.pipeline.normalize import plain_characters, word_count
from storyline.pipeline.represent import words

if TYPE_CHECKING:
    from storyline.config import Config
    from storyline.store import Store

# The one sentence splitter (describe and feeds.lead): a full stop, then a capital or
# a figure. pySBD and spaCy's sentencizer were tried (docs/benchmarks.md).
# A sentence ends at . ! ? before a capital or a digit, and at a full stop of Chinese or
# Japanese (。！？, or . ! ? before their script) with or without a space.
_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|(?<=[。！？])\s*"
                       r"|(?<=[.!?])\s*(?=[\u3040-\u30ff\u3400-\u9fff])")
# A full stop after these (titles, initials, "Mt. Gox", "9 a.m.") ends no sentence.
_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|Sen|Rep|Gov|Gen|Lt|Col|Sgt|Capt|Maj|Adm|Cmdr|Rev|"
                     r"Hon|Pres|Det|Mt|Ft|St|Jr|Sr|Inc|Ltd|Co|Corp|U\.S|U\.K|U\.N|No|vs|"
                     r"Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec|a\.m|p\.m|[A-Z])\.$")
# News agencies that put their name in a dateline: "WASHINGTON (AP) _".
_AGENCY = (r"(?:AP|Reuters|AFP|CNN|UPI|dpa|DPA|Xinhua|Bloomberg|BBC|IANS|PTI|ANI|Kyodo|"
           r"Yonhap|TASS|EFE|ANSA|AAP|NYT|CP)")
# Datelines are not content. With an agency, the place may be written any way:
# "BEIJING, March 3 (Xinhua) --", "KYIV, Ukraine (AP) -", "(CNN) --". Without one,
# only a place in capitals and a dash: "NEW YORK _", "LONDON --", "SAN JUAN, Puerto Rico -"
# (en and em dashes are plain dashes by now, see normalize.plain_characters).
_AGENCY_DATELINE = re.compile(
    rf"^(?:[A-Z][\w.'&-]*(?:,? [A-Z0-9][\w.'&-]*){{0,6}},? ?)?\({_AGENCY}\) ?(?:_|-{{1,3}}|:)? ?")
_PLACE_DATELINE = re.compile(
    r"^([A-Z][A-Z.'-]+(?: [A-Z][A-Z.'-]+){0,3})(?:, [A-Z][\w.'-]*(?: [A-Z0-9][\w.'-]*){0,3})?"
    r" (?:_|-{1,3}) (?=[A-Z0-9\"'])")
# Whole sentences that are no content: bylines are tested apart (_is_byline).
_STAMP = re.compile(r"^(?:Posted|Published|Updated|Last (?:updated|modified)|Filed|Created)\b",
                    re.I)
_CREDIT = re.compile(r"contributed (?:to this report|reporting)|all rights reserved|"
                     r"may not be (?:published|reproduced|redistributed)|"
                     r"^(?:copyright\b|©|\(c\) ?\d{4}|c\. ?\d{4})|"
                     r"^from (?:staff|wire|news) (?:reports|services)", re.I)
_WEB = re.compile(r"^(?:On the Net|Click here|Follow (?:us|him|her|me|them) on|Sign up|"
                  r"Subscribe|Share this|Advertisement|Read more|See also|Related:|Photo:|"
                  r"Image:|Source:|Details:)|https?://|www\.", re.I)
_SOURCE_NOTE = re.compile(r"\s*(?:Source|Details|Photo|Image|Read more):.*$")
_DATE_WORD = re.compile(
    r"^(?:\d[\d:,./-]*(?:st|nd|rd|th)?|jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|"
    r"june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|"
    r"mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:rs(?:day)?)?|fri(?:day)?|"
    r"sat(?:urday)?|sun(?:day)?|[ap]\.?m\.?|[ecmp][sd]?t|gmt|utc|bst|cet|cest|ist|jst|"
    r"at|on|of|the|local|time|hrs?)$", re.I)
_BYLINE_GLUE = {"and", "of", "the", "for", "in", "&"}


def sentences(text: str) -> list[str]:
    """Whole sentences of a snippet or article, without datelines, bylines,
    time stamps, credits, links or editors' notes."""
    out = []
    for piece in _pieces(plain_characters(text)):
        for s in split_sentences(piece):
            s = _strip_dateline(_SOURCE_NOTE.sub("", s).strip())
            if word_count(s) >= 4 and not _is_boilerplate(s):
                out.append(s)
    return out


def _pieces(text: str) -> list[str]:
    """Paragraphs, one line each. A line break inside a paragraph is wrapping,
    except after a short line that ends on a word (a headline, a byline or a
    dateline on a line of its own), which is a piece of its own."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        current: list[str] = []
        for line in block.split("\n"):
            line = " ".join(line.split())
            if not line:
                continue
            current.append(line)
            if len(line) < 50 and line[-1] not in ".!?\"'),;:":
                out.append(" ".join(current))
                current = []
        if current:
            out.append(" ".join(current))
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph, kept whole after titles, initials and the like.

    >>> split_sentences("Mr. Smith left at 9 a.m. Friday. He did not return.")
    ['Mr. Smith left at 9 a.m. Friday.', 'He did not return.']
    """
    parts: list[str] = []
    for piece in _SENTENCE.split(text):
        piece = piece.strip()
        if not piece:
            continue
        if parts and _ABBREV.search(parts[-1]):
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    return parts


def _strip_dateline(s: str) -> str:
    stripped = _AGENCY_DATELINE.sub("", s, count=1)
    if stripped != s:
        return stripped
    place = _PLACE_DATELINE.match(s)
    # A place in capitals and a dash also starts headlines ("NATO - Russia talks"):
    # only a sentence that goes on to a full stop has a dateline.
    if place and sum(c.isalpha() for c in place.group(1)) >= 4:
        rest = s[place.end():]
        if len(rest.split()) >= 6 and rest[-1] in ".!?\"'":
            return rest
    return s


def _is_boilerplate(s: str) -> bool:
    if _STAMP.match(s) and len(s.split()) <= 15 or _CREDIT.search(s) or _WEB.search(s):
        return True
    tokens = re.findall(r"[\w.:/&-]+", s)
    if sum(bool(_DATE_WORD.match(t.rstrip(".,"))) for t in tokens) >= 0.8 * len(tokens):
        return True  # "Mar 14, 2013 10:41 AM EDT."
    letters = [c for c in s if c.isalpha()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) >= 0.9 * len(letters):
        return True  # "(STORY CAN END HERE. OPTIONAL 2ND TAKE FOLLOWS.)"
    return _is_byline(tokens)


def _is_byline(tokens: list[str]) -> bool:
    """"By John Smith, Associated Press Writer": "By" and names only
    (not "By Monday, the storm had passed.")."""
    if not tokens or tokens[0] != "By" or not 2 <= len(tokens) <= 10:
        return False
    return all(t[0].isupper() or t.lower() in _BYLINE_GLUE for t in tokens[1:])


def headline_like(text: str) -> bool:
    """Title Case: most of the longer words capitalised (a headline, not a sentence)."""
    long_words = [w for w in re.findall(r"[A-Za-z][\w'-]*", text) if len(w) > 3]
    if len(long_words) < 3:
        return False
    return sum(w[0].isupper() for w in long_words) / len(long_words) >= 0.7


def first_sentence(text: str, max_words: int = 30) -> str:
    parts = sentences(text) or [text.strip()]
    head = parts[0]
    tokens = head.split()
    if len(tokens) > max_words:
        head = " ".join(tokens[:max_words]).rstrip(",;:") + "…"
    return head


def pick_headline(texts: Sequence[str], vectors: np.ndarray, copies: Sequence[int],
                  truncated: Sequence[bool], weights: SummaryWeights = SummaryWeights()) -> int:
    """Index of the snippet that best stands for the story.

    >>> vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    >>> pick_headline(["a", "b", "c"], vectors, [1, 1, 1], [False] * 3)
    1
    """
    n = len(texts)
    if n == 1:
        return 0
    sim = vectors @ vectors.T
    copy_weights = np.asarray(copies, dtype=np.float64)
    # Mean similarity to every other arrival of the story, a snippet's own
    # other copies included (they say the same, at similarity 1).
    centrality = (sim @ copy_weights - np.diag(sim)) / max(copy_weights.sum() - 1, 1)
    score = (centrality + weights.headline_copies * np.log1p(copy_weights)
             - weights.headline_truncated * np.asarray(truncated, dtype=float))
    return int(np.argmax(score))


def mmr(
    candidates: np.ndarray,
    relevance: np.ndarray,
    lengths: Sequence[int],
    budget: int,
    lam: float = 0.7,
    avoid: np.ndarray | None = None,
    redundancy_cap: float = 0.85,
    word_sets: Sequence[frozenset[str]] | None = None,
    same_words: float = 1.0,
) -> list[int]:
    """Maximal marginal relevance under a word budget.

    ``candidates`` are unit vectors (rows); ``relevance`` their scores;
    ``avoid`` rows are already said (earlier summaries) and count as selected
    for redundancy. Sentences above ``redundancy_cap`` similarity to something
    already selected are never taken, nor (given ``word_sets``, their content
    words) those sharing ``same_words`` of the shorter one's words with one taken.
    """
    chosen: list[int] = []
    used = 0
    said = avoid if avoid is not None and len(avoid) else np.zeros((0, candidates.shape[1]))
    redundancy = (candidates @ said.T).max(axis=1) if len(said) else np.zeros(len(candidates))
    available = np.ones(len(candidates), dtype=bool)
    while True:
        fits = available & (np.asarray(lengths) + used <= budget) & (redundancy < redundancy_cap)
        if not fits.any():
            break
        score = lam * relevance - (1 - lam) * np.maximum(redundancy, 0)
        score[~fits] = -np.inf
        best = int(np.argmax(score))
        chosen.append(best)
        used += lengths[best]
        available[best] = False
        redundancy = np.maximum(redundancy, candidates @ candidates[best])
        if word_sets is not None:
            for i in np.flatnonzero(available):
                if _overlap(word_sets[i], word_sets[best]) >= same_words:
                    available[i] = False
    return chosen


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of the smaller set's words the other one holds (1.0: one says the other)."""
    return len(a & b) / min(len(a), len(b)) if a and b else float(a == b)


@dataclass
class Summary:
    text: str
    sentence_ids: list[int]  # indexes into the sentence list given


def summarize_sentences(
    sents: Sequence[str], vectors: np.ndarray, budget: int, *,
    query_vector: np.ndarray | None = None, query_text: str | None = None,
    said: np.ndarray | None = None, said_words: set[str] | None = None,
    held: np.ndarray | None = None, story_centre: np.ndarray | None = None,
    order: Sequence[int] | None = None, positions: Sequence[int] | None = None,
    weights: SummaryWeights = SummaryWeights(),
) -> Summary:
    """An extractive summary of ``sents`` of at most ``budget`` words.

    Relevance is closeness to the centre of all the sentences, in meaning and
    in words (what most sources say), and to the query when one is given
    (``query_vector``, ``query_text``). Update mode (``said`` given): ``said``
    holds vectors of what the reader was already told (the earlier summary),
    which is then avoided, and ``held`` what earlier batches held (avoided
    at ``weights.update_held`` of their similarity: background no summary gave
    is no repeat, but is no news either); ``story_centre`` (the whole story's, see
    ``lead_weighted_centre``) stands in for the batch's centre by
    ``weights.update_story_centre``, so the update stays on the event rather than
    on what only this batch dwells on;
    ``said_words`` (the content words already told) make sentences mostly made of
    them lose and sentences with new numbers and names gain.
    ``positions`` (a sentence's index within its article) favour leads, which
    carry the news in news writing. Selected sentences come out in ``order``
    (their position in the stream). ``weights``: config.SummaryWeights.

    >>> sents = ["The storm hit the coast on Monday night.",
    ...          "The storm closed every school on the coast.", "Unrelated words here."]
    >>> vectors = np.array([[1.0, 0.0], [0.9, 0.436], [0.0, 1.0]])
    >>> summarize_sentences(sents, vectors, budget=9).text  # the most central that fits
    'The storm closed every school on the coast.'
    """
    if not len(sents):
        return Summary("", [])
    update = said is not None
    if update and held is not None and len(held):
        # Scaled rows: their cosines with every sentence count at that share.
        said = np.vstack([said, weights.update_held * held])
    words_ = SentenceWords(sents)
    relevance = _relevance(vectors, words_, story_centre if update else None, order, positions,
                           weights)
    if said_words is not None:
        relevance = relevance + _newness(sents, said_words, weights)
    if query_vector is not None or query_text:
        # What matters in general (centre, leads) gives way to the query, in
        # meaning and in words.
        to_query = np.zeros(len(sents))
        if query_vector is not None:
            to_query += vectors @ query_vector
        if query_text:
            to_query += words_.cosines(query_text)
        relevance = (1 - weights.query_share) * relevance + weights.query_share * to_query
        # Sentences further from the query than the average one answer something
        # else: a focused summary may come out shorter rather than stray.
        on_query = to_query >= to_query.mean()
    else:
        on_query = np.ones(len(sents), dtype=bool)
    lengths = [word_count(s) for s in sents]
    # Very short sentences ("Everyone's digital these days.") are asides, not
    # news: they may only fill in when nothing longer is left.
    # Headlines ("Paris : Jewellery Stolen In Costly Shop Raid") are not sentences
    # either: they fill in only where a story has nothing else (headline feeds).
    shortest = weights.min_sentence_words
    eligible = ([i for i, n in enumerate(lengths)
                 if n >= shortest and on_query[i] and not headline_like(sents[i])]
                or [i for i, n in enumerate(lengths) if n >= shortest and on_query[i]]
                or [i for i in range(len(sents)) if on_query[i]])
    picked = [eligible[i] for i in mmr(vectors[eligible], relevance[eligible],
                                       [lengths[i] for i in eligible], budget,
                                       lam=weights.update_mmr_lambda if update
                                       else weights.mmr_lambda, avoid=said,
                                       redundancy_cap=weights.redundancy_cap,
                                       word_sets=[frozenset(words(sents[i])) for i in eligible],
                                       same_words=weights.same_words)]
    if order is not None:
        picked.sort(key=lambda i: order[i])
    return Summary(" ".join(_as_sentence(sents[i]) for i in picked), picked)


def _relevance(vectors: np.ndarray, words_: SentenceWords, story_centre: np.ndarray | None,
               order: Sequence[int] | None, positions: Sequence[int] | None,
               weights: SummaryWeights) -> np.ndarray:
    """Closeness to the centre in meaning and in words, leads and early sentences first."""
    centre = _unit(vectors.mean(axis=0))
    if story_centre is not None:
        share = weights.update_story_centre
        centre = _unit((1 - share) * centre + share * _unit(story_centre))
    relevance = vectors @ centre
    # And closeness to the centre of their words (MEAD's centroid score).
    relevance = relevance + weights.word_centrality * words_.centrality()
    # Prefer earlier sentences a little: leads carry the news.
    if order is not None:
        rank = np.asarray(order, dtype=float)
        relevance = relevance - weights.stream_order * rank / max(rank.max(), 1)
    if positions is not None:
        # Articles put the news first (the inverted pyramid): an article's lead
        # gains the most, its second sentence half that, and so on.
        relevance = relevance + weights.lead_position / (1.0 + np.asarray(positions, dtype=float))
    return relevance


def lead_weighted_centre(vectors: np.ndarray, positions: Sequence[int]) -> np.ndarray:
    """Centre of a story's sentences with each weighing as the lead prior does
    (an article's lead 1, its second sentence 1/2, …): what the articles open with.

    >>> lead_weighted_centre(np.array([[1.0, 0.0], [0.0, 1.0]]), [0, 1]).round(3).tolist()
    [0.894, 0.447]
    """
    weights = 1.0 / (1.0 + np.asarray(positions, dtype=float))
    return _unit(weights @ vectors)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / (np.linalg.norm(vector) or 1.0)


_FACT_TOKEN = re.compile(r"\b(?:\d[\d.,]*|[A-Z][a-z]+(?:[A-Z]\w*)?)\b")


def _newness(sents: Sequence[str], known: set[str], weights: SummaryWeights) -> np.ndarray:
    """Update mode: minus the share of a sentence's content words earlier batches held,
    plus the share of its figures and names (after its first word) that are new."""
    out = np.zeros(len(sents))
    for i, s in enumerate(sents):
        content = set(words(s))
        if content:
            out[i] -= weights.update_known * len(content & known) / len(content)
        facts = {t.lower() for t in _FACT_TOKEN.findall(s.split(" ", 1)[-1])}
        if facts:
            out[i] += weights.update_new_facts * len(facts - known) / len(facts)
    return out


class SentenceWords:
    """The sentences' content words, weighted TF-IDF with the sentences as documents."""

    def __init__(self, sents: Sequence[str]) -> None:
        bags = [Counter(words(s)) for s in sents]
        df = Counter(w for bag in bags for w in bag)
        n = len(bags)
        self._unseen_idf = math.log(1 + n) + 1  # a word no sentence uses
        self.idf = {w: math.log((1 + n) / (1 + d)) + 1 for w, d in df.items()}
        self.vectors = [self._vector(bag) for bag in bags]
        self._norms = [_norm(v) for v in self.vectors]

    def _vector(self, bag: Counter) -> dict[str, float]:
        return {w: c * self.idf.get(w, self._unseen_idf) for w, c in bag.items()}

    def _cosines(self, target: dict[str, float]) -> np.ndarray:
        norm_t = _norm(target) or 1.0
        out = np.zeros(len(self.vectors))
        for i, (vec, norm) in enumerate(zip(self.vectors, self._norms)):
            if norm:
                out[i] = sum(v * target.get(w, 0.0) for w, v in vec.items()) / (norm * norm_t)
        return out

    def centrality(self) -> np.ndarray:
        """Cosine of each sentence with the centroid of all of them (MEAD's
        centroid score, Radev et al. 2004): what most sentences keep saying."""
        centroid: Counter = Counter()
        for vec in self.vectors:
            centroid.update(vec)
        return self._cosines(centroid)

    def cosines(self, text: str) -> np.ndarray:
        """Cosine of each sentence with ``text`` (a query)."""
        return self._cosines(self._vector(Counter(words(text))))


def _norm(vector: dict[str, float]) -> float:
    return math.sqrt(sum(v * v for v in vector.values()))


def _as_sentence(text: str) -> str:
    """Headlines carry no full stop; joined bare they would read as one long sentence."""
    text = text.rstrip()
    if text.endswith("..."):  # a cut headline stays visibly cut
        text = text[:-3].rstrip() + " …"
    return text if not text or text[-1] in ".!?…\"')»。！？" else f"{text}."


def novelty(
    new_vectors: np.ndarray, new_texts: Sequence[str],
    old_vectors: np.ndarray, old_texts: Sequence[str], cover: float,
) -> list[bool]:
    """For each new snippet: does it bring something its story did not hold?

    A snippet is covered (not new) when an earlier snippet is close in meaning
    (cosine >= ``cover``) and it adds less than a third new content words.
    """
    if not len(old_texts):
        return [True] * len(new_texts)
    known = {w for t in old_texts for w in words(t)}
    closest = (new_vectors @ old_vectors.T).max(axis=1)
    out = []
    for text, close in zip(new_texts, closest):
        content = set(words(text))
        fresh = len(content - known) / max(len(content), 1)
        out.append(not (close >= cover and fresh < 1 / 3))
    return out


# Stories described per round of reads and writes (their recent parts held at once).
DESCRIBE_AT_ONCE = 256


def describe_stories(store: Store, seq: int, story_ids: set[int], new_ids: set[int], dim: int,
                     config: Config) -> None:
    """Headline, summary and novelty of every story batch ``seq`` touched,
    written to the store (``new_ids``: the batch's new snippets)."""
    ordered = sorted(story_ids)
    # A few queries and writes for all the stories (one each was a round trip each to a
    # remote server), DESCRIBE_AT_ONCE stories at a time so that memory stays bounded.
    for start in range(0, len(ordered), DESCRIBE_AT_ONCE):
        part = ordered[start:start + DESCRIBE_AT_ONCE]
        # From each story's recent part: time and memory bounded however long it runs.
        members_of = store.recent_snippets_of(part, config.story_recent)
        ids = [m.id for members in members_of.values() for m in members]
        copies = store.copies_of(ids)
        every_vector = store.embeddings(ids, dim)  # rows in the order of ids
        described = store.stories_of(part)
        rows, not_novel = [], []
        at = 0
        for story_id, members in members_of.items():
            vectors, at = every_vector[at:at + len(members)], at + len(members)
            if members:
                rows.append(_description(story_id, members, vectors, copies,
                                         described.get(story_id), seq, config))
                not_novel += _not_novel(members, vectors, new_ids, seq, config)
        store.describe_stories(_with_headlines(rows))
        # New snippets are written novel (the column's default): only the others change.
        store.set_novel((snippet, False) for snippet in not_novel)


def _description(story_id: int, members: list, vectors: np.ndarray, copies: dict,
                 row, seq: int, config: Config) -> tuple[int, int, str, str | tuple]:
    """(story id, headline snippet id, summary, headline) of one story; the headline
    is its head's (lead, titles) where it has to be made (:func:`_with_headlines`)."""
    texts = [m.text for m in members]
    counts = [len(copies.get(m.id, [])) or 1 for m in members]
    head = pick_headline(texts, vectors, counts, [m.truncated for m in members],
                         config.summary)
    summary = story_summary(texts, vectors, config.summary_words, config.summary)
    head_copies = copies.get(members[head].id, [])
    if (row is not None and row.headline is not None and row.headline_id == members[head].id
            and not any(c.title and c.batch_seq == seq for c in head_copies)):
        headline = row.headline  # the same head, no new title: parsed once (a new process)
    else:
        headline = (first_sentence(texts[head], max_words=80),
                    [c.title for c in head_copies if c.title])
    return story_id, members[head].id, summary, headline


def _with_headlines(rows: list[tuple]) -> list[tuple[int, int, str, str]]:
    """``rows`` of :func:`_description` with their headlines made, all at once."""
    from storyline.pipeline.headline import headline_texts

    todo = [i for i, row in enumerate(rows) if isinstance(row[3], tuple)]
    made = headline_texts([rows[i][3] for i in todo])
    rows = list(rows)
    for i, headline in zip(todo, made, strict=True):
        rows[i] = (*rows[i][:3], headline)
    return rows


def _not_novel(members: list, vectors: np.ndarray, new_ids: set[int], seq: int,
               config: Config) -> list[int]:
    """The story's new snippets that brought it nothing new."""
    texts = [m.text for m in members]
    fresh = [i for i, m in enumerate(members) if m.id in new_ids]
    old = [i for i, m in enumerate(members) if m.batch_seq < seq]
    flags = novelty(vectors[fresh], [texts[i] for i in fresh], vectors[old],
                    [texts[i] for i in old], config.novelty_cover)
    return [members[i].id for i, flag in zip(fresh, flags) if not flag]


def story_headline(text: str, titles: Sequence[str]) -> str:
    """The headline of a story headed by the snippet ``text`` whose copies carry
    ``titles`` (pipeline/headline.py): written with the story, so no read parses it."""
    from storyline.pipeline.headline import headline_text

    return headline_text(first_sentence(text, max_words=80), titles)


def story_summary(texts: Sequence[str], vectors: np.ndarray, budget: int,
                  weights: SummaryWeights = SummaryWeights()) -> str:
    """MMR over a story's sentences; each sentence weighs as its snippet."""
    if len(texts) == 1:
        return " ".join(sentences(texts[0])[:2]) or texts[0]
    sents, rows = [], []
    for i, text in enumerate(texts):
        for s in sentences(text) or [text]:
            sents.append(s)
            rows.append(i)
    # Sentences share their snippet's vector: encoding each sentence again
    # would cost a model call per sentence on every batch.
    return summarize_sentences(sents, vectors[rows], budget, order=list(range(len(sents))),
                               weights=weights).text
