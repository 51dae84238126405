"""Stage 1 — read batches from plain text, JSONL or CSV files.

Readers stream: a file (or standard input, ``-``) is read line by line and yields
:class:`~storyline.types.Record` objects, so a large file never sits in memory.
A file is one batch unless its records name their own ``batch``; a directory is
its files in name order.

A record that cannot be used is an :class:`InputError` naming file and line; a date
that cannot be read costs only that field (a warning names file, line and value).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from storyline.dates import kept_date
from storyline.errors import InputError, UsageError
from storyline.pipeline.lines import (
    JSON_LINE_CHARS,
    MAX_LINE_CHARS,
    NAME_ENCODING,
    STDIN,
    numbered_lines,
    origin_of,
)
from storyline.pipeline.normalize import clean_text, titled_text
from storyline.types import Record

__all__ = ["InputError", "MAX_LINE_CHARS", "SUFFIXES", "batch_files", "batch_name",
           "list_inputs", "read_file"]

log = logging.getLogger("storyline.read")

FIELDS = ("text", "id", "batch", "source", "url", "published_at", "title")
FORMATS = ("text", "jsonl", "csv")
SUFFIXES = {".txt": "text", ".text": "text", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
STDIN_BATCH = "stdin"
Warn = Callable[[InputError], None]
# A record is an object of strings: nesting past this is no record. Checked before
# json.loads, which would recurse to Python's limit, where a finalizer that the garbage
# collector happens to run cannot report and prints around the one-line error.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def batch_name(path: Path) -> str:
    """The batch a file stands for: its name up to the first ``_`` or ``.``.

    ``000_4b9f53198da931bc.txt`` is batch ``000``; ``monday.jsonl`` is ``monday``.
    """
    if str(path) == STDIN:
        return STDIN_BATCH
    stem = path.name.split(".", 1)[0]
    return stem.split("_", 1)[0] or stem


@dataclass
class Inputs:
    """The batch files a path stands for, and what a folder held that is none."""

    files: list[Path]
    skipped: list[str] = field(default_factory=list)


def list_inputs(path: Path, fmt: str | None = None) -> Inputs:
    """The batch files under ``path`` (itself if it is a file), in name order.

    A file given by name must say its format by suffix, or ``fmt`` must; a folder's
    files without a batch suffix, and its subfolders, are skipped and named.
    """
    if str(path) == STDIN:
        return Inputs([path])
    if path.is_dir():
        files, skipped = [], []
        for entry in sorted(path.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                skipped.append(f"{entry}: a folder (folders are not read recursively)")
            elif not entry.exists():  # a link to nothing (is_dir and exists follow links)
                skipped.append(f"{entry}: a broken link")
            elif entry.suffix.lower() in SUFFIXES:
                files.append(entry)
            else:
                skipped.append(f"{entry}: not a batch file (.txt, .jsonl, .csv)")
        if not files:
            raise InputError(str(path), None, "no batch files (.txt, .jsonl, .csv) in this folder")
        return Inputs(files, skipped)
    if not path.exists():
        raise InputError(str(path), None, "no such file or folder")
    detect_format(path, fmt)
    return Inputs([path])


def batch_files(path: Path) -> list[Path]:
    """The batch files under ``path`` (see :func:`list_inputs`), in name order."""
    return list_inputs(path).files


def detect_format(path: Path, fmt: str | None = None) -> str:
    """text, jsonl or csv: ``fmt`` if given, else from the suffix (none: plain text)."""
    if fmt:
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r} (text, jsonl or csv)")
        return fmt
    suffix = path.suffix.lower()
    if str(path) == STDIN or not suffix:
        return "text"
    if suffix not in SUFFIXES:
        raise UsageError(f"{path}: unknown extension {suffix!r}: batch files are .txt, .jsonl "
                         "or .csv; say what it holds with --format text|jsonl|csv")
    return SUFFIXES[suffix]


Item = Record | InputError


def _field(fields: dict, name: str, origin: str, line: int) -> str | None:
    """A field as a string: text, or a number written as text; None if missing or blank."""
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        kind = {dict: "an object", list: "a list", bool: "true/false"}.get(type(value), "a value")
        raise InputError(origin, line, f"field {name!r} must be a string, not {kind}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _record_or_error(fields: dict, default_batch: str, origin: str, line: int,
                     warn: Warn) -> Item:
    try:
        return _record(fields, default_batch, origin, line, warn)
    except InputError as error:
        return error


# Characters that turn the rest of a line around where it is shown (an outlet named
# "Outlet\u202eRTL" displayed its date and link backwards): embeddings, overrides, isolates.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
MAX_BATCH_CHARS = 200


def _shown_field(name: str, value: object) -> object:
    """A field other than the text as it may be stored and shown: no control characters
    (NUL, which PostgreSQL cannot store, among them; a line break is a space) and no
    direction controls; outlets, links, ids and batch names lose every invisible
    formatting character too (a title keeps the joiners some scripts spell with)."""
    if not isinstance(value, str) or value.isprintable():
        return value
    kept = []
    for ch in value:
        kind = unicodedata.category(ch)
        if kind[0] == "Z" or ch in "\t\n\r\v\f":
            kept.append(" ")
        elif kind[0] != "C" or (kind == "Cf" and name == "title"
                                and not _BIDI_CONTROLS.match(ch)):
            kept.append(ch)
    return "".join(kept)


def _batch_of(fields: dict, default_batch: str, origin: str, line: int) -> str:
    """The record's batch, one a URL can name (not "." or "..", not too long)."""
    batch = _field(fields, "batch", origin, line) or default_batch
    if batch in (".", "..") or len(batch) > MAX_BATCH_CHARS:
        raise InputError(origin, line, f"bad batch name {batch[:40]!r}: '.' and '..' name "
                         f"no batch, and a name is at most {MAX_BATCH_CHARS} characters")
    return batch


