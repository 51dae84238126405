"""How the web server reaches the store: pooled readers, one serialised writer.

SQLite in WAL mode lets readers run while one writer commits. Each request borrows a
:class:`~storyline.api.Storyline` of its own (its own connection) from a pool and reads
inside one read transaction, so every query of a page sees the same snapshot even when a
batch commits halfway through the page. Ingests (``POST /api/batches`` and the watcher)
go through one writer under a lock: SQLite takes one writer at a time, and the engine
keeps in-memory state (the duplicate index) that only one writer may own.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from cachetools import LRUCache

from storyline.api import Storyline, resolve_preset
from storyline.config import db_location
from storyline.engine import group_batches
from storyline.errors import (
    NotFoundError,
    OtherContentError,
    StoreError,
    StoreUnavailableError,
)
from storyline.pipeline.facts import story_facts
from storyline.store import open_store, read_only_store
from storyline.types import IngestReport, Record, StoryDetail
from storyline.writer import holds_other_content

# A pooled connection idle longer than this is checked before use (see _checkout).
IDLE_CHECK_SECONDS = 2.0
log = logging.getLogger("storyline.web")


@dataclass
class WebSettings:
    """What ``storyline serve`` is told; every field has a command-line option."""

    db: str | Path  # a SQLite file or a postgresql:// URL
    token: str | None = None  # POST /api/batches needs it; none set: ingest is refused
    private: bool = False  # reads need the token too
    preset_name: str | None = None  # None: from the model the store was built with
    model: str | None = None
    facts: bool = True  # the story page's facts table (spaCy, cached per story and batch)
    max_body_bytes: int = 20 * 1024 * 1024
    page_size: int = 50
    # Watching: batch files dropped in a folder, RSS/Atom feeds, article pages.
    watch_folder: Path | None = None
    watch_encoding: str | None = None  # the watched folder's files' (default: UTF-8)
    feeds: list[str] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)
    fetch_articles: bool = False
    watch_interval: float = 300.0


_MISSING = object()


class StoreAccess:
    """Readers, the writer and the caches of one server over one store file."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self.db = db_location(settings.db)
        # Creates (and migrates) the store before any reader opens; one that cannot be
        # written (a read-only mount) is served as it is.
        self.create = not read_only_store(self.db)
        with open_store(self.db, create=self.create) as store:
            self.preset_name, self.model = resolve_preset(store, settings.preset_name,
                                                          settings.model)
        self._pool: list[tuple[Storyline, float]] = []  # idle, with when it came back
        self._opened: list[Storyline] = []
        self._pool_lock = threading.Lock()
        self.write_lock = threading.Lock()
        self._writer: Storyline | None = None
        self._writer_mark: tuple[int, ...] | None = None
        self._encoder: Any = None
        self._encoder_failed = False
        self._encoder_lock = threading.Lock()
        # The last answers used (story lists by store version, facts by story state).
        self._facts: LRUCache[tuple, Any] = LRUCache(maxsize=512)
        self._memo: LRUCache[tuple, Any] = LRUCache(maxsize=256)
        self._cache_lock = threading.Lock()  # cachetools' caches are not thread-safe
        # Called (in a thread of their own) after each ingest through this object.
        self.after_write: list[Callable[[], None]] = []
        # Whether a reader asked for a story list since the list was last built after an
        # ingest: a server nobody reads (batches from cron) builds no page for nobody.
        self.list_wanted = False
        self._hook_threads: list[threading.Thread] = []
        self.closed = False

    def _open(self) -> Storyline:
        # Never create (the store was made above): one deleted or moved away while the
        # server ran was made again, empty, and took the next batch readers never saw.
        with _store_there(self.db):
            return Storyline(self.db, self.preset_name, model=self.model, create=False)

    # -- reading ----------------------------------------------------------

    @contextmanager
    def connection(self) -> Iterator[Storyline]:
        """A Storyline of this thread's own (its own connection), back to the pool after.
        One whose database server went away (a restart) is dropped with every idle one,
        and the request answers 503: the next opens new connections."""
        sl = self._checkout()
        try:
            with _unavailable_when_lost(sl):
                yield sl
        finally:
            if sl.store.connection_lost:
                self._drop_idle(sl)
            else:
                with self._pool_lock:
                    self._pool.append((sl, time.monotonic()))

    def _checkout(self) -> Storyline:
        """A pooled Storyline, or a new one. One idle a while is asked first whether its
        server is still there (one round trip; a restart leaves every pooled connection
        dead, and the request would fail on it)."""
        while True:
            with self._pool_lock:
                sl, since = self._pool.pop() if self._pool else (None, 0.0)
            if sl is None:
                break
            if time.monotonic() - since < IDLE_CHECK_SECONDS or sl.store.alive():
                return sl
            self._drop_idle(sl)
        sl = self._open()
        with self._pool_lock:
            self._opened.append(sl)
        return sl

    def _drop_idle(self, lost: Storyline) -> None:
        """Close ``lost`` and the idle connections: they went to the same server."""
        with self._pool_lock:
            dropped = [lost, *(sl for sl, _ in self._pool)]
            self._pool.clear()
            self._opened = [sl for sl in self._opened if sl not in dropped]
        for sl in dropped:
            try:
                sl.close()
            except Exception:  # closing a dead connection: nothing left to release
                pass

    @contextmanager
    def read(self) -> Iterator[Storyline]:
        """A Storyline of this thread's own, inside one read transaction (one snapshot)."""
        with self.connection() as sl, sl.store.snapshot():
            yield sl

    def search_encoder(self) -> Any:
        """The store's encoder for semantic search, loaded once; None (keyword search
        only) when it cannot be loaded, e.g. models not built."""
        with self._encoder_lock:
            if self._encoder is None and not self._encoder_failed:
                probe = self._open()
                try:
                    self._encoder = probe.engine.encoder
                except Exception as exc:  # any load failure: search still works by keyword
                    log.warning("semantic search off: %s", exc)
                    self._encoder_failed = True
                finally:
                    probe.close()
            return self._encoder

    def memo(self, sl: Storyline, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()``, kept for this version of the store (the story list: its first
        page is what most requests ask, and it only changes when a batch comes)."""
        key = (sl.store.version(), *key)
        with self._cache_lock:
            value = self._memo.get(key, _MISSING)
        if value is _MISSING:
            value = compute()
            with self._cache_lock:
                self._memo[key] = value
        return value

    def clear_caches(self) -> None:
        """Forget the story lists and facts kept (the benchmark times cold answers)."""
        with self._cache_lock:
            self._memo.clear()
            self._facts.clear()

    def facts(self, detail: StoryDetail) -> list | None:
        """``Storyline.facts`` of a story, kept until the story changes; None when the
        store is too busy to give them now.

        Not inside a read transaction: on a store whose facts were not read at ingest,
        ``story_facts`` reads them now (spaCy) and stores them, which is a write.
        SQLite serialises that write with the ingests (its own lock, waited for up to
        the store's busy timeout); the engine's in-memory state is not involved.
        """
        key = (detail.id, detail.size, detail.copies, detail.last_batch)
        with self._cache_lock:
            rows = self._facts.get(key, _MISSING)
        if rows is not _MISSING:
            return rows
        with self.connection() as sl:
            try:
                rows = story_facts(sl.store, detail)
            except sqlite3.OperationalError as exc:  # locked past the timeout by an ingest
                log.warning("facts of story %d not available now: %s", detail.id, exc)
                return None
            except LookupError:  # merged away since: the next page view shows the survivor
                return None
        with self._cache_lock:
            self._facts[key] = rows
        return rows

    # -- writing ----------------------------------------------------------

    def _current_writer(self) -> Storyline:
        """The writer, opened afresh when someone else wrote to the store since its last
        ingest: its engine's duplicate index would not hold their snippets."""
        mark = self._mark()
        if self._writer is None or mark != self._writer_mark or (
                not self._writer.store.alive()):  # its server restarted meanwhile
            if self._writer is not None:
                self._writer.close()
            self._writer = self._open()
        return self._writer

    def _mark(self) -> tuple[int, ...]:
        with _store_there(self.db), open_store(self.db, create=False) as store:
            return store.version()

    def ingest_records(self, records: Iterable[Record], origin: str, whole: bool = False
                       ) -> list[IngestReport]:
        """Ingest records (one batch per batch name), one ingest at a time.

        A batch name already taken by other content is refused before anything is
        written, so records of several batches go in all or (on a conflict) none."""
        records = list(records)
        with self.write_lock:
            writer = self._current_writer()
            try:
                for name, group in group_batches(records).items():
                    existing = holds_other_content(writer.store, name, group)
                    if existing is not None:
                        raise OtherContentError(
                            f"batch {existing.name!r} is already in the store with other "
                            f"content ({existing.records} records): give this batch another "
                            "name")
                with _unavailable_when_lost(writer):
                    reports = writer.engine.ingest_records(records, origin=origin,
                                                           whole=whole)
            finally:
                self._writer_mark = self._mark()
        self._written()
        return reports

    def ingest_paths(self, paths: list[Path], window: timedelta | None = None,
                     encoding: str | None = None) -> list[IngestReport]:
        """Ingest batch files, one ingest at a time (``window``: cut by published_at;
        ``encoding``: the files', default UTF-8)."""
        with self.write_lock:
            writer = self._current_writer()
            try:
                with _unavailable_when_lost(writer):
                    reports = writer.ingest(*paths, window=window, encoding=encoding)
            finally:
                self._writer_mark = self._mark()
        self._written()
        return reports

    def _written(self) -> None:
        """Runs the ``after_write`` hooks (the server's warm-up of the story list) in the
        background: the ingest's caller does not wait for them."""
        hooks = list(self.after_write)
        if hooks and not self.closed:
            thread = threading.Thread(target=_run_hooks, args=(hooks,), name="storyline-warm",
                                      daemon=True)
            self._hook_threads = [t for t in self._hook_threads if t.is_alive()] + [thread]
            thread.start()

    def known_links(self) -> set[str]:
        """Every url and external id already in the store (what the watcher skips)."""
        with self.read() as sl:
            return sl.store.known_links()

    def has_batch(self, name: str) -> bool:
        with self.read() as sl:
            return sl.store.batch(name) is not None

    def close(self) -> None:
        self.closed = True
        # A warm-up still reading holds a connection: closing it under the reader
        # crashed the process (sqlite3), so the readers finish first.
        for thread in self._hook_threads:
            thread.join(timeout=60)
        with self.write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        with self._pool_lock:
            for sl in self._opened:
                sl.close()
            self._opened.clear()
            self._pool.clear()


def _run_hooks(hooks: list[Callable[[], None]]) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception:  # a warm-up that fails costs speed, not correctness
            log.exception("after-ingest hook failed")


@contextmanager
def _store_there(db: str | Path) -> Iterator[None]:
    """A store no longer where the server found it is a StoreError, not a 404."""
    try:
        yield
    except NotFoundError as exc:
        raise StoreError(f"{db}: the store is gone (deleted or moved while the server "
                         "ran); nothing was written: put it back or restart the server"
                         ) from exc


@contextmanager
def _unavailable_when_lost(sl: Storyline) -> Iterator[None]:
    """An error that came with the loss of ``sl``'s server connection (a restart) is
    StoreUnavailableError (503, try again); any other goes on as it is."""
    try:
        yield
    except Exception as exc:
        if not sl.store.connection_lost:
            raise
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise StoreUnavailableError(f"{sl.store.path}: lost the connection to the database "
                                    f"server ({reason}); try again") from exc
