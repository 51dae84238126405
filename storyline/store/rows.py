"""The rows the store reads and writes: plain dataclasses, the same for every backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def parse_clock(value: str | None) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (naive times are taken as UTC)."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dataclass
class NewSnippet:
    """A canonical snippet about to be written (its id handed out beforehand)."""

    id: int
    key: str
    text: str
    truncated: bool
    batch_seq: int
    minhash: bytes | None


@dataclass
class BatchRow:
    name: str
    seq: int
    digest: str
    records: int
    ingested_at: str
    origin: str | None
    clock: str | None = None  # latest published_at of its records, UTC (see DormancyRule)


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
