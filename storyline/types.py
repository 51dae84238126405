"""Plain data passed between the pipeline stages.

Each stage takes and returns these dataclasses; none of them knows about the
store, the CLI or the web server.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Record:
    """One input item, as read from a batch file or given in memory."""

    text: str
    batch: str
    id: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: str | None = None
    title: str | None = None
    # Where the record came from, for error messages and provenance.
    origin: str | None = None
    line: int | None = None


@dataclass
class Snippet:
    """A normalised record, ready for duplicate detection."""

    record: Record
    text: str  # normalised text
    key: str  # hash of the comparison form: equal keys are exact duplicates
    truncated: bool = False


@dataclass
class DuplicateMatch:
    """The result of duplicate detection for one snippet."""

    canonical_id: int | None  # stored snippet id of the canonical copy, None if new
    kind: str  # "new", "exact" or "near"
    similarity: float = 1.0


@dataclass
class StoryAssignment:
    """Where the clusterer put a canonical snippet."""

    snippet_id: int
    story_id: int


@dataclass
class MergeEvent:
    """Story ``absorbed`` now lives on as story ``into``."""

    absorbed: int
    into: int
    batch: str
    similarity: float


@dataclass
class SourceCount:
    source: str
    snippets: int


@dataclass
class TimelineEntry:
    batch: str
    snippets: int  # snippets (copies included) that arrived in the batch
    new: int  # canonical snippets first seen in the batch


@dataclass
class CopyView:
    id: int
    batch: str
    source: str | None
    url: str | None
    kind: str  # "original", "exact" or "near"
    external_id: str | None = None


@dataclass
class SnippetView:
    id: int
    text: str
    batch: str
    source: str | None
    url: str | None
    truncated: bool
    copies: list[CopyView] = field(default_factory=list)
    novel: bool = True  # brings something new to its story in its batch
    external_id: str | None = None


@dataclass
class StorySummary:
    """A line of the story list."""

    id: int
    headline: str
    size: int  # canonical snippets
    copies: int  # all arrivals, copies included
    sources: int
    first_batch: str
    last_batch: str
    status: str  # "active" or "dormant"
    batches: list[TimelineEntry] = field(default_factory=list)


@dataclass
class StoryDetail(StorySummary):
    summary: str = ""
    source_counts: list[SourceCount] = field(default_factory=list)
    snippets: list[SnippetView] = field(default_factory=list)
    merged_from: list[int] = field(default_factory=list)
    # A long topic is a chain of stories: the one this story follows (it had
    # taken news for its whole span), and those that follow this one.
    follows: int | None = None
    followed_by: list[int] = field(default_factory=list)


@dataclass
class StoryChanges:
    """What one batch brought to one story."""

    story_id: int
    headline: str
    new_story: bool
    new: list[SnippetView] = field(default_factory=list)
    repeated: list[SnippetView] = field(default_factory=list)


@dataclass
class SearchHit:
    story_id: int
    snippet_id: int
    text: str
    score: float
    headline: str


@dataclass(frozen=True)
class DormancyRule:
    """When a story goes dormant (new snippets no longer join it; a later event
    of its kind starts a new story): after ``after_days`` days without news
    where the stream says when things were published (``published_at``), and
    after ``after_batches`` batches without news where it does not."""

    after_batches: int = 28
    after_days: float | None = 7.0


@dataclass
class IngestReport:
    batch: str
    records: int = 0
    new_snippets: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    new_stories: int = 0
    merges: int = 0
    skipped_bad: list[str] = field(default_factory=list)
    already_ingested: bool = False
