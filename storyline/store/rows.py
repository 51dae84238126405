"""The rows the store reads and writes: plain dataclasses, the same for every backend."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storyline.dates import parse_date
from storyline.outlets import outlet_of
from storyline.types import DormancyRule


def parse_clock(value: str | None) -> datetime | None:
    """A stored time (ISO 8601; naive times are UTC) as an aware UTC datetime."""
    return parse_date(value)


@dataclass
class NewSnippet:
    """A canonical snippet about to be written (its id handed out beforehand)."""

    id: int
    key: str
    text: str
    truncated: bool
    batch_seq: int
    minhash: bytes | None
    embedding: Any = None  # np.ndarray, written with the row (no UPDATE after it)
    cell: int | None = None  # its cell of the search index, where the cells are drawn
    story_id: int | None = None  # its story, where clustering placed it before the write


@dataclass
class BatchRow:
    name: str
    seq: int
    digest: str
    records: int
    ingested_at: str
    origin: str | None
    clock: str | None = None  # latest published_at of its records, UTC (see DormancyRule)
    complete: bool = True  # False while a batch written in chunks is not all in
    continues: str | None = None  # the first batch of the file whose new records it holds

    def __post_init__(self) -> None:
        self.complete = bool(self.complete)


@dataclass
class SnippetRow:
    id: int
    text: str
    truncated: bool
    batch_seq: int
    story_id: int | None
    novel: bool


@dataclass
class CopyRow:
    id: int
    snippet_id: int
    batch_seq: int
    position: int
    kind: str
    similarity: float
    external_id: str | None
    source: str | None
    url: str | None
    published_at: str | None
    title: str | None
    raw_text: str


@dataclass
class StoryRow:
    id: int
    merged_into: int | None
    headline_id: int | None
    summary: str
    size: int
    first_seq: int
    last_seq: int
    headline: str | None = None  # written when the story is described; None: not yet


def dormant_batches(batches: list[tuple[int, str | None]], rule: DormancyRule,
                    now_seq: int | None = None) -> set[int]:
    """The seqs of ``batches`` (seq, clock), in order, that are dormant for batch
    ``now_seq`` by its clock, else by batch count; without ``now_seq``: for the next
    batch, on the last one's clock. Both backends read the rows and ask this."""
    clocks = dict(batches)
    if now_seq is None:
        last = batches[-1][0] if batches else 0
        now_seq, now = last + 1, parse_clock(clocks.get(last))
    else:
        now = parse_clock(clocks.get(now_seq))
    out = set()
    for seq, clock in batches:
        then = parse_clock(clock)
        if now is not None and then is not None and rule.after_days is not None:
            if (now - then).total_seconds() > rule.after_days * 86400:
                out.add(seq)
        elif now_seq - seq > rule.after_batches:
            out.add(seq)
    return out


def fold_arrivals(story_ids: list[int], rows: Iterable[tuple[int, int, str | None, str | None,
                                                            int, int]]
                  ) -> tuple[dict[int, dict[int, list[int]]], dict[int, set[str]]]:
    """``story_arrivals`` of both backends from their (story, batch seq, source, url,
    arrivals, new) groups: per story {batch seq: [arrivals, new]} and its outlets, each
    (source, url) pair's outlet worked out once (a page's stories repeat them thousands
    of times).

    >>> counts, outlets = fold_arrivals(
    ...     [1], [(1, 3, "AP", None, 2, 1), (1, 3, None, "https://bbc.co.uk/x", 1, 0)])
    >>> counts, sorted(outlets[1])
    ({1: {3: [3, 1]}}, ['AP', 'bbc.co.uk'])
    """
    counts: dict[int, dict[int, list[int]]] = {i: {} for i in story_ids}
    sources: dict[int, set[str]] = {i: set() for i in story_ids}
    outlets: dict[tuple[str | None, str | None], str | None] = {}
    for story, seq, source, url, n, new in rows:
        entry = counts[story].setdefault(seq, [0, 0])
        entry[0] += n
        entry[1] += int(new)
        if (source, url) not in outlets:
            outlets[source, url] = outlet_of(source, url)
        if (outlet := outlets[source, url]) is not None:
            sources[story].add(outlet)
    return counts, sources


