"""Files a command is told to write (``--out``): refused before any work where writing
them would destroy what the command reads (its input file, its store) or cannot be done
(a folder), and written beside their target and renamed over it once whole, so a command
that fails or is stopped (a full disk, Ctrl-C) leaves the target as it was.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> news = folder / "news.jsonl"
>>> _ = news.write_text("{}\\n")
>>> refuse_overwrite(news, "--out", news)
Traceback (most recent call last):
storyline.errors.UsageError: --out news.jsonl: is a file this command reads; name another
>>> with replacing(folder / "out.jsonl") as fh:
...     _ = fh.write("done\\n")
>>> (folder / "out.jsonl").read_text()
'done\\n'
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from storyline.errors import UsageError


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them is not there (yet): the same path is the same file
        return a.resolve() == b.resolve()


def refuse_overwrite(output: Path | None, option: str, *reads: str | Path | None) -> None:
    """Before any work: UsageError (exit 2) where ``output`` is one of the files the
    command ``reads`` (its input, a SQLite store; a URL is no file), IsADirectoryError
    (exit 1, as when written) where it is a folder (None: standard output)."""
    if output is None:
        return
    if output.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(output))
    for read in reads:
        if read is None or str(read).startswith(("postgresql://", "postgres://")):
            continue
        if _same_file(output, Path(read)):
            raise UsageError(f"{option} {output.name}: is a file this command reads; "
                             "name another")


@contextmanager
def replacing(path: Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A file beside ``path`` that replaces it once written whole; removed on failure.
    An OSError (a full disk, exit 1) names ``path``, not the file beside it."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                                         dir=path.parent)
    except OSError as exc:  # no such folder, no right to write there: name the target
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb" if binary else "w",
                       **({} if binary else {"encoding": "utf-8", "newline": ""})) as fh:
            yield fh
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename in (None, temporary):
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise


def write_text(path: Path, text: str) -> None:
    """``path`` holds ``text`` (UTF-8), written whole or not at all."""
    with replacing(path) as fh:
        fh.write(text)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
