"""What the ``storyline`` command needs besides its commands: the global options, log
levels, progress lines for a log file, tidy help, warnings and the read helpers."""

from __future__ import annotations

import errno
import itertools
import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from storyline.errors import InputError, NotFoundError, StorylineError, UsageError


@dataclass
class GlobalOptions:
    """The options given before the command (``storyline --db x.db stories``)."""

    db: str | Path | None = None
    quiet: bool = False  # -q: errors only, no progress either


STATE = GlobalOptions()


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("storyline")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def set_log_level(verbose: int, quiet: int) -> None:
    """-v: info, -vv: debug, -q: errors only; warnings by default."""
    STATE.quiet = quiet > 0
    level = logging.WARNING + 10 * quiet - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), stream=sys.stderr,
                        format="%(levelname)s: %(name)s: %(message)s", force=True)
    # psycopg warns of a rollback that failed on a connection Ctrl-C or the server
    # closed: the error that follows says it in one line.
    logging.getLogger("psycopg").setLevel(max(level, logging.ERROR) if not verbose
                                          else max(level, logging.DEBUG))


# -- rich, loaded when something is printed through it ---------------------------------
# A --json read or --help prints nothing through rich: its import is 45 ms of a 250 ms
# command.


class LazyConsole:
    """A rich ``Console(**options)``, made on first use."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None

    def console(self) -> Any:
        """The rich Console itself (for rich's own objects: a Progress, a Live)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
            # rich's own answer to a closed pipe is exit 1; ReportingGroup's is the CLI's.
            self._console.on_broken_pipe = _pipe_closed
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console(), name)


def _pipe_closed() -> None:
    raise BrokenPipeError(errno.EPIPE, "the reader of the output closed it")


# What a command exits with when the reader of its standard output closed it early
# (`storyline export | head -1`): it has written all that was read (docs/cli.md).
PIPE_CLOSED_EXIT = 0


def reader_gone(exc: BaseException) -> bool:
    """Whether ``exc`` is a write to standard output after its reader closed it (``|
    head``); standard output then goes nowhere, so that what is still buffered does not
    fail again at exit. A broken pipe elsewhere (a worker's) is an error still."""
    if not isinstance(exc, BrokenPipeError) or not _stdout_closed():
        return False
    _silence_stdout()
    return True


def _stdout_closed() -> bool:
    """Standard output is a pipe with no reader (poll says POLLERR); where poll cannot
    say (Windows, no file descriptor), a broken pipe is taken to be it, as click does."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return True


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):  # no file descriptor: nothing to flush
        pass


def run_command(app: Callable[[], Any]) -> None:
    """Run the CLI ``app``, flushing standard output before the exit; typer's answer to
    a reader gone during ``--help`` (exit 1) becomes the CLI's own (PIPE_CLOSED_EXIT)."""
    try:
        app()
    except SystemExit as exc:
        if exc.code == 1 and reader_gone(exc.__context__):
            raise SystemExit(PIPE_CLOSED_EXIT) from None
        raise
    finally:
        flush_stdout()  # here, not at exit, where a failure is a traceback


