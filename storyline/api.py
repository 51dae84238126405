"""The Python API: one object over a store.

    from storyline import Storyline

    with Storyline("news.db") as sl:
        sl.ingest("examples/seeds")
        for story in sl.stories()[:3]:
            print(story.id, story.headline)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from storyline import views
from storyline.config import PRESETS, Config, default_db, dormancy, preset
from storyline.errors import UsageError
from storyline.store import Store, open_store
from storyline.types import (
    IngestReport,
    Record,
    SearchHit,
    StoryChanges,
    StoryDetail,
    StorySummary,
)

if TYPE_CHECKING:
    from storyline.engine import Engine, Progress

# Encoder names a store records (state "model") -> the ``model`` option that
# loads them, for stores written before the option itself was recorded.
_MODEL_OF_ENCODER = {"static": "static", "minilm-onnx-int8": "minilm",
                     "minilm-onnx-fp32": "minilm-fp32", "none": "none"}


def built_with(store: Store) -> tuple[str | None, str | None]:
    """The preset and the ``model`` option a store was built with (None where it
    does not say: a new store, or one written before it recorded them)."""
    model = store.get_text_state("model_option")
    if model is None and (encoder := store.get_text_state("model")) is not None:
        model = _MODEL_OF_ENCODER.get(encoder, encoder if encoder.startswith("st:") else None)
    return store.get_text_state("preset"), model


def resolve_preset(store: Store, preset_name: str | None = None, model: str | None = None,
                   stored: tuple[str | None, str | None] | None = None
                   ) -> tuple[str, str | None]:
    """The preset and model to open ``store`` with: those asked, else those it was
    built with (a store built with the static model: ``fast``; a new store:
    ``default``). A preset asked without a model keeps the preset's own model.
    ``stored``: what ``built_with(store)`` says, where the caller has read it."""
    if preset_name is not None:
        return preset_name, model
    stored_preset, stored_model = stored if stored is not None else built_with(store)
    return (stored_preset or ("fast" if stored_model == "static" else "default"),
            model or stored_model)


def _expect(what: str, value: object, kind: object) -> None:
    """A UsageError naming ``what`` unless ``value`` is of ``kind`` (a type or a union)."""
    if not isinstance(value, kind):  # type: ignore[arg-type]
        raise UsageError(f"{what} must be {_kind_name(kind)}, not {type(value).__name__}")


def _kind_name(kind: object) -> str:
    names = {str: "a string", Path: "a Path", type(None): "None", Iterable: "an iterable",
             timedelta: "a timedelta"}
    parts = getattr(kind, "__args__", None) or (kind,)
    return " or ".join(names.get(p, getattr(p, "__name__", str(p))) for p in parts)


class _Closed:
    """The store of a closed Storyline: every use is a StoreError, not the driver's."""

    def __init__(self, path: object) -> None:
        self.path = path

    def __getattr__(self, name: str) -> object:
        from storyline.errors import StoreError

        raise StoreError(f"{self.path}: this Storyline is closed (open it again)")


