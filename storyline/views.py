"""Read-side views of a store: story lists, one story, changes per batch, search, export.

The CLI, the Python API and the web server all read through these functions,
so they show the same thing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from storyline.errors import NotFoundError
from storyline.store import Store
from storyline.store.rows import CopyRow, SnippetRow, StoryRow
from storyline.types import (
    CopyView,
    DormancyRule,
    SearchHit,
    SnippetView,
    SourceCount,
    StoryChanges,
    StoryDetail,
    StorySummary,
    TimelineEntry,
)

NotFound = NotFoundError


def _headline(store: Store, row: StoryRow) -> str:
    from storyline.pipeline.describe import first_sentence

    snippet = store.snippet(row.headline_id) if row.headline_id else None
    return first_sentence(snippet.text) if snippet else ""


def _status(row: StoryRow, dormant_seqs: set[int]) -> str:
    return "dormant" if row.last_seq in dormant_seqs else "active"


@dataclass
class StoryPage:
    """One page of the story list, and how many stories match on all pages."""

    total: int
    stories: list[StorySummary]


def story_page(
    store: Store, *, batch: str | None = None, status: str | None = None,
    text: str | None = None, limit: int | None = None, offset: int = 0,
    min_size: int = 1, dormancy: DormancyRule = DormancyRule(),
) -> StoryPage:
    """Live stories, biggest first (then the latest news, then newest), a page of them.

    The store filters and orders the story rows; only the page's stories get their
    headlines, timelines and sources read, so a page costs the same in a large store.
    ``text`` matches the headline or the summary, ignoring case.
    """
    names = store.batch_names()
    dormant = store.dormant_seqs(dormancy)
    batch_seq = None
    if batch is not None:
        found = store.batch(batch)
        if found is None:
            raise NotFound(f"no batch {batch!r}")
        batch_seq = found.seq
    if status and status not in ("active", "dormant"):
        return StoryPage(0, [])
    needle = (text or "").lower()
    # "…" may be added by the headline's cut: no superset the store can test ("" reads
    # the summaries without filtering).
    rows = store.story_list(min_size=min_size, batch_seq=batch_seq, dormant=dormant,
                            status=status or None,
                            needle=(needle if "…" not in needle else "") if needle else None)
    headlines: dict[int, str] = {}
    if needle:
        kept = []
        for r in rows:
            headlines[r.id] = _headline(store, r)
            if needle in headlines[r.id].lower() or needle in r.summary.lower():
                kept.append(r)
        rows = kept
    end = None if limit is None else offset + limit
    page = rows[offset:end]
    counts, sources = store.story_arrivals([r.id for r in page])
    return StoryPage(len(rows), [
        StorySummary(
            id=r.id, headline=headlines.get(r.id) or _headline(store, r), size=r.size,
            copies=sum(c for c, _ in counts[r.id].values()), sources=len(sources[r.id]),
            first_batch=names.get(r.first_seq, ""), last_batch=names.get(r.last_seq, ""),
            status=_status(r, dormant),
            batches=[TimelineEntry(names[seq], c, n)
                     for seq, (c, n) in sorted(counts[r.id].items())],
        )
        for r in page
    ])


def list_stories(store: Store, **filters) -> list[StorySummary]:
    """The lines of :func:`story_page` (same filters), without the total."""
    return story_page(store, **filters).stories


def _copy_view(c: CopyRow, names: dict[int, str]) -> CopyView:
    return CopyView(id=c.id, batch=names[c.batch_seq], source=c.source, url=c.url, kind=c.kind,
                    external_id=c.external_id)


def _snippet_view(s: SnippetRow, copies: list[CopyRow], names: dict[int, str]) -> SnippetView:
    first = copies[0] if copies else None
    return SnippetView(
        id=s.id, text=s.text, batch=names[s.batch_seq], source=first.source if first else None,
        url=first.url if first else None, truncated=s.truncated,
        copies=[_copy_view(c, names) for c in copies], novel=s.novel,
        external_id=first.external_id if first else None,
    )


def story_detail(store: Store, story_id: int,
                 dormancy: DormancyRule = DormancyRule()) -> StoryDetail:
    """One story; an id absorbed by a merge shows the story it lives on in."""
    live = store.resolve(story_id)
    if live is None:
        raise NotFound(f"no story {story_id}")
    row = store.story(live)
    names = store.batch_names()
    snippets = store.story_snippets(live)
    copies = store.copies_of([s.id for s in snippets])
    timeline = store.story_batch_counts([live])[live]
    sources = store.story_source_counts([live])[live]
    return StoryDetail(
        id=live, headline=_headline(store, row), size=row.size,
        copies=sum(c for _, c, _ in timeline), sources=len(sources),
        first_batch=names.get(row.first_seq, ""), last_batch=names.get(row.last_seq, ""),
        status=_status(row, store.dormant_seqs(dormancy)),
        batches=[TimelineEntry(names[seq], c, n) for seq, c, n in timeline],
        summary=row.summary,
        source_counts=[SourceCount(s, n) for s, n in sources],
        snippets=[_snippet_view(s, copies[s.id], names) for s in snippets],
        merged_from=store.merged_from(live),
        follows=_live_or_none(store, store.follows(live)),
        followed_by=store.followed_by(live),
    )


def _live_or_none(store: Store, story_id: int | None) -> int | None:
    return None if story_id is None else store.resolve(story_id)


def batch_changes(store: Store, batch: str) -> list[StoryChanges]:
    """Per story touched by ``batch``: its new snippets, and the copies of older ones."""
    found = store.batch(batch)
    if found is None:
        raise NotFound(f"no batch {batch!r}")
    names = store.batch_names()
    arrivals = store.batch_copies(found.seq)
    by_story: dict[int, StoryChanges] = {}
    ids = sorted({c.snippet_id for c in arrivals})
    snippets = store.snippet_rows(ids)
    copies = store.copies_of(ids)
    resolved: dict[int, int] = {}
    for c in arrivals:
        s = snippets[c.snippet_id]
        if s.story_id not in resolved:
            resolved[s.story_id] = store.resolve(s.story_id)
        live = resolved[s.story_id]
        if live not in by_story:
            row = store.story(live)
            by_story[live] = StoryChanges(story_id=live, headline=_headline(store, row),
                                          new_story=row.first_seq == found.seq)
        change = by_story[live]
        view = _snippet_view(s, copies[s.id], names)
        if c.kind != "original":
            if s.batch_seq < found.seq and all(v.id != s.id for v in change.repeated):
                change.repeated.append(view)
        elif s.novel:
            change.new.append(view)
        else:
            change.repeated.append(view)
    return sorted(by_story.values(), key=lambda ch: (-len(ch.new), ch.story_id))


def nearest_snippets(store: Store, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """Snippets nearest to a query embedding, through the store's inverted-file
    index (storyline.pipeline.ivf): only the nearest cells are read. A store too
    small to have cells yet is read whole."""
    from storyline.pipeline import ivf

    dim = query.shape[0]
    centroids = ivf.load_centroids(store.get_state("ivf:cells"), dim)
    if centroids is None:
        ids, vectors = store.all_embeddings(dim)
    else:
        ids, vectors = store.embeddings_in_cells(ivf.probe(query, centroids), dim)
    if not ids:
        return []
    scores = vectors @ query
    best = np.argsort(-scores)[:limit]
    return [(ids[i], float(scores[i])) for i in best]


def search(store: Store, query: str, encoder=None, limit: int = 20) -> list[SearchHit]:
    """Keyword (SQLite FTS5, BM25) and semantic (embedding cosine) hits, fused by
    reciprocal rank (Cormack et al. 2009), best story first."""
    keyword = store.search_text(query, limit * 3)
    ranks: dict[int, float] = {}
    for rank, (sid, _) in enumerate(keyword):
        ranks[sid] = ranks.get(sid, 0.0) + 1.0 / (60 + rank)
    if encoder is not None and encoder.dim > 1:
        q = encoder.encode([query])[0]
        for rank, (sid, score) in enumerate(nearest_snippets(store, q, limit * 3)):
            if score <= 0.2:
                break
            ranks[sid] = ranks.get(sid, 0.0) + 1.0 / (60 + rank)
    hits = []
    seen_stories: set[int] = set()
    for sid, score in sorted(ranks.items(), key=lambda kv: -kv[1]):
        snippet = store.snippet(sid)
        story = store.resolve(snippet.story_id)
        if story in seen_stories:
            continue
        seen_stories.add(story)
        hits.append(SearchHit(story_id=story, snippet_id=sid, text=snippet.text, score=score,
                              headline=_headline(store, store.story(story))))
        if len(hits) >= limit:
            break
    return hits


def to_json(obj) -> str:
    if isinstance(obj, list):
        return json.dumps([asdict(o) for o in obj], ensure_ascii=False, indent=2)
    return json.dumps(asdict(obj), ensure_ascii=False, indent=2)


def export_markdown(store: Store, min_size: int = 1) -> str:
    """A briefing: every story with its summary, timeline, sources and snippets."""
    lines = ["# Briefing", ""]
    counts = store.counts()
    lines.append(f"{counts['stories']} stories from {counts['snippets']} snippets "
                 f"({counts['copies']} arrivals) in {counts['batches']} batches.")
    lines.append("")
    for summary in list_stories(store, min_size=min_size):
        story = story_detail(store, summary.id)
        lines.append(f"## {story.headline}")
        lines.append("")
        timeline = ", ".join(f"{t.batch}: {t.snippets}" for t in story.batches)
        lines.append(f"*Story {story.id} — {story.size} snippets, {story.copies} arrivals, "
                     f"batches {timeline}*")
        lines.append("")
        if story.summary and story.size > 1:
            lines.append(story.summary)
            lines.append("")
        if story.source_counts:
            lines.append(sources_line(story.source_counts))
            lines.append("")
        for s in story.snippets:
            extra = f" ×{len(s.copies)}" if len(s.copies) > 1 else ""
            lines.append(f"- [{s.batch}] {s.text}{extra}")
        lines.append("")
    return "\n".join(lines)


SOURCES_SHOWN = 12  # a wire story has hundreds of outlets: the top ones, then a count


def sources_line(counts: list, shown: int = SOURCES_SHOWN) -> str:
    """"Sources: Reuters (5), AP (4) and 170 more" from a story's source counts."""
    more = len(counts) - shown
    return ("Sources: " + ", ".join(f"{s.source} ({s.snippets})" for s in counts[:shown])
            + (f" and {more} more" if more > 0 else ""))


def export_json(store: Store, min_size: int = 1) -> str:
    stories = [asdict(story_detail(store, s.id)) for s in list_stories(store, min_size=min_size)]
    return json.dumps({"counts": store.counts(), "stories": stories}, ensure_ascii=False,
                      indent=2)