def _record(fields: dict, default_batch: str, origin: str, line: int, warn: Warn) -> Record:
    # The text is checked as given (NULs alone are a text that cleans to none) and cleaned
    # for comparison later; the other fields are cleaned here.
    fields = {k: v if k == "text" else _shown_field(k, v) for k, v in fields.items()}
    text = fields.get("text")
    title = _field(fields, "title", origin, line)
    if (text is None or (isinstance(text, str) and not text.strip())) and title:
        text = title  # a headline with no description is a snippet still
    if not isinstance(text, str):
        if text is None:
            raise InputError(origin, line, "missing required field 'text'")
        raise InputError(origin, line, "field 'text' must be a string")
    if not text.strip():
        raise InputError(origin, line, "field 'text' is empty")
    if not text.isprintable() and not clean_text(titled_text(title, text)):
        raise InputError(origin, line, "no text left after cleaning (only control or "
                         "invisible characters)")
    given = fields.get("published_at")
    published = _field(fields, "published_at", origin, line)
    if published is not None:
        published = kept_date(given if isinstance(given, int | float) else published)
        if published is None:
            warn(InputError(origin, line, f"published_at {str(given)[:80]!r} is not a date "
                            "storyline can read; the record is kept without one"))
    return Record(
        text=text.replace("\x00", ""),
        batch=_batch_of(fields, default_batch, origin, line),
        id=_field(fields, "id", origin, line),
        source=_field(fields, "source", origin, line),
        url=_field(fields, "url", origin, line),
        published_at=published,
        title=title,
        origin=origin,
        line=line,
    )


def checked_record(item: object, default_batch: str, number: int,
                   origin: str = "records") -> Record:
    """A record given in memory (a ``Record`` or a mapping of its fields), checked and
    cleaned as a file's line is; ``default_batch`` where it names no batch."""
    if isinstance(item, Record):
        fields = {name: getattr(item, name) for name in FIELDS}
    elif isinstance(item, dict | Mapping):
        fields = dict(item)
    else:
        raise InputError(origin, number, f"expected a Record or a mapping, not "
                         f"{type(item).__name__}")
    _check_fields(fields, origin, number)
    record = _record(fields, default_batch, origin, number, lambda w: log.warning("%s", w))
    record.line = getattr(item, "line", None) or number
    return record


def _check_fields(obj: dict, origin: str, line: int) -> None:
    """Each text field is held to what a line may hold, and is text: JSON may escape a
    lone surrogate (``"\\ud800"``), which no UTF-8 text can hold."""
    for name, value in obj.items():
        if isinstance(value, str) and len(value) > MAX_LINE_CHARS:
            raise InputError(origin, line, f"field {name!r} longer than {MAX_LINE_CHARS} "
                             "characters")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InputError(origin, line, f"field {name!r} holds an unpaired surrogate "
                                 f"(\\u{ord(value[exc.start]):04x}); not text") from None


def file_lines(path: Path, max_chars: int = MAX_LINE_CHARS, encoding: str | None = None
               ) -> Iterator[tuple[int, str | InputError]]:
    """A batch file's numbered lines (:func:`~storyline.pipeline.lines.numbered_lines`),
    in ``encoding``; a line that does not decode says how to name the file's encoding."""
    return numbered_lines(path, max_chars, encoding, NAME_ENCODING)