class Storyline:
    """A storyline store with its pipeline. ``db`` defaults to ``$STORYLINE_DB``
    or ``storyline.db``; ``preset`` names a configuration (default, fast, minilm).
    Without a preset, a store opens with the preset and model it was built with
    (a new store: ``default``), so reading a ``--fast`` store needs no flag.

    >>> import tempfile
    >>> db = Path(tempfile.mkdtemp()) / "news.db"
    >>> with Storyline(db, "default", model="none", extract_facts=False) as sl:
    ...     (report,) = sl.ingest_records([
    ...         Record("Fed holds interest rates steady as inflation cools", "1"),
    ...         Record("Fed holds interest rates steady, inflation cooling", "1"),
    ...         Record("Apple releases iOS 7.1 with CarPlay for cars", "1")])
    ...     for story in sl.stories():
    ...         print(story.copies, story.headline)
    1 Apple releases iOS 7.1 with CarPlay for cars
    2 Fed holds interest rates steady as inflation cools
    >>> report.new_snippets, report.near_duplicates
    (2, 1)
    """

    def __init__(self, db: str | Path | None = None, preset_name: str | None = None,
                 config: Config | None = None, *, create: bool = True, **overrides) -> None:
        """``create=False``: a store that is not there is a NotFoundError, not made."""
        if db is not None and not isinstance(db, str | Path):
            raise UsageError(f"db must be a path or a postgresql:// URL, not "
                             f"{type(db).__name__}")
        self.store = open_store(db or default_db(), create=create)
        # Opened on a store that says nothing yet, with nothing asked: what another
        # process builds it with is taken up when this one first searches.
        stored = built_with(self.store) if config is None and preset_name is None else None
        self._undecided = (stored == (None, None)
                           and all(v is None for v in overrides.values()))
        if config is None:
            asked = preset_name
            preset_name, overrides["model"] = resolve_preset(
                self.store, preset_name, overrides.get("model"), stored)
            if asked is None and preset_name not in PRESETS:  # the store's, not the caller's
                from storyline.errors import StoreError

                self.store.close()
                raise StoreError(f"{self.store.path}: the store says it was built with preset "
                                 f"{preset_name!r}, which this storyline does not know")
            config = preset(preset_name, **overrides)
        self.config = config
        self._engine: Engine | None = None
        self._encoder = None  # for search alone, without the engine

    @property
    def engine(self) -> Engine:
        """The pipeline over this store, built on first use: reading needs none of it
        (nor its numerical libraries, which are most of a command's start-up)."""
        if self._engine is None:
            from storyline.engine import Engine

            self._engine = Engine(self.store, self.config)
        return self._engine

    def _query_encoder(self):
        """The engine's encoder, or the same model loaded alone: a search needs no
        clustering stack (scipy and the pipeline: a quarter second of a CLI search)."""
        if self._engine is not None:
            return self._engine.encoder
        if self._undecided and built_with(self.store) != (None, None):
            self._undecided = False
            name, model = resolve_preset(self.store)
            self.config = preset(name, model=model)
        if self._encoder is None:
            from storyline.models.encoders import store_encoder

            self._encoder = store_encoder(self.store, self.config.model)
        return self._encoder

    def close(self) -> None:
        if not isinstance(self.store, _Closed):
            self.store.close()
            self.store = _Closed(self.store.path)  # type: ignore[assignment]
            # The engine holds the closed store too: an ingest after close() reached it
            # (sqlite3.ProgrammingError); the next engine is built on the _Closed one.
            self._engine = None

    def __enter__(self) -> Storyline:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- write -------------------------------------------------------------

    def ingest(self, *paths: str | Path, fmt: str | None = None, batch: str | None = None,
               columns: dict[str, str] | None = None, skip_bad: bool = False,
               window: str | timedelta | None = None, progress: Progress | None = None,
               encoding: str | None = None, **listeners) -> list[IngestReport]:
        """Ingest batch files or folders of them (a folder's files in name order; ``-``
        is standard input). ``window`` (``6h``, ``1d``) cuts each file into batches by
        published_at. ``encoding`` is the files' (``latin-1``, ``cp1252``; default UTF-8,
        or UTF-16 after its byte order mark; an unknown name is a UsageError).
        ``on_warning`` and ``on_skipped`` hear of unreadable dates and of a folder's
        other files (default: the ``storyline.read`` logger)."""
        from storyline.pipeline.window import parse_window

        for path in paths:
            _expect("a batch file or folder", path, str | Path)
        _expect("batch", batch, str | None)
        _expect("window", window, str | timedelta | None)
        span = parse_window(window) if isinstance(window, str) else window
        return self.engine.ingest_paths([Path(p) for p in paths], fmt=fmt, batch=batch,
                                        columns=columns, skip_bad=skip_bad, window=span,
                                        progress=progress, encoding=encoding, **listeners)

    def check(self) -> tuple[list[str], list[str]]:
        """(problems, notes) of the store: problems make it inconsistent; notes are what
        a stopped run left to do (the same command again finishes it)."""
        from storyline.consistency import statistics_problems

        with self.store.snapshot():  # one state of the store, whatever a writer does meanwhile
            problems = self.store.check()
            if self.store.has_snippets():
                problems += statistics_problems(self.store, self.config)
            notes = self.store.notes()
            missing = len(self.store.snippets_without_facts()) if self.config.extract_facts else 0
        if missing:
            notes.append(f"{missing} snippets have no facts yet (a run stopped before "
                         "writing them): the same ingest again writes them")
        return problems, notes

    def ingest_records(self, records: Iterable[Record | Mapping], batch: str | None = None,
                       ) -> list[IngestReport]:
        """Ingest in-memory records (``Record`` or dicts with at least ``text``);
        ``batch`` is every ``Record``'s batch, and a dict's unless it names its own. Each is
        checked as a file's line is (an InputError names the record by its number; other
        keys of a dict are left out)."""
        from storyline.pipeline.read import checked_record

        _expect("records", records, Iterable)
        _expect("batch", batch, str | None)
        items = [checked_record(replace(r, batch=batch) if batch and isinstance(r, Record)
                                else r, batch or "1", n) for n, r in enumerate(records, 1)]
        return self.engine.ingest_records(items, origin="records")

    # -- read --------------------------------------------------------------

    def stories(self, **filters) -> list[StorySummary]:
        return views.list_stories(self.store, dormancy=dormancy(self.config), **filters)

    def story_page(self, **filters) -> views.StoryPage:
        """A page of the story list (``limit``, ``offset`` and the filters of
        :meth:`stories`) with how many stories match on all pages."""
        return views.story_page(self.store, dormancy=dormancy(self.config), **filters)

    def story(self, story_id: int) -> StoryDetail:
        return views.story_detail(self.store, story_id, dormancy(self.config))

    def changes(self, batch: str) -> list[StoryChanges]:
        return views.batch_changes(self.store, batch)

    def changes_page(self, batch: str, limit: int | None = None,
                     offset: int = 0) -> views.ChangesOf:
        """A page of :meth:`changes` (the stories with most new snippets first), with
        how many stories the batch touched in all."""
        return views.changes_of(self.store, batch, limit, offset)

    def search(self, query: str, limit: int = 20, *, offset: int = 0,
               filters=None) -> list[SearchHit]:
        """Stories matching ``query``, best first; [] when none does (views.search)."""
        encoder = self._query_encoder() if self.store.has_snippets() else None
        return views.search(self.store, query, encoder, limit, offset=offset, filters=filters)

    def facts(self, story_id: int) -> list:
        """The story's facts (``StoryFact``): quantities grouped across snippets, with
        their backers, first batch, status and contradictions."""
        from storyline.pipeline.facts import story_facts

        return story_facts(self.store, self.story(story_id))

    def export(self, fmt: str = "md") -> str:
        from storyline import exports

        if fmt == "md":
            return "".join(exports.markdown_chunks(self))
        if fmt == "json":
            return "".join(exports.json_chunks(self))
        raise UsageError(f"unknown export format {fmt!r} (md or json)")
