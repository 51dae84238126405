"""Decoded, numbered lines of a file or of standard input, in bounded memory.

Any line ending counts (``\\n``, ``\\r\\n`` and a lone ``\\r``: old Mac exports), a
UTF-8 byte order mark is dropped, a file that starts with a UTF-16 byte order mark
(Excel's "Unicode text") is read as UTF-16, a file in an encoding its reader names
(``--encoding latin-1``) is read in that one, and a line that is not UTF-8 (not in the
file's encoding there) or is longer than a snippet can be comes out as an
:class:`~storyline.errors.InputError` in its place, so a caller may skip it
(``--skip-bad``) or stop. Nothing longer than one line (bounded) is ever held, but by
:func:`whole_text`, which reads a small file whole with the same decoder.
"""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from storyline.errors import InputError, UsageError

# A snippet is a lead sentence or a description: anything longer than this is
# not a snippet but a broken file (a missing newline, binary data).
MAX_LINE_CHARS = 100_000
# A JSON line holds its text escaped (a quote takes two characters, a control character
# six): its fields are held to MAX_LINE_CHARS each, the line to this.
JSON_LINE_CHARS = 6 * MAX_LINE_CHARS + 1_000
STDIN = "-"
# What a line that does not decode says to do: a reader of batch files (ingest, watch,
# cluster, the Spark job) can be told the file's encoding; the others (labels) cannot.
CONVERT = "convert the file to UTF-8"
NAME_ENCODING = ("name the file's encoding with --encoding (latin-1, cp1252...) or convert "
                 "it to UTF-8")
_EOL = re.compile(rb"\r\n|\r|\n")
_CHUNK = 1 << 16
_WHOLE = 1 << 40  # characters: a file read whole has no line limit of its own


def origin_of(path: Path) -> str:
    """How messages name a source: its path, or ``<stdin>``."""
    return "<stdin>" if str(path) == STDIN else str(path)


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes; ``-`` is standard input (left open when done)."""
    if str(path) == STDIN:
        return _Unclosed(sys.stdin.buffer)
    try:
        return path.open("rb")
    except IsADirectoryError:
        raise InputError(str(path), None, "is a folder, not a batch file") from None
    except FileNotFoundError:
        raise InputError(str(path), None, "no such file or folder") from None
    except PermissionError:
        raise InputError(str(path), None, "cannot be read (permission denied)") from None


class _Unclosed:
    """Standard input as a context manager that does not close it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def __enter__(self) -> BinaryIO:
        return self.stream

    def __exit__(self, *exc) -> None:
        return None


def _not_text(error: UnicodeDecodeError) -> tuple[str, int]:
    # What UTF-16 cannot decode (a lone surrogate, an odd last byte) becomes a byte no
    # UTF-8 holds, so that its line is the one reported as not text.
    return "\udcff", error.end


codecs.register_error("storyline-not-text", _not_text)


def text_encoding(name: str) -> str:
    """``name`` if it names a text encoding Python knows (``latin-1``, ``cp1252``,
    ``utf-16``), else a UsageError; the default (None) is UTF-8.

    >>> text_encoding("cp1252")
    'cp1252'
    """
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        raise UsageError(f"unknown encoding {name!r}: name one Python knows (utf-8, latin-1, "
                         "cp1252, utf-16...)") from None
    if not getattr(info, "_is_text_encoding", True):  # base64, zlib: bytes to bytes
        raise UsageError(f"{name!r} is not a text encoding (utf-8, latin-1, cp1252, "
                         "utf-16...)")
    return name


def is_utf8(encoding: str | None) -> bool:
    """Whether a file in ``encoding`` is read as UTF-8 (the default: a UTF-8 byte order
    mark dropped, UTF-16 read after its own)."""
    return encoding is None or codecs.lookup(text_encoding(encoding)).name == "utf-8"


def cut_before_decoding(encoding: str | None) -> bool:
    """Whether a file in ``encoding`` may be cut into lines at its bytes ``\\n`` and
    ``\\r`` and each line decoded alone, with the lines and text :func:`numbered_lines`
    gives (a reader that cuts first, Spark's, needs this): UTF-8 (each line still checked
    for UTF-16's byte order mark) and the encodings of one byte a character whose only
    line endings are those bytes (latin-1, cp1252). UTF-16, UTF-32, EBCDIC and the
    encodings of several bytes a character must be decoded whole first.

    >>> [cut_before_decoding(e) for e in ("latin-1", "cp1252", "utf-16", "cp037", "gbk")]
    [True, True, False, False, False]
    """
    if is_utf8(encoding):
        return True
    assert encoding is not None
    if "escape" in codecs.lookup(encoding).name:  # "\\u000a" is a line ending there
        return False
    try:  # each byte a character at once (a decoder of several bytes waits for more)
        decoder = codecs.getincrementaldecoder(encoding)("replace")
        chars = [decoder.decode(bytes([byte])) for byte in range(256)]
    except (UnicodeError, ValueError, TypeError):
        return False
    return (all(len(c) == 1 for c in chars)
            and [i for i, c in enumerate(chars) if c in "\r\n"] == [10, 13])


