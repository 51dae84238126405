"""CSV batch files: a header row, then one record a row, streamed.

A quoted field may hold line breaks (each becomes a space: they are layout, and words
either side must not be glued); a quote that is never closed is an error naming the
line it opened on, not a silent merge of the rows after it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from storyline.errors import InputError
from storyline.pipeline.lines import MAX_LINE_CHARS, numbered_lines, origin_of
from storyline.pipeline.read import FIELDS, Item, Warn, _record_or_error

_BREAKS = re.compile(r"\s*[\r\n]+\s*")
csv.field_size_limit(MAX_LINE_CHARS)  # a quote left open stops here, not at the end


def _one_line(value: str | None) -> str | None:
    return _BREAKS.sub(" ", value) if value and ("\n" in value or "\r" in value) else value


def read_csv(path: Path, batch: str, columns: dict[str, str] | None, warn: Warn
             ) -> Iterator[Item]:
    """CSV with a header row; ``columns`` maps our field names to the file's column names."""
    origin = origin_of(path)
    mapping = {name: name for name in FIELDS}
    mapping.update(columns or {})
    errors: list[InputError] = []

    def lines() -> Iterator[str]:
        for _, line in numbered_lines(path):
            if isinstance(line, InputError):
                errors.append(line)  # reported before the next row
                yield "\n"
            else:
                yield line + "\n"

    reader = csv.reader(lines(), strict=True)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise InputError(origin, 1, f"bad CSV header: {exc}") from None
    if mapping["text"] not in header and mapping["title"] not in header:
        # A headline-only file (a title column, no text) is snippets still.
        raise InputError(origin, 1, f"no column {mapping['text']!r} for the snippet text "
                         f"nor {mapping['title']!r} for a title (columns: {', '.join(header)}); "
                         "map one with --text-column or --title-column")
    where = {name: header.index(column) for name, column in mapping.items() if column in header}
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            yield from errors
            return
        except csv.Error as exc:
            yield from errors
            errors.clear()
            yield _csv_error(origin, start, reader.line_num, str(exc))
            continue
        yield from errors
        errors.clear()
        if not row or row == [""]:
            continue
        if len(row) > len(header):
            yield InputError(origin, start, "more fields than the header has"
                             + _spanned(start, reader.line_num))
            continue
        if reader.line_num > start and len(row) < len(header):
            yield InputError(origin, start, "unterminated quote? the quoted field opened here "
                             f"runs to line {reader.line_num} and the row has {len(row)} "
                             f"fields, not {len(header)}")
            continue
        fields = {name: _one_line(row[i]) if i < len(row) else None for name, i in where.items()}
        yield _record_or_error(fields, batch, origin, start, warn)


def _spanned(start: int, end: int) -> str:
    return f" (an unterminated quote? the row runs to line {end})" if end > start else ""


def _csv_error(origin: str, start: int, end: int, message: str) -> InputError:
    if "unexpected end of data" in message or "field larger than field limit" in message:
        error = InputError(origin, start, "unterminated quote: the quoted field opened on "
                           "this line is never closed; nothing after it was read")
        error.fatal = True  # the rest of the file cannot be split into rows
        return error
    return InputError(origin, start, f"bad CSV: {message}" + _spanned(start, end))
