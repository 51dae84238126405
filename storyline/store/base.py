"""What every store backend offers: :class:`Store`, the interface the engine, the views,
the CLI and the web server are written against (the SQLite store implements it; a
PostgreSQL one would too). All SQL lives in the backends."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storyline.config import ENV_BUSY_TIMEOUT
from storyline.errors import StoreBusyError, StoreError
from storyline.store.rows import BatchRow, CopyRow, NewSnippet, SnippetRow, StoryRow
from storyline.types import DormancyRule, Record

if TYPE_CHECKING:
    import numpy as np  # annotations only: reading a store needs no numpy

# What `storyline copy` moves, table by table, in this order, with the columns both
# backends share (a migration that adds a column adds it here).
COPIED_TABLES: dict[str, tuple[str, ...]] = {
    "stories": ("id", "merged_into", "headline_id", "summary", "size", "first_seq",
                "last_seq", "centroid", "follows", "headline"),
    "snippets": ("id", "key", "text", "truncated", "batch_seq", "story_id", "novel",
                 "embedding", "cell"),
    "snippet_signatures": ("id", "batch_seq", "minhash"),
    "copies": ("id", "snippet_id", "batch_seq", "position", "kind", "similarity",
               "external_id", "source", "url", "published_at", "title", "raw_text",
               "origin", "line"),
    "merges": ("absorbed", "into_id", "batch_seq", "similarity"),
    "facts": ("snippet_id", "data"),
    "batches": ("name", "seq", "digest", "records", "ingested_at", "origin", "clock",
                "complete", "continues"),
    "state": ("name", "value"),
}


def busy_error(path: Path | str, waited: float | None = None) -> StoreBusyError:
    """Another writer held the store past the busy timeout (either backend)."""
    held = f" for {waited:g} s" if waited is not None else ""
    return StoreBusyError(f"{path}: the store is busy: another writer held it{held}; "
                          f"try again (or wait longer: {ENV_BUSY_TIMEOUT}=SECONDS)")


def damaged_facts_problem(snippet_ids: list[int]) -> str | None:
    """``check``'s line for facts rows that are no JSON object (damaged by hand:
    ``storyline facts`` of their stories fails on them); None when there are none."""
    if not snippet_ids:
        return None
    shown = ", ".join(map(str, snippet_ids[:10])) + (", ..." if len(snippet_ids) > 10 else "")
    return f"{len(snippet_ids)} snippets have damaged facts (not a JSON object): snippet {shown}"


class Store(ABC):
    """One storyline database: batches, canonical snippets and their copies, stories.

    ``Store(db)`` opens the backend :func:`storyline.store.open_store` picks for ``db``
    (a path: SQLite). Use it as a context manager, or call :meth:`close`.

    >>> import tempfile
    >>> from pathlib import Path
    >>> with Store(Path(tempfile.mkdtemp()) / "news.db") as store:
    ...     before = store.version()
    ...     with store.transaction():
    ...         store.add_batch("001", store.next_batch_seq(), "digest", 0,
    ...                         "2025-01-18T10:00:00+00:00", "doctest")
    ...     [b.name for b in store.batches()], store.counts()["batches"]
    ...     store.version() != before
    (['001'], 1)
    True
    """

    path: Path | str
    _depth: int = 0  # nested transaction() calls inside the outermost one

    def __new__(cls, *args: Any, **kwargs: Any) -> Store:
        if cls is Store:  # the interface itself: the backend the argument names
            from storyline.store import open_store

            return open_store(*args, **kwargs)
        return super().__new__(cls)

    # -- plumbing ---------------------------------------------------------

    @abstractmethod
    def close(self) -> None: ...

    @property
    def connection_lost(self) -> bool:
        """Whether the connection to a database server was lost: the store must be
        opened again (a file store never loses it)."""
        return False

    def alive(self) -> bool:
        """Whether the store still answers (a database server may have restarted)."""
        return True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing; nested calls join the outer transaction. A writer takes the
        write lock at the start and waits for another up to a timeout (then
        :class:`~storyline.errors.StoreBusyError`); a full disk is
        :class:`~storyline.errors.DiskFullError`."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            with self._outermost_transaction():
                yield
        finally:
            self._depth = 0

    @abstractmethod
    def _outermost_transaction(self) -> AbstractContextManager[None]:
        """The backend's own transaction, with its write lock and error translation."""

    @abstractmethod
    def data_version(self) -> int:
        """Changes whenever another connection commits: a writer's in-memory state is
        stale when it moved since the writer last looked."""

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[None]:
        """One read transaction: every read inside sees the same state of the store."""

    @abstractmethod
    def version(self) -> tuple[int, ...]:
        """A value that changes with every write a reader can see (caches key on it)."""

    @property
    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def check(self) -> list[str]:
        """Consistency problems, if any (an empty list means consistent)."""

    @abstractmethod
    def notes(self) -> list[str]:
        """What a stopped run left to finish (batches partly stored)."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Batches, snippets, copies, live stories and merges."""

    @abstractmethod
    def size_bytes(self) -> int:
        """Bytes the store takes on disk: SQLite's file with its write-ahead log;
        on PostgreSQL the storyline tables with their indexes and TOAST."""

    # -- state ------------------------------------------------------------

    @abstractmethod
    def get_state(self, name: str) -> bytes | None: ...

    @abstractmethod
    def get_text_state(self, name: str) -> str | None: ...

    @abstractmethod
    def set_state(self, name: str, value: bytes | str | int) -> None: ...

    # -- batches ----------------------------------------------------------

    @abstractmethod
    def batch(self, name: str) -> BatchRow | None: ...

    @abstractmethod
    def batches(self) -> list[BatchRow]:
        """Every batch, in ingestion order."""

    @abstractmethod
    def batch_names(self) -> dict[int, str]:
        """Batch seq -> name."""

    @abstractmethod
    def next_batch_seq(self) -> int: ...

    @abstractmethod
    def add_batch(self, name: str, seq: int, digest: str, records: int, when: str,
                  origin: str | None, clock: str | None = None, complete: bool = True,
                  continues: str | None = None) -> None:
        """Write a batch's row, or (a batch written in chunks) bring it up to date;
        ``continues``: the batch whose file's new records it holds (set when made)."""

    @abstractmethod
    def continuations(self, name: str) -> list[BatchRow]:
        """The batches that continue batch ``name`` (its file's later records), in order."""

    @abstractmethod
    def dormant_seqs(self, rule: DormancyRule, now_seq: int | None = None) -> set[int]:
        """The batches whose stories are dormant for batch ``now_seq``."""

    # -- snippets and copies ----------------------------------------------

    @abstractmethod
    def next_snippet_id(self) -> int: ...

    @abstractmethod
    def add_snippets(self, rows: Iterable[NewSnippet]) -> None: ...

    @abstractmethod
    def add_copies(self, rows: Iterable[tuple[int, int, int, str, float, Record]]) -> None:
        """(snippet id, batch seq, position, kind, similarity, record) rows."""

    @abstractmethod
    def embeddings(self, snippet_ids: list[int], dim: int) -> np.ndarray: ...

    @abstractmethod
    def all_embeddings(self, dim: int) -> tuple[list[int], np.ndarray]: ...

    @abstractmethod

    @abstractmethod
    def snippet(self, snippet_id: int) -> SnippetRow | None: ...

    @abstractmethod
    def story_snippets(self, story_id: int) -> list[SnippetRow]: ...

    @abstractmethod
    def story_date_values(self, story_id: int) -> list[str]:
        """Every distinct ``published_at`` of the story's copies, as stored."""

    def story_dates(self, story_id: int) -> tuple[str | None, str | None]:
        """The earliest and latest ``published_at`` of the story's copies, in UTC as ISO
        8601 (None: no copy has one). Compared as instants, not as the stored strings:
        ``10:00+05:30`` is before ``06:00Z``."""
        from storyline.dates import parse_date

        whens = [when for when in map(parse_date, self.story_date_values(story_id)) if when]
        if not whens:
            return None, None
        return (min(whens).isoformat(timespec="seconds"),
                max(whens).isoformat(timespec="seconds"))

    @abstractmethod
    def members_of_stories(self, story_ids: list[int]) -> list[tuple[int, int]]: ...

    @abstractmethod
    def snippet_texts(self, snippet_ids: list[int]) -> dict[int, str]: ...

    @abstractmethod
    def copies_of(self, snippet_ids: list[int]) -> dict[int, list[CopyRow]]: ...

    @abstractmethod
    def batch_copies(self, batch_seq: int) -> list[CopyRow]: ...

    @abstractmethod
    def copy_stories(self) -> list[tuple[int, int, int, str, int | None]]: ...

    @abstractmethod
    def known_links(self) -> set[str]:
        """Every url and external id of a copy in the store."""

    @abstractmethod
    def set_novel(self, flags: Iterable[tuple[int, bool]]) -> None: ...

    @abstractmethod
    def search_text(self, query: str, limit: int) -> list[tuple[int, float]]:
        """Full-text matches (snippet id, score: lower is better)."""

    @abstractmethod
    def has_snippets(self) -> bool: ...

    @abstractmethod
    def snippet_text_chunks(self, size: int = 10_000) -> Iterator[list[str]]:
        """Every canonical snippet's text, in id order, ``size`` at a time."""

    @abstractmethod
    def snippets_without_facts(self, limit: int | None = None) -> list[int]:
        """Snippets whose facts were not written (a run stopped before writing them)."""

    # -- facts ------------------------------------------------------------

    @abstractmethod
    def set_facts(self, rows: Iterable[tuple[int, str]]) -> None: ...

    @abstractmethod
    def facts_of(self, snippet_ids: list[int]) -> dict[int, str]: ...

    # -- stories ----------------------------------------------------------

    def new_story(self, seq: int) -> int:
        """One new story first seen in batch ``seq`` (see new_stories)."""
        return self.new_stories([(seq, None)])[0]

    @abstractmethod
    def new_stories(self, rows: list[tuple[int, int | None]]) -> list[int]:
        """New stories, one per (first batch seq, the story it follows or None) row, in
        one statement; their ids in that order."""

    @abstractmethod
    def story(self, story_id: int) -> StoryRow | None: ...

    def resolve(self, story_id: int) -> int | None:
        """The live story an id stands for now, following merges."""
        seen = set()
        while True:
            row = self.story(story_id)
            if row is None:
                return None
            if row.merged_into is None:
                return row.id
            if story_id in seen:
                raise StoreError(f"merge cycle at story {story_id}")
            seen.add(story_id)
            story_id = row.merged_into

    @abstractmethod
    def live_stories(self, dormant_seqs: Iterable[int] = ()) -> list[StoryRow]: ...

    def live_seqs(self, dormant_seqs: Iterable[int]) -> list[int]:
        """Every stored batch but ``dormant_seqs``. The live stories are found as those
        last fed by one of these, through an index on ``last_seq``: "not dormant" read
        every story the stream ever had, a cost that grew with it."""
        dormant = set(dormant_seqs)
        return sorted(seq for seq in self.batch_names() if seq not in dormant)

    @abstractmethod
    def story_list(self, *, min_size: int = 1, batch_seq: int | None = None,
                   dormant: Iterable[int] = (), status: str | None = None,
                   needle: str | None = None, limit: int | None = None,
                   offset: int = 0) -> list[StoryRow]:
        """Live stories, biggest first, filtered, a page of them (see the SQLite store)."""

    @abstractmethod
    def story_count(self, *, min_size: int = 1, batch_seq: int | None = None,
                    dormant: Iterable[int] = (), status: str | None = None) -> int:
        """How many stories :meth:`story_list` gives over all its pages (no text filter)."""

    @abstractmethod
    def stories_of(self, story_ids: list[int]) -> dict[int, StoryRow]:
        """Story rows by id, in one read (ids not in the store are left out)."""

    @abstractmethod
    def resolve_many(self, story_ids: Iterable[int]) -> dict[int, int]:
        """The live story each id stands for now (as :meth:`resolve`), a few reads in all."""

    @abstractmethod
    def batch_arrivals(self, batch_seq: int) -> list[tuple[int, str, int, bool, int]]:
        """The batch's copies in arrival order, as (snippet id, kind, the snippet's story
        before merges, novel, the batch its snippet was first seen in): what a batch's
        changes are ordered by, without texts or other copies."""

    @abstractmethod
    def story_arrivals(self, story_ids: list[int]
                       ) -> tuple[dict[int, dict[int, list[int]]], dict[int, set[str]]]:
        """Per story: {batch seq: [arrivals, new snippets]}, and its distinct sources."""

    @abstractmethod
    def update_stories(self, rows: Iterable[tuple[int, int, int]]) -> None:
        """(story id, size, batch seq) rows: each story's size, and its last batch, in one
        statement (stories keep no centroid)."""

    @abstractmethod
    def describe_stories(self, rows: Iterable[tuple[int, int | None, str, str | None]]
                         ) -> None:
        """(story id, headline snippet id, summary, headline) rows, in one statement."""

    @abstractmethod
    def merge(self, absorbed: int, into: int, batch_seq: int, similarity: float) -> None: ...

    def merge_all(self, rows: list[tuple[int, int, int, float]]) -> None:
        """(absorbed, into, batch seq, similarity) merges, in order."""
        for absorbed, into, batch_seq, similarity in rows:
            self.merge(absorbed, into, batch_seq, similarity)

    @abstractmethod
    def merged_from(self, story_id: int) -> list[int]: ...

    @abstractmethod
    def merges(self) -> list[tuple[int, int, int, float]]: ...

    @abstractmethod
    def story_batch_counts(self, story_ids: list[int]
                           ) -> dict[int, list[tuple[int, int, int]]]: ...

    @abstractmethod
    def stories_in_batch(self, batch_seq: int) -> set[int]: ...

    @abstractmethod
    def story_source_counts(self, story_ids: list[int]
                            ) -> dict[int, list[tuple[str, int]]]: ...

    # -- bounded memory over long streams (docs/scale.md) ------------------

    @abstractmethod
    def snippet_ids_by_key(self, keys: list[str]) -> dict[str, int]:
        """Canonical snippets by comparison key, at any age (exact copies)."""

    @abstractmethod
    def signature_rows_since(self, seq: int) -> list[tuple[int, int, bytes | None, str]]:
        """(id, batch seq, MinHash, text) of the snippets first seen from batch ``seq``."""

    @abstractmethod
    def latest_signature_rows(self, seq: int, limit: int
                              ) -> list[tuple[int, int, bytes | None, str]]:
        """As :meth:`signature_rows_since`, the latest ``limit`` of them only, oldest first."""

    @abstractmethod
    def live_member_count(self, dormant_seqs: Iterable[int], per_story: int) -> int:
        """The recent members (at most ``per_story`` a story) of the live stories, counted."""

    @abstractmethod
    def recently_fed_stories(self, dormant_seqs: Iterable[int], since_id: int
                             ) -> list[StoryRow]:
        """The live stories holding a snippet of id ``since_id`` or later, the one fed
        last first."""

    @abstractmethod
    def drop_signatures_before(self, seq: int) -> None:
        """Forget the MinHash of snippets first seen before batch ``seq``."""

    @abstractmethod
    def recent_members(self, story_ids: list[int], per_story: int) -> list[tuple[int, int]]:
        """(snippet id, story id) of the latest ``per_story`` snippets of each story."""

    def recent_snippets_of(self, story_ids: list[int], limit: int) -> dict[int, list[SnippetRow]]:
        """The latest ``limit`` snippets of each story, oldest first: two queries for
        any number of stories (one each was a round trip each to a remote server)."""
        pairs = self.recent_members(story_ids, limit)
        rows = self.snippet_rows([snippet for snippet, _ in pairs])
        out: dict[int, list[SnippetRow]] = {story: [] for story in story_ids}
        for snippet, story in sorted(pairs):
            out[story].append(rows[snippet])
        return out

    @abstractmethod
    def snippet_rows(self, snippet_ids: list[int]) -> dict[int, SnippetRow]: ...

    @abstractmethod
    def follows(self, story_id: int) -> int | None: ...

    @abstractmethod
    def followed_by(self, story_id: int) -> list[int]: ...

    @abstractmethod
    def set_cells(self, rows: Iterable[tuple[int, int]]) -> None:
        """(snippet id, cell of the embedding index) pairs (storyline.pipeline.ivf)."""

    @abstractmethod
    def embeddings_in_cells(self, cells: list[int], dim: int
                            ) -> tuple[list[int], np.ndarray]: ...

    def embeddings_of_nearest_cells(self, cells: list[int], dim: int, budget: int
                                    ) -> tuple[list[int], np.ndarray]:
        """The embeddings of ``cells`` (nearest first), a whole cell at a time, until
        ``budget`` of them are read: a cell is read when fewer than ``budget`` were read
        before it. Here a cell a query; a server backend answers in one."""
        import numpy as np

        ids: list[int] = []
        parts = []
        for cell in cells:
            if len(ids) >= budget:
                break
            cell_ids, vectors = self.embeddings_in_cells([cell], dim)
            ids += cell_ids
            parts.append(vectors)
        return ids, np.vstack(parts) if parts else np.zeros((0, dim), dtype=np.float32)

    @abstractmethod
    def embedding_sample(self, limit: int, dim: int, step: int = 1
                         ) -> tuple[list[int], np.ndarray]:
        """The first ``limit`` stored embeddings of snippets whose id is a multiple of
        ``step`` (what the index's cells are drawn from: the first ones, or, drawn again,
        a sample spread over the store)."""

    @abstractmethod
    def embeddings_after(self, after_id: int, limit: int, dim: int
                         ) -> tuple[list[int], np.ndarray]:
        """Up to ``limit`` stored embeddings of snippets past ``after_id``, in id order
        (every embedding, a chunk at a time, when the cells are drawn again)."""

    # -- copying a whole store (storyline copy) -----------------------------

    @abstractmethod
    def table_rows(self, table: str, columns: tuple[str, ...]) -> Iterable[tuple]:
        """Every row of a table of COPIED_TABLES, those columns, in key order (merges in
        the order they happened); state values as set_state was given them."""

    @abstractmethod
    def insert_rows(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
        """Insert rows another store's table_rows read (inside a transaction; foreign
        keys are checked at commit)."""


__all__ = ["COPIED_TABLES", "Store"]