def flush_stdout() -> None:
    """What is left in standard output's buffer, written before the exit: a reader gone
    by then ends the command as quietly as one gone earlier; a write that fails
    otherwise (a full disk under ``> file``) is a one-line error, exit 1."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except (OSError, ValueError) as exc:
        _silence_stdout()
        sys.stderr.write(f"error: standard output: {getattr(exc, 'strerror', None) or exc}\n")
        raise SystemExit(1) from None


def error_report(exc: Exception) -> tuple[int, str]:
    """The exit code and one-line message of an error a command raised; raises it again
    where it is not one to report (click's own exits and usage errors)."""
    import sqlite3

    from typer.exceptions import Abort, Exit, TyperException

    if isinstance(exc, Exit | Abort | TyperException):
        raise exc
    if _while_interrupted(exc):  # Ctrl-C, then a driver's error on the way out: Ctrl-C
        raise KeyboardInterrupt from None
    if isinstance(exc, StorylineError):
        return exc.exit_code, str(exc)
    if isinstance(exc, sqlite3.Error):  # one no store method expected: still one line
        from storyline.store.guard import translate

        error = translate(exc, "store")
        return error.exit_code, str(error)
    if type(exc).__module__.split(".")[0] == "psycopg":  # the server went away, say
        return 3, f"the PostgreSQL server failed: {' '.join(str(exc).split())}"
    if isinstance(exc, OSError):  # a file the command was told to write (--out): bad input
        return 1, (f"{exc.filename}: " if exc.filename else "") + (exc.strerror or str(exc))
    if logging.getLogger().isEnabledFor(logging.DEBUG):  # -vv: where it came from
        raise exc
    # A bug, or a store damaged by hand: one line still (a server's errors span lines).
    text = " ".join(str(exc).split())
    return 3, (f"unexpected {type(exc).__name__}: {text} (a damaged store? `storyline check` "
               "says; -vv shows where)")


def _while_interrupted(exc: BaseException) -> bool:
    """True where ``exc`` was raised while a KeyboardInterrupt was being handled."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def db_path(db: str | Path | None) -> str | Path:
    """The store a command's ``--db`` (or the global one, or the default) names."""
    from storyline.config import db_location, default_db

    given = db or STATE.db
    return db_location(given) if given else default_db()


def no_store(path: str | Path) -> NotFoundError:
    """The error of a read on a store that is not there (no file, or an empty server)."""
    from storyline.store import display_url, is_url

    shown = display_url(path) if is_url(path) else path
    return NotFoundError(f"no store at {shown}: run `storyline ingest --db {shown} FILES` first")


def escape(text: str) -> str:
    """``text`` with rich's markup brackets escaped."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def table(*headers: str, **options: Any) -> Any:
    """A rich ``Table`` with these column headers."""
    from rich.table import Table

    return Table(*headers, **options)


class LineProgress:
    """Progress as plain lines on standard error, for a log file or a pipe (a terminal
    gets bars): a line when a step ends, and one every ``every`` seconds of a long step."""

    def __init__(self, stream: TextIO | None = None, every: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.every = every
        self.started = time.monotonic()
        self.last_line = self.started

    def __call__(self, step: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last_line < self.every:
            return
        self.last_line = now
        self.stream.write(f"{step}: {done}/{total} ({now - self.started:.1f} s)\n")
        self.stream.flush()


class Bars:
    """Rich progress bars fed by the engine's progress callback."""

    def __init__(self, console: Any, enabled: bool) -> None:
        from rich import progress as bar  # rich's bars take a tenth of the start-up

        self.progress = bar.Progress(
            bar.TextColumn("{task.description:<18}"), bar.BarColumn(),
            bar.MofNCompleteColumn(), bar.TimeElapsedColumn(), console=console,
            disable=not enabled, transient=False)
        self.tasks: dict[str, int] = {}
        self.batch = ""

    def __call__(self, step: str, done: int, total: int) -> None:
        key = f"{self.batch} {step}"
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(key, total=total)
        self.progress.update(self.tasks[key], completed=done, total=total)


def refuse_local_options(**given: Any) -> None:
    """``ingest --server`` given options that name a store of its own: a UsageError."""
    named = [f"--{name}" for name, value in given.items() if value]
    if named:
        raise UsageError(f"{', '.join(named)}: with --server the batches go into the "
                         "server's store, with its preset and model")


def ingest_line(r: Any) -> str | None:
    """The line an ingest report prints (None for a file without records)."""
    if r.already_ingested:
        return f"batch {escape(r.batch)}: already in the store, nothing to do"
    if r.records:
        return (f"batch {escape(r.batch)}: {r.records} records → {r.new_snippets} new "
                f"snippets, {r.exact_duplicates} exact and {r.near_duplicates} near copies, "
                f"{r.new_stories} new stories, {r.merges} merges")
    return None


def more_line(total: int, limit: int, offset: int, shown: int) -> str | None:
    """What a page of stories left out and how to read the next (None: nothing left)."""
    if offset + shown >= total:
        return None
    return (f"stories {offset + 1}–{offset + shown} of {total}: --offset {offset + limit} "
            "for more")


# -- help -------------------------------------------------------------------------------

_TYPE = re.compile(r"<([a-z]+)(?: range)?>")
_TYPE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH",
               "dir": "FOLDER", "directory": "FOLDER",
               "file": "FILE"}