def transcode_line(raw: bytes, encoding: str) -> bytes:
    """A line's bytes in ``encoding`` (one :func:`cut_before_decoding` allows) as UTF-8,
    as :func:`utf8_stream` transcodes a file: what does not decode becomes a byte no
    UTF-8 holds, so that :func:`decode_line` names the line.

    >>> transcode_line(b"caf\\xe9", "latin-1"), transcode_line(b"x\\x81", "cp1252")
    (b'caf\\xc3\\xa9', b'x\\xff')
    """
    return raw.decode(encoding, "storyline-not-text").encode("utf-8", "surrogateescape")


class _Transcoded:
    """A stream in ``encoding`` (UTF-16 after its byte order mark, or one a reader was
    told) read as UTF-8 bytes, a chunk at a time."""

    def __init__(self, stream: BinaryIO, start: bytes, encoding: str = "utf-16") -> None:
        self.stream = stream
        self.start = start
        self.decoder = codecs.getincrementaldecoder(encoding)("storyline-not-text")
        self.done = False

    def read(self, size: int) -> bytes:
        out = b""
        while not out and not self.done:
            chunk, self.start = (self.start or self.stream.read(size)), b""
            self.done = not chunk
            text = self.decoder.decode(chunk, final=self.done)
            out = text.encode("utf-8", "surrogateescape")
        return out


class _Prefixed:
    """A stream with its first bytes, read already to look at them, put back."""

    def __init__(self, stream: BinaryIO, start: bytes) -> None:
        self.stream = stream
        self.start = start

    def read(self, size: int) -> bytes:
        if self.start:
            out, self.start = self.start, b""
            return out
        return self.stream.read(size)


# The byte order marks a file may start with, the longest first (UTF-32's little-endian
# mark starts with UTF-16's).
_MARKS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
          (codecs.BOM_UTF8, "UTF-8"), (codecs.BOM_UTF16_LE, "UTF-16"),
          (codecs.BOM_UTF16_BE, "UTF-16"))


def mark_problem(start: bytes, encoding: str) -> str | None:
    """What is wrong with the first bytes ``start`` (four, or all of a shorter file) of
    a file said to be in ``encoding`` (one named, not UTF-8), or None: the byte order mark
    of another encoding (its bytes would be read as text: ``ï»¿``), or no mark where the
    encoding needs one for its byte order (``utf-16``, ``utf-32``).

    >>> mark_problem(b"\\xef\\xbb\\xbfab", "latin-1")[:49]
    'the file starts with the byte order mark of UTF-8'
    >>> mark_problem(b"\\xff\\xfea\\x00", "utf-16"), mark_problem(b"caf\\xe9", "latin-1")
    (None, None)
    """
    found = [name for mark, name in _MARKS if start.startswith(mark)]
    for mark, _ in _MARKS:
        try:
            if start.startswith(mark) and mark.decode(encoding) in ("", "\ufeff"):
                return None  # the encoding's own mark (read, and dropped)
        except (UnicodeError, ValueError):
            continue
    if found:
        how = "--encoding utf-32" if found[0] == "UTF-32" else "no --encoding"
        return (f"the file starts with the byte order mark of {found[0]}, not of "
                f"{encoding}: read it with {how} (the mark says its encoding)")
    family = codecs.lookup(encoding).name
    if family in ("utf-16", "utf-32") and start:
        return (f"no byte order mark, which {encoding} needs for its byte order: name it "
                f"with --encoding {family}-le or {family}-be")
    return None


