"""Writing one batch into the store: in chunks, resumable, safe beside other writers.

A batch is written in chunks of ``commit_records`` records, each in its own write
transaction, and its row in ``batches`` says how many records are stored and the
digest of exactly those (``complete`` once the last chunk is in). Each chunk is written
only if the stored count is still the one this writer saw: so

- a batch of a killed ingest resumes where it stopped: the same command reads the
  stored records again only to check them against the digest, and goes on after them;
- two writers of the same batch never store a record twice: the one that finds the
  count moved reads past what the other stored (checking it) and goes on from there;
- a batch already stored whole is a no-op, and one stored with other content an error.

A batch smaller than a chunk is one transaction, as it always was.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from storyline.config import commit_records
from storyline.dates import parse_date
from storyline.errors import IngestError
from storyline.pipeline.batches import BatchDigest, Chunks
from storyline.types import IngestReport, Record

if TYPE_CHECKING:
    from storyline.engine import Engine, Progress
    from storyline.store.sqlite import BatchRow


def chunk_clock(records: Iterable[Record], ingested: datetime, before: str | None
                ) -> str | None:
    """The latest published_at of a batch's records so far, in UTC, none later than its
    ingestion (a date in the future is a feed's mistake); None if none has one."""
    times = [t for t in (parse_date(r.published_at) for r in records) if t is not None]
    if before is not None and (earlier := parse_date(before)) is not None:
        times.append(earlier)
    return min(max(times), ingested).isoformat(timespec="seconds") if times else None


def _other_content(name: str, row: BatchRow, where: str) -> IngestError:
    stored = "stored whole" if row.complete else f"partly stored ({row.records} records so far)"
    return IngestError(f"batch {name!r} is already in {where}, {stored}, with other content; "
                       "give this batch another name (a file of another name, or ingest --batch)")


def holds_other_content(row: BatchRow, records: list[Record]) -> bool:
    """Whether the stored batch ``row`` is not (a first part of) ``records``: stored
    whole with another content, or partly with records that are not theirs (a part
    stored by a killed run, or by a writer still at it, is theirs: writing goes on)."""
    if row.records > len(records) or (row.complete and row.records != len(records)):
        return True
    return BatchDigest().extended(records[:row.records]).hexdigest() != row.digest


def _catch_up(name: str, chunks: Chunks, digest: BatchDigest, row: BatchRow, where: str
              ) -> bool:
    """Read past the records another writer (or a killed run) stored, checking them
    against the stored digest; True when the batch is stored whole."""
    missing = row.records - digest.count
    if missing < 0:
        raise _other_content(name, row, where)
    read, last = chunks.take(missing) if missing else ([], False)
    for record in read:
        digest.add(record)
    if len(read) < missing or digest.hexdigest() != row.digest:
        raise _other_content(name, row, where)
    if row.complete:
        if not last and missing == 0:
            more, _ = chunks.take(1)
            last = not more
        if not last:
            raise _other_content(name, row, where)
        return True
    return False


def write_batch(engine: Engine, name: str, records: Iterable[Record], *,
                origin: str | None, progress: Progress | None = None,
                chunk: int | None = None) -> IngestReport:
    """Ingest one batch's records (an iterator: never held whole) and report on it,
    ``chunk`` records a transaction (default: the config's commit size)."""
    store = engine.store
    report = IngestReport(batch=name)
    chunks = Chunks(records, chunk or commit_records(engine.config))
    digest = BatchDigest()
    wrote = False
    while True:
        row = store.batch(name)
        if row is not None and (row.complete or row.records > digest.count):
            if _catch_up(name, chunks, digest, row, str(store.path)):
                report.records = digest.count
                report.already_ingested = not wrote
                return report
        chunk, last = chunks.take()
        if not chunk:
            raise IngestError(f"batch {name!r} in {store.path} holds {digest.count} records of "
                              "a longer batch than this one; give this batch another name")
        after = digest.extended(chunk)
        if not engine.write_chunk(name, chunk, digest.count, after.hexdigest(), last,
                                  origin=origin, report=report, progress=progress):
            chunks.put_back(chunk)  # another writer stored records meanwhile: check them
            continue
        digest, wrote = after, True
        report.records = digest.count
        if last:
            return report


def now_utc() -> datetime:
    return datetime.now(UTC)
