"""CSV batch files: a header row, then one record a row, streamed.

A quoted field may hold line breaks (each becomes a space: they are layout, and words
either side must not be glued); a quote that is never closed is an error naming the
line it opened on, not a silent merge of the rows after it.

Spreadsheets write CSV their own ways: the delimiter is the one the header row uses
(``,``, ``;`` as Excel writes it where a comma is the decimal mark, a tab or ``|``); a
column is found by its name as given or, failing that, whatever its case and the spaces
around it (``Text``, `` text ``); a column named twice where a field is read from it is
an error (which one holds the text?); a field Excel wrote as a formula to keep it
text (``="00123"``) is its text.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

from storyline.errors import InputError
from storyline.pipeline.lines import MAX_LINE_CHARS, origin_of
from storyline.pipeline.read import FIELDS, Item, Warn, _record_or_error, file_lines

_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_DELIMITERS = ",;\t|"
_QUOTED = re.compile(r'"[^"]*"')
_EXCEL_TEXT = re.compile(r'^="(.*)"$', re.DOTALL)
csv.field_size_limit(MAX_LINE_CHARS)  # a quote left open stops here, not at the end


def _one_line(value: str | None) -> str | None:
    if value and value.startswith('="') and (excel := _EXCEL_TEXT.match(value)):
        value = excel.group(1).replace('""', '"')
    return _BREAKS.sub(" ", value) if value and ("\n" in value or "\r" in value) else value


def delimiter_of(header: str) -> str:
    """The delimiter a header row uses: the candidate it holds most of outside quotes
    (a comma where it holds none: a file of one column).

    >>> delimiter_of("text;source;published_at"), delimiter_of('title,"a; b"')
    (';', ',')
    """
    bare = _QUOTED.sub("", header)
    counts = [(bare.count(d), -i, d) for i, d in enumerate(_DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] else ","


def _columns(header: list[str], mapping: dict[str, str], origin: str) -> dict[str, int]:
    """Where each mapped field's column is: by its name as given, else by the name
    whatever its case and surrounding spaces; a column named twice is an error."""
    where = {}
    for name, column in mapping.items():
        found = [i for i, h in enumerate(header) if h == column]
        if not found:
            folded = column.strip().casefold()
            found = [i for i, h in enumerate(header) if h.strip().casefold() == folded]
        if len(found) > 1:
            places = ", ".join(str(i + 1) for i in found)
            error = InputError(origin, 1, f"column {column!r} is in the header {len(found)} "
                               f"times (columns {places}); rename all but one")
            error.fatal = True
            raise error
        if found:
            where[name] = found[0]
    return where


def read_csv(path: Path, batch: str, columns: dict[str, str] | None, warn: Warn,
             encoding: str | None = None) -> Iterator[Item]:
    """CSV with a header row; ``columns`` maps our field names to the file's column names."""
    origin = origin_of(path)
    mapping = {name: name for name in FIELDS}
    mapping.update(columns or {})
    errors: list[InputError] = []

    def lines() -> Iterator[str]:
        for _, line in file_lines(path, encoding=encoding):
            if isinstance(line, InputError):
                errors.append(line)  # reported before the next row
                yield "\n"
            else:
                yield line + "\n"

    rows = lines()
    first = next(rows, "")
    if errors:  # a header that cannot be read says why, not that it names no column
        raise errors[0]
    reader = csv.reader(itertools.chain([first], rows), strict=True,
                        delimiter=delimiter_of(first))
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise InputError(origin, 1, f"bad CSV header: {exc}") from None
    where = _columns(header, mapping, origin)
    if "text" not in where and "title" not in where:
        # A headline-only file (a title column, no text) is snippets still.
        raise InputError(origin, 1, f"no column {mapping['text']!r} for the snippet text "
                         f"nor {mapping['title']!r} for a title (columns: {', '.join(header)}); "
                         "map one with --text-column or --title-column")
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
