"""Turning a ``POST /api/batches`` body into records, with the command line's checks.

The body goes through the same readers as a batch file (:mod:`storyline.pipeline.read`),
so it is held to the same rules and the errors say the same things, by line. Everything
that could make the engine stop halfway (a line with no text left after cleaning, a
batch name taken by other content) is checked before anything is written, so a refused
body changes nothing even when it holds several batches.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from storyline.errors import StorylineError
from storyline.pipeline.lines import NAME_ENCODING
from storyline.pipeline.normalize import normalize
from storyline.pipeline.read import InputError, read_file
from storyline.types import Record

# Batch names given over HTTP also name pages (/batches/NAME): plain characters only.
BATCH_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
_BATCH = re.compile(BATCH_PATTERN)
_UNNAMED = "\x00unnamed"  # read_file's default batch: which records named none

FORMATS = {
    "text/plain": "text",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/json-lines": "jsonl",
    "application/json": "jsonl",
}
ORIGIN = "POST /api/batches"


class BodyError(StorylineError, ValueError):
    """A body refused, with the HTTP status and the message to send back."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = self.http_status = status
        self.message = message
        if status in (413, 415):  # a body too big or of another kind: the sender's usage
            self.exit_code = 2


def format_of(content_type: str | None) -> str:
    """``text`` or ``jsonl`` from a Content-Type header; 415 for anything else."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in FORMATS:
        shown = media or "none"
        raise BodyError(415, f"unsupported Content-Type {shown!r}: send text/plain (one "
                        "snippet a line) or application/x-ndjson (JSONL), or say ?format=")
    return FORMATS[media]


def check_plain_body(headers: Mapping[str, str]) -> None:
    """415 for a body this server would misread: compressed (Content-Encoding), or text in
    a charset other than UTF-8 (an ASCII body is UTF-8 too)."""
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise BodyError(415, f"unsupported Content-Encoding {encoding!r}: send the body "
                        "uncompressed")
    charset = re.search(r";\s*charset=\"?([\w.:-]+)", headers.get("content-type", ""), re.I)
    if charset and charset.group(1).lower() not in ("utf-8", "utf8", "us-ascii", "ascii"):
        raise BodyError(415, f"unsupported charset {charset.group(1)!r}: send UTF-8")


def parse_body(body: bytes, fmt: str, batch: str | None) -> list[Record]:
    """Records of a body (``fmt`` text or jsonl); ``batch`` names records that name none."""
    if batch is not None and not _BATCH.match(batch):
        raise BodyError(400, f"bad batch name {batch!r}: letters, digits, '.', '_', '-'")
    with tempfile.TemporaryDirectory(prefix="storyline-post-") as tmp:
        path = Path(tmp) / ("body.jsonl" if fmt == "jsonl" else "body.txt")
        path.write_bytes(body)
        try:
            records = list(read_file(path, fmt=fmt, batch=batch or _UNNAMED))
        except InputError as exc:
            # A body has no --encoding: its sender is told what to send instead.
            message = exc.message.replace("empty file", "empty body").replace(
                NAME_ENCODING, "send UTF-8")
            raise BodyError(400, f"line {exc.line}: {message}" if exc.line else message) from None
    for record in records:
        where = f"line {record.line}"
        if record.batch == _UNNAMED:
            raise BodyError(400, f"{where}: no batch: name it with ?batch=NAME or give every "
                            "record a 'batch' field")
        if not _BATCH.match(record.batch):
            raise BodyError(400, f"{where}: bad batch name {record.batch!r}: letters, digits, "
                            "'.', '_', '-'")
        record.origin = ORIGIN
        if not normalize(record).text:
            raise BodyError(400, f"{where}: no text left after cleaning")
    return records