def _read_text(path: Path, batch: str, warn: Warn, encoding: str | None = None
               ) -> Iterator[Item]:
    """Plain text: one snippet a line; blank lines are skipped."""
    origin = origin_of(path)
    for number, line in file_lines(path, encoding=encoding):
        if isinstance(line, InputError):
            yield line
        elif line.strip():
            yield _record_or_error({"text": line}, batch, origin, number, warn)


def json_too_deep(line: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``line``'s JSON nests arrays and objects more than ``limit`` deep
    (brackets inside strings do not count; a line with few brackets is not scanned).

    >>> json_too_deep('{"text": "[[[["}'), json_too_deep('{"x": ' + '[' * 70 + ']' * 70 + '}')
    (False, True)
    """
    if line.count("[") + line.count("{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", line)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


def json_value(text: str, origin: str, number: int | None) -> object:
    """``text`` parsed as JSON, or an :class:`InputError` naming ``origin`` and line."""
    if json_too_deep(text):
        raise InputError(origin, number, "bad JSON: nested too deep")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(origin, number, f"bad JSON: {exc.msg} (column {exc.colno})") from None
    except ValueError as exc:  # a number of more digits than Python converts (4,300)
        raise InputError(origin, number, f"bad JSON: {exc}") from None


def _json_array(origin: str, number: int) -> InputError:
    """A file that opens a JSON array is one document, not a record a line: each of its
    lines would be a bad record (``--skip-bad`` would skip them all)."""
    error = InputError(origin, number, "a JSON array, not JSON Lines (one object a line); "
                       "convert it, e.g. jq -c '.[]' FILE")
    error.fatal = True
    return error


def _read_jsonl(path: Path, batch: str, warn: Warn, encoding: str | None = None
                ) -> Iterator[Item]:
    origin = origin_of(path)
    first = True
    for number, line in file_lines(path, JSON_LINE_CHARS, encoding):
        if isinstance(line, InputError):
            yield line
            continue
        if not line.strip():
            continue
        if first and re.match(r"\s*\[\s*(\{|$)", line):  # an array of objects opens
            yield _json_array(origin, number)
            return
        first = False
        try:
            obj = json_value(line, origin, number)
        except InputError as error:
            yield error
            continue
        if not isinstance(obj, dict):
            yield InputError(origin, number, "expected a JSON object")
            continue
        try:
            _check_fields(obj, origin, number)
        except InputError as error:
            yield error
            continue
        yield _record_or_error(obj, batch, origin, number, warn)


def read_file(
    path: Path,
    fmt: str | None = None,
    batch: str | None = None,
    columns: dict[str, str] | None = None,
    on_error: Callable[[InputError], None] | None = None,
    on_warning: Warn | None = None,
    encoding: str | None = None,
) -> Iterator[Record]:
    """Records of one batch file (``-``: standard input), in ``encoding`` (default:
    UTF-8, or UTF-16 after its byte order mark).

    Bad input raises :class:`InputError` naming the file and line, unless
    ``on_error`` is given: then it is called with the error and reading goes on
    (``--skip-bad``). A date that cannot be read is dropped from its record and
    reported to ``on_warning`` (default: the ``storyline.read`` logger). An empty
    file is an error: a batch must hold something.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "001_morning.txt"
    >>> _ = path.write_text("Fed holds rates\\nApple ships iOS 7.1\\n")
    >>> [(r.batch, r.line, r.text) for r in read_file(path)]
    [('001', 1, 'Fed holds rates'), ('001', 2, 'Apple ships iOS 7.1')]
    """
    from storyline.pipeline.read_csv import read_csv

    kind = detect_format(path, fmt)
    name = batch or batch_name(path)
    warn = on_warning or (lambda w: log.warning("%s", w))
    if kind == "jsonl":
        items = _read_jsonl(path, name, warn, encoding)
    elif kind == "csv":
        items = read_csv(path, name, columns, warn, encoding)
    else:
        items = _read_text(path, name, warn, encoding)
    empty = True
    skipped = False
    for item in items:
        if isinstance(item, InputError):
            if on_error is None or getattr(item, "fatal", False):
                raise item
            on_error(item)
            skipped = True
            continue
        empty = False
        yield item
    if empty and not skipped:  # a file of bad records only was not empty: said already
        error = InputError(origin_of(path), None, "empty file: no snippets")
        if on_error is None:
            raise error
        on_error(error)