def _first_bytes(stream: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes (fewer only at the end: standard input may give less a read)."""
    start = stream.read(n)
    while len(start) < n and (more := stream.read(n - len(start))):
        start += more
    return start


def utf8_stream(stream: BinaryIO, encoding: str | None = None) -> tuple[BinaryIO, str]:
    """``stream`` as UTF-8 bytes, and the name of the encoding it was in (as an error
    names it): decoded from ``encoding`` where one is given (other than UTF-8), else
    itself, or decoded from UTF-16 where its first bytes are a UTF-16 byte order mark
    (kept, for the decoder to read the byte order)."""
    if not is_utf8(encoding):
        return _Transcoded(stream, b"", encoding), encoding  # type: ignore[return-value,arg-type]
    start = _first_bytes(stream, 2)
    if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return _Transcoded(stream, start), "UTF-16"  # type: ignore[return-value]
    return _Prefixed(stream, start), "UTF-8"  # type: ignore[return-value]


def raw_lines(stream: BinaryIO, limit: int) -> Iterator[bytes | None]:
    """The stream's lines without their endings; ``None`` for a line over ``limit``
    bytes (its bytes are dropped as they come)."""
    buffer = b""
    skipping = False
    while True:
        # As big as the line held so far: a long line costs copies in proportion to it.
        chunk = stream.read(max(_CHUNK, len(buffer)))
        if not chunk:
            break
        # What was held has no line ending but maybe a last "\r": not searched again.
        scan = max(len(buffer) - 1, 0)
        buffer += chunk
        start = 0
        while True:
            match = _EOL.search(buffer, max(start, scan))
            if match is None or (match.group() == b"\r" and match.end() == len(buffer)):
                break  # a "\r" at the end of a chunk may be the first half of "\r\n"
            if skipping:
                skipping = False
            else:
                yield buffer[start:match.start()]
            start = match.end()
        buffer = buffer[start:]
        if len(buffer) > limit:
            if not skipping:
                yield None
                skipping = True
            buffer = buffer[-1:] if buffer.endswith(b"\r") else b""
    if buffer.endswith(b"\r"):
        buffer = buffer[:-1]
    if buffer and not skipping:
        yield buffer


def numbered_lines(path: Path, max_chars: int = MAX_LINE_CHARS, encoding: str | None = None,
                   advice: str = CONVERT) -> Iterator[tuple[int, str | InputError]]:
    """Decoded lines of ``path`` (``-``: standard input) with their numbers, in
    ``encoding`` (default: UTF-8, or UTF-16 after its byte order mark); one over
    ``max_chars`` characters, or one that does not decode (its error says ``advice``),
    is an error in its place."""
    origin = origin_of(path)
    limit = max_chars * 4  # bytes: a UTF-8 character is at most four
    with open_binary(path) as stream:
        if not is_utf8(encoding):
            assert encoding is not None
            start = _first_bytes(stream, 4)
            if problem := mark_problem(start, encoding):
                error = InputError(origin, 1, problem)
                error.fatal = True  # every line would be garbled, or none can be read
                yield 1, error
                return
            stream = _Prefixed(stream, start)  # type: ignore[assignment]
        source, named = utf8_stream(stream, encoding)  # read as UTF-8 from here on
        for number, raw in enumerate(raw_lines(source, limit), 1):
            if raw is None:
                yield number, InputError(origin, number, too_long(max_chars))
                continue
            text = decode_line(raw, number, origin, max_chars, named, advice)
            yield number, text
            if isinstance(text, InputError) and getattr(text, "fatal", False):
                return


def whole_text(path: Path, encoding: str | None = None) -> str:
    """The text of a small file read whole (a ``.json`` document), decoded as
    :func:`numbered_lines` decodes a file's lines, its line endings made ``\\n``; a
    line that does not decode is an InputError naming file and line."""
    lines = []
    for _, line in numbered_lines(path, _WHOLE, encoding):
        if isinstance(line, InputError):
            raise line
        lines.append(line)
    return "\n".join(lines)


def too_long(max_chars: int) -> str:
    """What an error says of a line over ``max_chars`` characters."""
    return f"line longer than {max_chars} characters"


def decode_line(raw: bytes, number: int, origin: str, max_chars: int = MAX_LINE_CHARS,
                encoding: str = "UTF-8", advice: str = CONVERT) -> str | InputError:
    """Line ``number`` of ``origin`` (its bytes, without the line ending) as text, or the
    error in its place: not UTF-8, longer than ``max_chars``, or (a first line) the byte
    order mark of UTF-16, an error marked ``fatal`` (every line would be garbled: a
    reader transcodes such a file first, ``utf8_stream``, as the Spark job does too,
    which decodes its lines with this). A UTF-8 byte order mark on the first
    line is dropped; ``encoding`` is the file's, as the error names it, and ``advice``
    what the error says to do.

    >>> decode_line(b"caf\\xc3\\xa9", 1, "f"), str(decode_line(b"caf\\xe9", 2, "f"))
    ('café', 'f:2: not valid UTF-8 (byte 3); convert the file to UTF-8')
    """
    if number == 1 and raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        error = InputError(origin, 1, "not valid UTF-8: the file is UTF-16 (it starts "
                           "with its byte order mark); convert it to UTF-8")
        error.fatal = True  # every line would be garbled: none is read
        return error
    if len(raw) > max_chars * 4:
        return InputError(origin, number, too_long(max_chars))
    if number == 1 and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"not valid {encoding} (byte {exc.start}); {advice}"
        return InputError(origin, number, message)
    if len(text) > max_chars:
        return InputError(origin, number, too_long(max_chars))
    return text
