"""A stream of records as batches, and batches as chunks, in bounded memory.

A file's records arrive batch after batch (a file is one batch unless its records name
their own); :func:`runs` hands each batch on as it comes, and the engine writes a big
batch in chunks, each its own transaction, recording how many records and which (a
digest of them) are stored, so an ingest that was killed resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from storyline.errors import InputError
from storyline.types import IngestReport, Record


def record_bytes(record: Record) -> bytes:
    """What a batch's digest covers of a record (its content, not where it was read)."""
    return json.dumps([record.text, record.id, record.source, record.url,
                       record.published_at, record.title]).encode() + b"\n"


class BatchDigest:
    """The digest of a batch's first records, extended record by record."""

    def __init__(self) -> None:
        self._hash = hashlib.blake2b(digest_size=16)
        self.count = 0

    def add(self, record: Record) -> None:
        self._hash.update(record_bytes(record))
        self.count += 1

    def extended(self, records: Iterable[Record]) -> BatchDigest:
        """A copy with ``records`` added (this one unchanged)."""
        out = BatchDigest()
        out._hash, out.count = self._hash.copy(), self.count
        for record in records:
            out.add(record)
        return out

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def batch_digest(records: Iterable[Record]) -> str:
    """The digest of a whole batch: equal digests, equal content."""
    return BatchDigest().extended(records).hexdigest()


def runs(records: Iterable[Record]) -> Iterator[tuple[str, Iterator[Record]]]:
    """(batch name, its records) for each batch as it comes; a batch's records must be
    together: a batch named again after another started is an error at that line."""
    done: set[str] = set()
    for name, group in itertools.groupby(records, key=lambda r: r.batch):
        if name in done:
            first = next(group)
            raise InputError(first.origin or name, first.line,
                             f"batch {name!r} again after another batch started: a file's "
                             "records of one batch must be together (sort it by batch)")
        done.add(name)
        yield name, group  # noqa: B031  (consumed before the next batch is read)


@dataclass
class FileBatches:
    """The batches of one input file as it is read: ``batches`` yields (name, records)
    and ``skipped`` fills with the bad records skipped while they are read."""

    file: Path
    name: str  # the file's batch name (a file with no record reports under it)
    batches: Iterator[tuple[str, Iterator[Record]]]
    skipped: list[InputError] = field(default_factory=list)

    def reports(self, made: list[IngestReport]) -> list[IngestReport]:
        """The file's reports: ``made`` for its batches, or an empty one under its name
        when it had none; the bad records skipped go on the first."""
        reports = made or [IngestReport(batch=self.name)]
        reports[0].skipped_bad.extend(str(e) for e in self.skipped)
        return reports


def file_batches(
    paths: Iterable[Path], *, fmt: str | None = None, batch: str | None = None,
    columns: dict[str, str] | None = None, skip_bad: bool = False,
    window: timedelta | None = None, on_skipped: Callable[[str], None] | None = None,
    on_warning: Callable[[InputError], None] | None = None, encoding: str | None = None,
) -> Iterator[FileBatches]:
    """Each input file's batches, streamed, as ``storyline ingest`` reads them (a
    folder's files in name order; ``-`` is standard input); ``window`` cuts each file
    into batches by published_at; ``on_skipped`` hears of a folder's other files;
    ``encoding`` is the files' (default: UTF-8). Shared by the engine and the client of
    a server (:mod:`storyline.remote`)."""
    from storyline.pipeline.lines import text_encoding
    from storyline.pipeline.read import batch_name, list_inputs, read_file
    from storyline.pipeline.window import windowed

    if encoding is not None:
        text_encoding(encoding)  # an unknown one is a UsageError before any file is read
    inputs = [list_inputs(Path(p), fmt) for p in paths]
    for note in (note for item in inputs for note in item.skipped):
        if on_skipped:
            on_skipped(note)
    for file in (f for item in inputs for f in item.files):
        skipped: list[InputError] = []
        records = read_file(file, fmt=fmt, batch=batch, columns=columns,
                            on_error=skipped.append if skip_bad else None,
                            on_warning=on_warning, encoding=encoding)
        name = batch or batch_name(file)
        if window is not None:
            records = windowed(records, window, name)
        yield FileBatches(file, name, runs(records), skipped)


class Chunks:
    """A batch's records in chunks of ``size``, knowing which chunk is the last
    (one record of look-ahead) and able to take a chunk back (another writer stored it
    first: the chunk is read again to check it and skip it)."""

    def __init__(self, records: Iterable[Record], size: int) -> None:
        self._records = iter(records)
        self.size = size

    def take(self, n: int | None = None) -> tuple[list[Record], bool]:
        """Up to ``n`` (default: the chunk size) records, and whether they are the last."""
        chunk = list(itertools.islice(self._records, n or self.size))
        following = next(self._records, None)
        if following is None:
            return chunk, True
        self._records = itertools.chain([following], self._records)
        return chunk, False

    def put_back(self, chunk: list[Record]) -> None:
        self._records = itertools.chain(chunk, self._records)


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")
_WHERE = re.compile(r"^(.*?):(\d+): ")


def skip_reason(error: InputError | str) -> str:
    """What kind of bad record an error is, for a count by reason: its message without
    file, line and the values it quotes (``bad JSON``, ``field … must be a string, not
    an object``)."""
    if isinstance(error, InputError):
        message = error.message
    else:
        where = _WHERE.match(error)
        message = error[where.end():] if where else error.split(": ", 1)[-1]
    message = _QUOTED.sub("…", message)
    for stop in (": ", " ("):
        message = message.split(stop, 1)[0]
    return message.strip()


def skip_summary(errors: Iterable[InputError | str]) -> str:
    """One line: how many records were skipped, by reason, most frequent first."""
    counts = Counter(skip_reason(e) for e in errors)
    total = sum(counts.values())
    parts = ", ".join(f"{n} {reason}" for reason, n in counts.most_common())
    return f"skipped {total} bad record{'s' if total != 1 else ''}: {parts}" if total else ""
