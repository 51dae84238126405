"""The JSON API's answers, as models (they make the OpenAPI document)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from storyline.pipeline.facts import StoryFact
from storyline.types import IngestReport, SearchHit, StoryChanges, StoryDetail, StorySummary


class Problem(BaseModel):
    detail: str = Field(description="What went wrong, for a person.")


class StoryList(BaseModel):
    total: int = Field(description="Stories that match the filters, on all pages.")
    limit: int
    offset: int
    stories: list[StorySummary]


@dataclass
class StoryOut(StoryDetail):
    """A story with its facts (None when not asked for, or facts are off)."""

    facts: list[StoryFact] | None = None
    # The page of ``snippets`` (shapes.story): how many in all, and which were asked.
    snippets_total: int = 0
    snippets_limit: int | None = None
    snippets_offset: int = 0


class BatchOut(BaseModel):
    name: str
    seq: int = Field(description="Order of ingestion, from 1.")
    records: int
    clock: str | None = Field(description="The newest published_at of its records (UTC), "
                              "the clock dormancy counts by; None where they give none.")
    ingested_at: str
    continues: str | None = Field(default=None, description="The batch whose file's later "
                                  "records this one holds (a file that grew: NAME.2); None "
                                  "for a batch of its own.")


class BatchList(BaseModel):
    batches: list[BatchOut]


class BatchChanges(BaseModel):
    batch: BatchOut
    previous: str | None = Field(description="The batch before this one, if any.")
    next: str | None = Field(description="The batch after this one, if any.")
    total: int = Field(description="Stories the batch touched, on all pages.")
    limit: int
    offset: int
    changes: list[StoryChanges]


class SearchResult(BaseModel):
    query: str
    limit: int
    offset: int
    hits: list[SearchHit]


class IngestResult(BaseModel):
    batches: list[IngestReport]


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each a :class:`Problem`."""
    return {code: {"model": Problem} for code in codes}


def html_problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each an error page."""
    return {code: {"description": "An error page.", "content": {"text/html": {}}}
            for code in codes}
