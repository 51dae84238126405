"""Search the stories: keyword (the store's full text, BM25) and semantic (embedding
cosine) candidates, ranked by a blend of the two, kept only above a relevance floor, best
story first.

A snippet's rank score is its cosine to the query plus ``KEYWORD_WEIGHT`` times its BM25
score relative to the query's best keyword match. A query is answered only when some
candidate clears the strict floor: at least ``MIN_COVERAGE`` of the query's words, or close
in meaning (cosine >= ``MIN_COSINE``) with at least one of them, or, with no word in
common, very close (>= ``MIN_COSINE_ALONE``). Once it is, any candidate holding one of the
query's words may follow. Below the floor nothing is returned: an empty list is the
explicit "no match". Weights and floors chosen on the tuning half of
benchmarks/search_quality.py's query set (docs/benchmarks.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storyline.errors import NotFoundError
from storyline.store import Store
from storyline.types import SearchHit

MIN_COVERAGE = 0.5
MIN_COSINE = 0.35
MIN_COSINE_ALONE = 0.6
KEYWORD_WEIGHT = 0.5
CANDIDATE_DEPTH = 200  # per list: a big story's own snippets fill the first few dozen
_TERM = re.compile(r"[^\W_]+", re.UNICODE)
# A date filter: an ISO date or a prefix of one, as the store's dates are compared (text):
# month 01-12, day 01-31, a time of hours, minutes, seconds; empty is no filter.
DATE_PATTERN = (r"^([1-9]\d{3}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])"
                r"([T ]([01]\d|2[0-3])(:[0-5]\d(:[0-5]\d(\.\d+)?)?)?Z?)?)?)?)?$")
_DATE = re.compile(DATE_PATTERN)


@dataclass(frozen=True)
class SearchFilters:
    """Batch range (names, inclusive) and publication date range (ISO prefixes, inclusive)."""

    first_batch: str | None = None
    last_batch: str | None = None
    since: str | None = None
    until: str | None = None


def checked_filters(filters: object) -> SearchFilters:
    """``filters`` (None: none) if they are SearchFilters of names and dates, else a
    UsageError naming the wrong one (a mistyped date matched nothing, silently)."""
    from storyline.errors import UsageError

    if filters is None:
        return SearchFilters()
    if not isinstance(filters, SearchFilters):
        raise UsageError(f"filters must be a SearchFilters, not {type(filters).__name__}")
    for name in ("first_batch", "last_batch", "since", "until"):
        value = getattr(filters, name)
        if value is not None and not isinstance(value, str):
            raise UsageError(f"filter {name} must be a string, not {type(value).__name__}")
        if name in ("since", "until") and value is not None and not _DATE.match(value):
            raise UsageError(f"filter {name} {value!r} is no date: give an ISO date or a "
                             "prefix of one (2025, 2025-03, 2025-03-14T09:30Z)")
    return filters


def query_terms(query: str) -> list[str]:
    """The query's words, lower-cased, once each.

    >>> query_terms("Malaysia plane, MALAYSIA!")
    ['malaysia', 'plane']
    """
    return list(dict.fromkeys(t.lower() for t in _TERM.findall(query or "")))


def matched_words(terms: list[str], text: str) -> list[str]:
    """The words of ``text`` that match a query term (as written there, for highlighting);
    a term matches a word it equals or starts, up to a plural or verb ending.

    >>> matched_words(["plane", "malaysia"], "Malaysian planes: the plane search")
    ['Malaysian', 'planes', 'plane']
    """
    out = []
    for word in _TERM.findall(text):
        w = word.lower()
        if any(w == t or (w.startswith(t) and len(w) - len(t) <= 3 and len(t) >= 3)
               for t in terms):
            out.append(word)
    return list(dict.fromkeys(out))


def _coverage(terms: list[str], matched: list[str]) -> float:
    found = {t for t in terms for m in matched if m.lower().startswith(t)}
    return len(found) / len(terms) if terms else 0.0


def passes_floor(coverage: float, cosine: float | None) -> bool:
    """The strict relevance floor: enough of the query's words, or close enough in meaning
    (a query none of whose candidates clears it has no match)."""
    if coverage >= MIN_COVERAGE:
        return True
    if cosine is None:
        return False
    return cosine >= MIN_COSINE_ALONE or (coverage > 0 and cosine >= MIN_COSINE)


def rank_score(cosine: float | None, keyword: float) -> float:
    """What candidates are ranked by: the cosine to the query (0 without embeddings) plus
    the keyword strength (BM25 relative to the query's best match, in [0, 1]) weighted."""
    return (cosine or 0.0) + KEYWORD_WEIGHT * keyword


def candidates(store: Store, query: str, encoder, depth: int,
               nearest) -> tuple[dict[int, float], dict[int, float]]:
    """Rank scores of candidate snippets (:func:`rank_score`), and their cosines to the
    query (if encoded); ``nearest(store, vector, limit)``: the snippets nearest a vector
    (views.nearest_snippets)."""
    keyword: dict[int, float] = {}
    matches = store.search_text(query, depth)
    best = min((score for _, score in matches), default=0.0)
    for sid, score in matches:  # BM25 as FTS5 gives it: negative, lower is better
        keyword[sid] = score / best if best < 0 else 0.0
    cosines: dict[int, float] = {}
    if encoder is not None and encoder.dim > 1:
        q = encoder.encode([query])[0]
        cosines.update(nearest(store, q, depth))
        # Keyword hits the nearest cells left out get their cosine read directly.
        rest = [sid for sid in keyword if sid not in cosines]
        if rest:
            vectors = store.embeddings(rest, encoder.dim)
            if len(vectors) == len(rest):
                cosines.update(zip(rest, (float(c) for c in vectors @ q)))
    ranked = {sid: rank_score(cosines.get(sid), keyword.get(sid, 0.0))
              for sid in keyword.keys() | cosines.keys()}
    return ranked, cosines


def search(store: Store, query: str, encoder=None, limit: int = 20, *, offset: int = 0,
           filters: SearchFilters = SearchFilters(), nearest=None) -> list[SearchHit]:
    """Stories matching ``query`` above the relevance floor, best first, one hit per story
    (its best-ranked snippet), ``offset``/``limit`` a page of them; [] when nothing matches
    (an empty or wordless query included). ``score`` is the hit's relevance in [0, 1]:
    the mean of its share of the query's words and its cosine to the query."""
    terms = query_terms(query)
    if not terms or limit <= 0:
        return []
    seq_range = _seq_range(store, filters)
    depth = max(CANDIDATE_DEPTH, 3 * (offset + limit))
    ranked, cosines = candidates(store, query, encoder, depth, nearest)
    names = store.batch_names()
    hits: list[SearchHit] = []
    seen: set[int] = set()
    anchored = False  # some candidate cleared the strict floor: the query has a match
    for sid, _ in sorted(ranked.items(), key=lambda kv: -kv[1]):
        if anchored and len(hits) >= offset + limit:
            break
        snippet = store.snippet(sid)
        if snippet is None:
            continue
        matched = matched_words(terms, snippet.text)
        coverage = _coverage(terms, matched)
        cosine = cosines.get(sid)
        strict = passes_floor(coverage, cosine)
        anchored = anchored or strict
        # A full page waiting for its anchor needs no more hits, only to learn if one comes.
        if len(hits) >= offset + limit or not (strict or coverage > 0):
            continue
        story_id = store.resolve(snippet.story_id)
        if story_id in seen:
            continue
        row = store.story(story_id)
        if seq_range and not (row.last_seq >= seq_range[0] and row.first_seq <= seq_range[1]):
            continue
        dates = store.story_dates(story_id)
        if not _dates_overlap(dates, filters):
            continue
        seen.add(story_id)
        relevance = (coverage + max(cosine, 0.0)) / 2 if cosine is not None else coverage
        hits.append(SearchHit(
            story_id=story_id, snippet_id=sid, text=snippet.text, score=round(relevance, 3),
            headline=_headline(store, row), matched=matched, size=row.size,
            first_batch=names.get(row.first_seq, ""), last_batch=names.get(row.last_seq, ""),
            first_date=dates[0], last_date=dates[1]))
    return hits[offset:offset + limit] if anchored else []


def _headline(store: Store, row) -> str:
    from storyline.views import _headline as story_headline

    return story_headline(store, row)


def _seq_range(store: Store, filters: SearchFilters) -> tuple[int, int] | None:
    if filters.first_batch is None and filters.last_batch is None:
        return None
    bounds = []
    for name, default in ((filters.first_batch, 0), (filters.last_batch, 1 << 62)):
        if name is None:
            bounds.append(default)
            continue
        found = store.batch(name)
        if found is None:
            raise NotFoundError(f"no batch {name!r}")
        bounds.append(found.seq)
    return bounds[0], bounds[1]


def _dates_overlap(dates: tuple[str | None, str | None], filters: SearchFilters) -> bool:
    if filters.since is None and filters.until is None:
        return True
    first, last = dates  # UTC, ISO 8601 (Store.story_dates)
    if first is None:
        return False  # a date filter keeps only stories known to fall in it
    since, until = (None if f is None else f.replace(" ", "T").removesuffix("Z")
                    for f in (filters.since, filters.until))
    if since is not None and last < since:
        return False
    return until is None or first[: len(until)] <= until