def follow_merges(story_ids: set[int], merged_into: Callable[[list[int]], dict[int, int | None]]
                 ) -> dict[int, int]:
    """The live story each of ``story_ids`` stands for, following merges a step at a time
    for all of them at once (``merged_into``: the store's read of those columns). Ids not
    in the store are left out. Both backends ask this."""
    from storyline.errors import StoreError

    out: dict[int, int] = {}
    current = {sid: sid for sid in story_ids}  # asked id -> where its chain is now
    for _ in range(10_000):
        if not current:
            return out
        step = merged_into(sorted(set(current.values())))
        following: dict[int, int] = {}
        for asked, at in current.items():
            if at not in step:
                continue
            target = step[at]
            if target is None:
                out[asked] = at
            else:
                following[asked] = target
        current = following
    raise StoreError(f"merge cycle at stories {sorted(current)[:5]}")


@dataclass(frozen=True)
class ListFilters:
    """A backend's SQL for the story list's optional filters (its own dialect)."""

    in_batch: str
    active: str
    dormant: str

    def where(self, min_size: int, batch_seq: int | None, dormant: object, live: object,
              status: str | None) -> tuple[str, dict[str, object]]:
        """The WHERE clauses past the list's first, and their parameters; ``dormant`` and
        ``live`` are the dormant batch seqs and the others, as the backend passes them
        (the active stories are those last fed by a live batch: an index finds them)."""
        params: dict[str, object] = {"min_size": min_size, "dormant": dormant, "live": live}
        where = ""
        if batch_seq is not None:
            where += self.in_batch
            params["batch_seq"] = batch_seq
        if status == "active":
            where += self.active
        elif status == "dormant":
            where += self.dormant
        return where, params


# The consistency checks both backends run (storyline check): what a count of rows means,
# and the count (the same SQL in both dialects). A store damaged by hand, or by a bug,
# shows here before a read trips on it.
CONSISTENCY_CHECKS = (
    ("snippets belong to no story", "SELECT COUNT(*) FROM snippets WHERE story_id IS NULL"),
    ("snippets point at a story that is not there",
     "SELECT COUNT(*) FROM snippets s WHERE story_id IS NOT NULL AND NOT EXISTS "
     "(SELECT 1 FROM stories st WHERE st.id = s.story_id)"),
    ("stories were merged into a story that is not there",
     "SELECT COUNT(*) FROM stories st WHERE merged_into IS NOT NULL AND NOT EXISTS "
     "(SELECT 1 FROM stories t WHERE t.id = st.merged_into)"),
    ("snippets have no copy", "SELECT COUNT(*) FROM snippets s WHERE NOT EXISTS "
     "(SELECT 1 FROM copies c WHERE c.snippet_id=s.id)"),
    ("copies belong to no batch", "SELECT COUNT(*) FROM copies c WHERE NOT EXISTS "
     "(SELECT 1 FROM batches b WHERE b.seq=c.batch_seq)"),
    ("snippets belong to no batch", "SELECT COUNT(*) FROM snippets s WHERE NOT EXISTS "
     "(SELECT 1 FROM batches b WHERE b.seq=s.batch_seq)"),
    ("batches stored whole hold another number of copies than of records",
     "SELECT COUNT(*) FROM batches b WHERE complete = 1 AND records != "
     "(SELECT COUNT(*) FROM copies c WHERE c.batch_seq = b.seq)"),
    ("stories have a wrong size", "SELECT COUNT(*) FROM stories st WHERE merged_into "
     "IS NULL AND size != (SELECT COUNT(*) FROM snippets s WHERE s.story_id=st.id)"),
)