def _metavar(text: str | None) -> str | None:
    """``<str>`` -> ``TEXT``; ``<list[str]>`` -> ``TEXT``; ``<bool>`` -> nothing."""
    if text is None:
        return None
    text = re.sub(r"<list\[(\w+)\]>", lambda m: f"<{m.group(1).lower()}>", text)
    if text.startswith("<bool>"):
        return None
    return _TYPE.sub(lambda m: _TYPE_NAMES.get(m.group(1), m.group(1).upper()), text)


def tidy_help() -> None:
    """click, as typer bundles it, writes an option's type as ``<str>`` and a required
    argument in the usage line as ``{paths}...``; the plain ``TEXT`` and ``PATHS...`` read
    better (and docs/cli-reference.md is made from this help)."""
    from typer import core

    option_metavar = core.TyperOption.make_metavar
    if getattr(option_metavar, "tidied", False):
        return

    def tidy_option(self, ctx, _original=option_metavar) -> str:
        return _metavar(_original(self, ctx)) or ""

    def argument_name(self, ctx, usage: bool = False) -> str:
        # An argument is named in capitals (FILES...), which says enough without its type.
        name = self.metavar or (self.name or "").upper()
        name += "..." if self.nargs != 1 and not name.endswith("...") else ""
        return f"[{name}]" if usage and not self.required else name

    tidy_option.tidied = True
    core.TyperOption.make_metavar = tidy_option
    core.TyperArgument.make_metavar = argument_name


class Warnings:
    """Warnings on standard error: the first twenty in full, then a count."""

    SHOWN = 20

    def __init__(self, err: Any) -> None:
        self.err = err  # a rich Console on standard error
        self.count = 0

    def __call__(self, warning: Exception) -> None:
        self.count += 1
        if self.count <= self.SHOWN:
            self.err.print(f"[yellow]warning:[/] {escape(str(warning))}", soft_wrap=True)

    def note(self, message: str) -> None:
        self.err.print(f"[yellow]not read:[/] {escape(message)}", soft_wrap=True)

    def close(self) -> None:
        if self.count > self.SHOWN:
            self.err.print(f"[yellow]warning:[/] {self.count - self.SHOWN} more warnings "
                           "like these")


def read_items(path: Path, encoding: str | None = None) -> list:
    """`cluster`/`summarize` items: JSONL records with unique ids (a line number where none),
    read in ``encoding`` (default: UTF-8, or UTF-16 after its byte order mark)."""
    from storyline.pipeline.read import read_file

    records = list(read_file(path, fmt="jsonl", batch="1", encoding=encoding))
    seen: set[str] = set()
    for r in records:
        if r.id is not None and r.id in seen:
            raise InputError(str(path), r.line, f"duplicate id {r.id!r}")
        seen.add(r.id)
    for n, r in enumerate(records, 1):
        if r.id is None:  # its number, unless a record gives that id itself
            r.id = next(c for c in itertools.chain(
                [str(n)], (f"line-{n}-{k}" for k in itertools.count(1))) if c not in seen)
            seen.add(r.id)
    return records


def read_fact_items(path: Path) -> list[tuple[str, str]]:
    """(id, text) per line; an empty or missing text gives empty facts, not an error."""
    from storyline.pipeline.read import json_value

    if not path.exists():
        raise InputError(str(path), None, "no such file")
    items = []
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            obj = json_value(line, str(path), number)
            if not isinstance(obj, dict):
                raise InputError(str(path), number, "expected a JSON object")
            text = obj.get("text")
            items.append((str(obj.get("id", number)), text if isinstance(text, str) else ""))
    return items


def batch_span(batches: list) -> str:
    """A story's batches in a table cell: each with its arrivals while they are few,
    else the first and last and how many (a long-lived story has hundreds, and the
    cell would push the headline off the screen)."""
    if len(batches) <= 3:
        return " ".join(f"{t.batch}:{t.snippets}" for t in batches)
    return f"{batches[0].batch}–{batches[-1].batch} ({len(batches)})"
