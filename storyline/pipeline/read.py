"""Stage 1 — read batches from plain text, JSONL or CSV files.

Readers stream: a file is read line by line (or row by row) and yields
:class:`~storyline.types.Record` objects, so a large file never sits in memory.
A file is one batch unless its records name their own ``batch``; a directory is
its files in name order.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from storyline.errors import InputError
from storyline.types import Record

__all__ = ["InputError", "SUFFIXES", "batch_files", "batch_name", "read_file"]

FIELDS = ("text", "id", "batch", "source", "url", "published_at", "title")
SUFFIXES = {".txt": "text", ".text": "text", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
# A snippet is a lead sentence or a description: anything longer than this is
# not a snippet but a broken file (a missing newline, binary data).
MAX_LINE_CHARS = 100_000


def batch_name(path: Path) -> str:
    """The batch a file stands for: its name up to the first ``_`` or ``.``.

    ``000_4b9f53198da931bc.txt`` is batch ``000``; ``monday.jsonl`` is ``monday``.
    """
    stem = path.name.split(".", 1)[0]
    return stem.split("_", 1)[0] or stem


def batch_files(path: Path) -> list[Path]:
    """The batch files under ``path`` (itself if it is a file), in name order."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not files:
            raise InputError(str(path), None, "no batch files (.txt, .jsonl, .csv) in this folder")
        return files
    if not path.exists():
        raise InputError(str(path), None, "no such file or folder")
    return [path]


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in ("text", "jsonl", "csv"):
            raise InputError(str(path), None, f"unknown format {fmt!r} (text, jsonl or csv)")
        return fmt
    return SUFFIXES.get(path.suffix.lower(), "text")


def _lines(path: Path) -> Iterator[tuple[int, str | InputError]]:
    """Decoded lines with their numbers; UTF-8 with or without BOM, strictly.

    A line that cannot be decoded comes out as an :class:`InputError` in its
    place, so a caller may skip it (``--skip-bad``) or stop.
    """
    limit = MAX_LINE_CHARS * 4  # bytes: a UTF-8 character is at most four
    number = 0
    with path.open("rb") as fh:
        while True:
            raw = fh.readline(limit + 1)
            if not raw:
                return
            number += 1
            if len(raw) > limit:
                while raw and not raw.endswith(b"\n"):  # skip the rest, never hold it
                    raw = fh.readline(limit)
                yield number, InputError(
                    str(path), number, f"line longer than {MAX_LINE_CHARS} characters"
                )
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                message = f"not valid UTF-8 (byte {exc.start}); convert the file to UTF-8"
                yield number, InputError(str(path), number, message)
                continue
            if len(text) > MAX_LINE_CHARS:
                yield number, InputError(
                    str(path), number, f"line longer than {MAX_LINE_CHARS} characters"
                )
                continue
            yield number, text.rstrip("\r\n")


Item = Record | InputError


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _record_or_error(fields: dict, default_batch: str, origin: str, line: int) -> Item:
    try:
        return _record(fields, default_batch, origin, line)
    except InputError as error:
        return error


def _record(fields: dict, default_batch: str, origin: str, line: int) -> Record:
    text = fields.get("text")
    title = _clean(fields.get("title"))
    if (text is None or (isinstance(text, str) and not text.strip())) and title:
        text = title  # a headline with no description is a snippet still
    if not isinstance(text, str):
        if text is None:
            raise InputError(origin, line, "missing required field 'text'")
        raise InputError(origin, line, "field 'text' must be a string")
    if not text.strip():
        raise InputError(origin, line, "field 'text' is empty")
    published = _clean(fields.get("published_at"))
    if published is not None:
        _check_iso8601(published, origin, line)
    return Record(
        text=text,
        batch=_clean(fields.get("batch")) or default_batch,
        id=_clean(fields.get("id")),
        source=_clean(fields.get("source")),
        url=_clean(fields.get("url")),
        published_at=published,
        title=title,
        origin=origin,
        line=line,
    )


def _check_iso8601(value: str, origin: str, line: int) -> None:
    from datetime import datetime

    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(origin, line, f"published_at {value!r} is not ISO 8601") from None


def _read_text(path: Path, batch: str) -> Iterator[Item]:
    """Plain text: one snippet a line; blank lines are skipped."""
    for number, line in _lines(path):
        if isinstance(line, InputError) or not line.strip():
            if isinstance(line, InputError):
                yield line
            continue
        yield Record(text=line, batch=batch, origin=str(path), line=number)


def _read_jsonl(path: Path, batch: str) -> Iterator[Item]:
    for number, line in _lines(path):
        if isinstance(line, InputError):
            yield line
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputError(str(path), number, f"bad JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield InputError(str(path), number, "expected a JSON object")
            continue
        yield _record_or_error(obj, batch, str(path), number)


def _read_csv(path: Path, batch: str, columns: dict[str, str] | None = None) -> Iterator[Item]:
    """CSV with a header row; ``columns`` maps our field names to the file's column names."""
    mapping = {name: name for name in FIELDS}
    mapping.update(columns or {})
    errors: list[InputError] = []

    def lines() -> Iterator[str]:
        for _, line in _lines(path):
            if isinstance(line, InputError):
                errors.append(line)  # reported before the next row
                yield ""
            else:
                yield line

    reader = csv.DictReader(lines())
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise InputError(str(path), 1, f"bad CSV header: {exc}") from None
    if mapping["text"] not in header and mapping["title"] not in header:
        # A headline-only file (a title column, no text) is snippets still.
        raise InputError(str(path), 1, f"no column {mapping['text']!r} for the snippet text "
                         f"nor {mapping['title']!r} for a title (columns: {', '.join(header)}); "
                         "map one with --text-column or --title-column")
    while True:
        try:
            row = next(reader)
        except StopIteration:
            yield from errors
            return
        except csv.Error as exc:
            yield InputError(str(path), reader.line_num, f"bad CSV: {exc}")
            return
        yield from errors
        errors.clear()
        if None in row:
            yield InputError(str(path), reader.line_num, "more fields than the header has")
            continue
        fields = {name: row.get(column) for name, column in mapping.items() if column in row}
        yield _record_or_error(fields, batch, str(path), reader.line_num)


def read_file(
    path: Path,
    fmt: str | None = None,
    batch: str | None = None,
    columns: dict[str, str] | None = None,
    on_error: Callable[[InputError], None] | None = None,
) -> Iterator[Record]:
    """Records of one batch file.

    Bad input raises :class:`InputError` naming the file and line, unless
    ``on_error`` is given: then it is called with the error and reading goes on
    (``--skip-bad``). An empty file is an error: a batch must hold something.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "001_morning.txt"
    >>> _ = path.write_text("Fed holds rates\\nApple ships iOS 7.1\\n")
    >>> [(r.batch, r.line, r.text) for r in read_file(path)]
    [('001', 1, 'Fed holds rates'), ('001', 2, 'Apple ships iOS 7.1')]
    """
    kind = detect_format(path, fmt)
    name = batch or batch_name(path)
    if kind == "jsonl":
        items = _read_jsonl(path, name)
    elif kind == "csv":
        items = _read_csv(path, name, columns)
    else:
        items = _read_text(path, name)
    empty = True
    for item in items:
        if isinstance(item, InputError):
            if on_error is None:
                raise item
            on_error(item)
            continue
        empty = False
        yield item
    if empty:
        error = InputError(str(path), None, "empty file: no snippets")
        if on_error is None:
            raise error
        on_error(error)


