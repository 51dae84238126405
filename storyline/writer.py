"""Writing one batch into the store: in chunks, resumable, safe beside other writers.

A batch is written in chunks of ``commit_records`` records, each in its own write
transaction, and its row in ``batches`` says how many records are stored and the
digest of exactly those (``complete`` once the last chunk is in). Each chunk is written
only if the stored count is still the one this writer saw: so

- a batch of a killed ingest resumes where it stopped: the same command reads the
  stored records again only to check them against the digest, and goes on after them;
- two writers of the same batch never store a record twice: the one that finds the
  count moved reads past what the other stored (checking it) and goes on from there;
- a batch already stored whole is a no-op, and one stored with other content an error;
- a batch stored whole whose records now go on (a file appended to: a log) has the new
  ones written as a batch of their own that continues it (``NAME.2``, recorded in the
  store), and so on, each checked by its own digest on a rerun: the file's earlier
  content changed (or cut short, even to the end of one of its batches) is other
  content still.

A batch smaller than a chunk is one transaction, as it always was.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from storyline.config import commit_records
from storyline.dates import parse_date
from storyline.errors import IngestError, OtherContentError
from storyline.pipeline.batches import BatchDigest, Chunks, batch_digest
from storyline.pipeline.read import MAX_BATCH_CHARS
from storyline.types import IngestReport, Record

if TYPE_CHECKING:
    from storyline.engine import Engine, Progress
    from storyline.store import Store
    from storyline.store.rows import BatchRow


def chunk_clock(records: Iterable[Record], ingested: datetime, before: str | None
                ) -> str | None:
    """The latest published_at of a batch's records so far, in UTC, none later than its
    ingestion (a date in the future is a feed's mistake); None if none has one."""
    times = [t for t in (parse_date(r.published_at) for r in records) if t is not None]
    if before is not None and (earlier := parse_date(before)) is not None:
        times.append(earlier)
    return min(max(times), ingested).isoformat(timespec="seconds") if times else None


def _other_content(name: str, row: BatchRow, where: str) -> OtherContentError:
    stored = "stored whole" if row.complete else f"partly stored ({row.records} records so far)"
    which = f"{name!r} (which continues {row.continues!r})" if row.continues else repr(name)
    return OtherContentError(f"batch {which} is already in {where}, {stored}, with other "
                             "content; give this batch another name (a file of another "
                             "name, or ingest --batch)")


def holds_other_content(store: Store, name: str, records: list[Record]) -> BatchRow | None:
    """The stored batch (``name``, or one that continues it) whose records ``records``
    do not go on with, or None where they can be written: a new batch, a part stored
    (by a killed run, or a writer still at it), the batch stored whole, or it and new
    records after it (a file that grew: they continue it)."""
    first = store.batch(name)
    done = 0
    for row in [first, *store.continuations(name)] if first else []:
        taken = records[done:done + row.records]
        if len(taken) < row.records or batch_digest(taken) != row.digest:
            return row
        done += row.records
    return None


def _catch_up(name: str, chunks: Chunks, digest: BatchDigest, row: BatchRow, where: str
              ) -> str | None:
    """Read past the records another writer (or a killed run) stored, checking them
    against the stored digest: None where the batch is partly stored (writing goes on),
    WHOLE where it is stored whole and the records end there, GREW where more follow."""
    missing = row.records - digest.count
    if missing < 0:
        raise _other_content(name, row, where)
    read, last = chunks.take(missing) if missing else ([], False)
    for record in read:
        digest.add(record)
    if len(read) < missing or digest.hexdigest() != row.digest:
        raise _other_content(name, row, where)
    if not row.complete:
        return None
    if not last and missing == 0:
        more, _ = chunks.take(1)
        chunks.put_back(more)
        last = not more
    return WHOLE if last else GREW


WHOLE, GREW, MOVED = "whole", "grew", "moved"


def write_batch(engine: Engine, name: str, records: Iterable[Record], *,
                origin: str | None, progress: Progress | None = None,
                chunk: int | None = None) -> IngestReport:
    """Ingest one batch's records (an iterator: never held whole) and report on it,
    ``chunk`` records a transaction (default: the config's commit size). Records that
    follow those of the batch stored whole (its file grew) are a batch that continues
    it, ``NAME.2`` (then ``NAME.3``...), reported under its name; nothing new is
    reported under ``name``, with the records of all its batches."""
    store = engine.store
    chunks = Chunks(records, chunk or commit_records(engine.config))
    report = IngestReport(batch=name)
    whole = 0  # records in the batch and its continuations found stored whole so far
    parts = 0  # those batches
    wrote = False  # into one of them (another writer then stored it whole first)
    while True:
        part = _part_name(store, name, parts)
        continues = (name, parts - 1) if parts else None
        outcome = _write_part(engine, part, chunks, report, origin=origin, progress=progress,
                              continues=continues)
        if outcome == WHOLE and report.already_ingested and (
                later := store.continuations(name)[parts:]):
            # The records end with this part, stored before, but the store holds more
            # that continue it: the file was cut short (to this part's end), other content.
            raise _other_content(later[0].name, later[0], str(store.path))
        if outcome == WHOLE and report.already_ingested:
            report.already_ingested = not wrote
            if not wrote:
                report.batch, report.records = name, whole + report.records
        if outcome not in (GREW, MOVED):
            return report
        if outcome == GREW:
            wrote = wrote or not report.already_ingested
            whole, parts = whole + report.records, parts + 1


def _part_name(store: Store, name: str, parts: int) -> str:
    """The batch that holds a file's records after its first ``parts`` batches: the
    batch itself, a continuation already stored, or a new one (a free ``NAME.N``)."""
    if not parts:
        return name
    stored = store.continuations(name)
    if len(stored) >= parts:
        return stored[parts - 1].name
    number = parts + 1
    while True:
        suffix = f".{number}"
        # A batch name is at most MAX_BATCH_CHARS: a long one gives way to the number.
        part = name[:MAX_BATCH_CHARS - len(suffix)] + suffix
        if store.batch(part) is None:
            return part
        number += 1


def _write_part(engine: Engine, name: str, chunks: Chunks, report: IngestReport, *,
                origin: str | None, progress: Progress | None,
                continues: tuple[str, int] | None) -> str:
    """Write the records of batch ``name`` (one of a file's batches: see write_batch) in
    chunks, ``report`` counting them: WHOLE once it is stored whole with them, GREW where
    it was already and more records follow, MOVED where a new continuation could not be
    begun (another writer began one: the caller reads which again)."""
    store = engine.store
    digest = BatchDigest()
    wrote = False
    report.records, report.already_ingested = 0, False
    while True:
        row = store.batch(name)
        if row is not None and (row.complete or row.records > digest.count):
            stored = _catch_up(name, chunks, digest, row, str(store.path))
            if stored is not None:
                report.records = digest.count
                report.already_ingested = not wrote
                return stored
        chunk, last = chunks.take()
        if not chunk:
            raise IngestError(f"batch {name!r} in {store.path} holds {digest.count} records of "
                              "a longer batch than this one; give this batch another name")
        after = digest.extended(chunk)
        if not engine.write_chunk(name, chunk, digest.count, after.hexdigest(), last,
                                  origin=origin, report=report, progress=progress,
                                  continues=continues):
            chunks.put_back(chunk)  # another writer stored records meanwhile: check them
            if row is None and continues is not None and store.batch(name) is None:
                return MOVED
            continue
        digest, wrote = after, True
        report.batch, report.records = name, digest.count
        if last:
            return WHOLE


def now_utc() -> datetime:
    return datetime.now(UTC)
