"""The pipeline, run batch by batch over a store.

read → normalise → duplicates → represent → cluster → describe, each stage a
module of :mod:`storyline.pipeline`; this module only wires them to the store.
What the stream has taught so far (document frequencies, the dense mean, cached
counts) is kept by :class:`~storyline.pipeline.statistics.StreamStatistics`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from scipy import sparse

from storyline.config import Config, dormancy
from storyline.errors import IngestError, InputError, OtherContentError
from storyline.pipeline import cluster as clustering
from storyline.pipeline import describe, ivf
from storyline.pipeline.batches import batch_digest, file_batches
from storyline.pipeline.dedupe import signature_bytes, signatures
from storyline.pipeline.facts.worker import FactsJob, read_facts, warm_up
from storyline.pipeline.normalize import normalize
from storyline.pipeline.recent import RecentDuplicates
from storyline.pipeline.represent import Features, leads
from storyline.pipeline.statistics import StreamStatistics
from storyline.store import Store
from storyline.store.rows import NewSnippet, StoryRow
from storyline.types import DormancyRule, IngestReport, Record
from storyline.writer import chunk_clock, write_batch

__all__ = ["Engine", "IngestError", "Progress", "batch_clock", "batch_digest", "group_batches"]

Progress = Callable[[str, int, int], None]


def batch_clock(records: Iterable[Record], ingested: datetime) -> str | None:
    """The latest published_at of a batch's records in UTC, none later than its
    ingestion (a date in the future is a feed's mistake); None if none has one."""
    return chunk_clock(records, ingested, None)


def group_batches(records: Iterable[Record]) -> dict[str, list[Record]]:
    """Records by batch, batches in order of first appearance, items in order."""
    out: dict[str, list[Record]] = {}
    for r in records:
        out.setdefault(r.batch, []).append(r)
    return out


class Engine:
    """Ingests batches into a store and keeps its stories up to date."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self._encoder = None
        self._index: RecentDuplicates | None = None
        self.statistics = StreamStatistics(store, config.lead_words, config.mean_prior_docs)
        self._closed_rows: set[int] = set()  # this chunk's stories that absorb no more
        # Facts the worker is still reading, per batch: (snippet ids, job); see
        # finish_facts.
        self._facts_pending: list[tuple[list[int], FactsJob]] = []
        self._facts_started = False
        # The store's data_version when this engine last wrote: another writer's commit
        # moves it, and then the in-memory state above is stale (see writing()).
        self._seen_version: int | None = None

    # -- lazily built parts -----------------------------------------------

    @property
    def encoder(self):
        if self._encoder is None:
            from storyline.models.encoders import store_encoder

            self._encoder = store_encoder(self.store, self.config.model)
        return self._encoder

    def _duplicates(self, seq: int) -> RecentDuplicates:
        """The near-copy index over the window of recent batches before ``seq``
        (a new process reads that window only), slid forward to it."""
        rule = DormancyRule(self.config.near_duplicate_batches, self.config.near_duplicate_days)
        since = max(self.store.dormant_seqs(rule, seq), default=0) + 1
        if self._index is None:
            cap = self.config.near_duplicate_max
            self._index = RecentDuplicates(self.config.near_duplicate_jaccard,
                                           self.store.snippet_ids_by_key, cap)
            self._index.load(self.store.latest_signature_rows(since, cap) if cap
                             else self.store.signature_rows_since(since))
        self._index.slide(since)
        self.store.drop_signatures_before(since)
        return self._index

    def _discard_caches(self) -> None:
        """After a failed batch the store rolled back: so must the in-memory state."""
        self._index = None
        self.statistics.discard()

    # -- ingest ------------------------------------------------------------

    def ingest_paths(
        self, paths: Iterable[Path], *, fmt: str | None = None, batch: str | None = None,
        columns: dict[str, str] | None = None, skip_bad: bool = False,
        window: timedelta | None = None, progress: Progress | None = None,
        on_skipped: Callable[[str], None] | None = None,
        on_warning: Callable[[InputError], None] | None = None, encoding: str | None = None,
    ) -> list[IngestReport]:
        """Ingest batch files (``-``: standard input), streamed: a file is read as it is
        written into the store, never held whole. ``skip_bad`` skips bad records (each in
        its file's first report's ``skipped_bad``); ``window`` cuts each file into
        batches by published_at; ``on_skipped`` hears of a folder's other files;
        ``encoding`` is the files' (default: UTF-8)."""
        reports: list[IngestReport] = []
        files = file_batches(paths, fmt=fmt, batch=batch, columns=columns, skip_bad=skip_bad,
                             window=window, on_skipped=on_skipped, on_warning=on_warning,
                             encoding=encoding)
        try:
            for file in files:
                reports += file.reports([write_batch(self, name, run, origin=str(file.file),
                                                     progress=progress)
                                         for name, run in file.batches])
        except OtherContentError as exc:
            if encoding is None:
                raise
            # Other bytes, or the same ones read in another encoding than when stored.
            raise OtherContentError(f"{exc}; or, if it is the file stored, read it in the "
                                    f"encoding it was read in then (here: --encoding "
                                    f"{encoding})") from exc
        finally:
            self.finish_facts(progress)
        self.fill_missing_facts(progress)
        return reports

    def ingest_records(
        self, records: Iterable[Record], *, origin: str | None = None,
        progress: Progress | None = None, whole: bool = False,
    ) -> list[IngestReport]:
        """Ingest records held in memory (their batches need not be together); ``whole``:
        each batch in one transaction (a batch no rerun could finish: a feed's poll)."""
        try:
            return [write_batch(self, name, batch_records, origin=origin, progress=progress,
                                chunk=max(len(batch_records), 1) if whole else None)
                    for name, batch_records in group_batches(records).items()]
        finally:
            self.finish_facts(progress)

    def fill_missing_facts(self, progress: Progress | None = None) -> None:
        """Facts a stopped run did not write (they are written after the next batch
        clusters): read now, so that the same command again leaves none missing."""
        if not self.config.extract_facts:
            return
        from storyline.pipeline.facts.story import snippet_facts

        while missing := self.store.snippets_without_facts(limit=1000):
            snippet_facts(self.store, missing)
            if progress:
                progress("facts", len(missing), len(missing))

    def finish_facts(self, progress: Progress | None = None) -> None:
        """Write the facts the worker has been reading, in a transaction of their
        own: a batch's facts are written once the next batch has clustered (the
        worker reads them meanwhile), the last batch's when the ingest call ends.
        Facts a crash loses in between are read again when first asked for."""
        if not self._facts_pending:
            return
        pending, self._facts_pending = self._facts_pending, []
        # Waited for before the transaction: the write lock is not held while the worker
        # reads (spaCy, seconds), or another writer would wait for it.
        results = [(ids, job.result()) for ids, job in pending]
        with self.store.transaction():
            for ids, facts in results:
                self.store.set_facts(zip(ids, facts))
                if progress:
                    progress("facts", len(ids), len(ids))

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A write transaction with this engine's in-memory state current: under the
        write lock, state that another writer's commit made stale is dropped (to be
        loaded again from the store); after a failure the store rolled back, and so is
        the state."""
        try:
            with self.store.transaction():
                version = self.store.data_version()
                if version != self._seen_version:
                    self._discard_caches()
                    self._seen_version = version
                yield
        except BaseException:
            self._discard_caches()
            raise

    def write_chunk(self, name: str, records: list[Record], offset: int, digest: str,
                    last: bool, *, origin: str | None, report: IngestReport,
                    progress: Progress | None = None,
                    continues: tuple[str, int] | None = None) -> bool:
        """Write records ``offset`` on of batch ``name`` in one transaction, if the store
        holds exactly ``offset`` of them (else False: another writer moved on). A new
        batch that continues another, ``continues`` = (that batch, how many continue it
        already), is written only if that many still do. Their facts are left to
        finish_facts, which the callers run when they end."""
        if self.config.extract_facts and not self._facts_started:
            # spaCy loads in the worker while the encoder loads here.
            warm_up(wait=False)
            self._facts_started = True
        encoder = self.encoder
        with self.writing():
            row = self.store.batch(name)
            if (row.records if row else 0) != offset or (row is not None and row.complete):
                return False
            if row is None and continues is not None and len(
                    self.store.continuations(continues[0])) != continues[1]:
                return False  # another writer began a continuation meanwhile
            now = datetime.now(UTC)
            seq = row.seq if row else self.store.next_batch_seq()
            self.store.add_batch(name, seq, digest, offset + len(records),
                                 row.ingested_at if row else now.isoformat(timespec="seconds"),
                                 origin, chunk_clock(records, now, row.clock if row else None),
                                 complete=last, continues=continues and continues[0])
            facts = self._ingest(seq, offset, records, report, progress)
            self.store.set_state("model", encoder.name)
            self.store.set_state("model_option", self.config.model)
            self.store.set_state("preset", self.config.preset)
        # The earlier chunks' facts, read by the worker while this one clustered.
        self.finish_facts(progress)
        if facts is not None:
            self._facts_pending.append(facts)
        return True

    def _ingest(self, seq: int, offset: int, records: list[Record], report: IngestReport,
                progress: Progress | None) -> tuple[list[int], FactsJob] | None:
        """The stages, on records ``offset`` on of batch ``seq``; returns their facts job
        (the worker reads them)."""
        store = self.store
        index = self._duplicates(seq)
        new_ids: list[int] = []
        new_texts: list[str] = []
        total = len(records)
        snippets = [normalize(record) for record in records]
        for snippet in snippets:
            if not snippet.text:
                record = snippet.record
                raise InputError(record.origin or "records", record.line,
                                 "no text left after cleaning")
        sigs = signatures([s.text for s in snippets])
        index.begin_batch([s.key for s in snippets])
        next_id = store.next_snippet_id()
        new_rows: list[NewSnippet] = []
        copy_rows = []
        for position, (record, snippet, sig) in enumerate(zip(records, snippets, sigs), offset):
            match = index.match(snippet, sig)
            if match.canonical_id is None:
                sid, next_id = next_id, next_id + 1
                new_rows.append(NewSnippet(sid, snippet.key, snippet.text, snippet.truncated,
                                           seq, signature_bytes(sig)))
                copy_rows.append((sid, seq, position, "original", 1.0, record))
                index.add(sid, seq, sig, snippet.text, key=snippet.key)
                new_ids.append(sid)
                new_texts.append(snippet.text)
            else:
                copy_rows.append((match.canonical_id, seq, position, match.kind,
                                  match.similarity, record))
                if match.kind == "exact":
                    report.exact_duplicates += 1
                else:
                    report.near_duplicates += 1
            if progress and (position % 200 == 0 or position == offset + total - 1):
                progress("read", position + 1, offset + total)
        # Facts are read by a worker process while this one encodes and clusters the batch.
        facts_job = read_facts(new_texts) if self.config.extract_facts and new_ids else None
        # Encoded and filed under their search cell before they are written, so each row
        # is written whole once (an UPDATE after it is a dead row version on PostgreSQL).
        dense = self._encode(new_texts)
        centroids = self._search_cells()
        cells = ivf.assign(dense, centroids) if centroids is not None else [None] * len(dense)
        for row, vec, cell in zip(new_rows, dense, cells, strict=True):
            row.embedding, row.cell = vec, None if cell is None else int(cell)
        report.new_snippets += len(new_ids)
        touched: set[int] = set()
        size = self.config.chunk_size
        for start in range(0, len(new_ids), size):
            rows, texts = new_rows[start:start + size], new_texts[start:start + size]
            touched |= self._cluster_chunk(seq, rows, texts, dense[start:start + size], report)
            # Written once clustered, with their story, in one statement (docs/benchmarks.md):
            # an UPDATE after the INSERT would leave a dead row version on PostgreSQL.
            store.add_snippets(rows)
            if progress:
                progress("cluster", min(start + size, len(new_ids)), len(new_ids))
        store.add_copies(copy_rows)
        self._grow_search_cells(centroids)
        if self.config.describe:
            describe.describe_stories(store, seq, touched, set(new_ids), self.encoder.dim,
                                      self.config)
        self.statistics.save()
        return (new_ids, facts_job) if facts_job is not None else None

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings of new snippets' leads, float32, in clustering chunks."""
        size = self.config.chunk_size
        parts = [self.encoder.encode(leads(texts[k:k + size], self.config.lead_words))
                 .astype(np.float32) for k in range(0, len(texts), size)]
        return np.vstack(parts) if parts else np.zeros((0, self.encoder.dim), np.float32)

    def _features(self, ids: list[int], texts: list[str],
                  new_dense: np.ndarray | None = None) -> Features:
        """The three views of snippets: new ones (their embeddings ``new_dense``, stored
        with them: counted into the document frequencies) or stored ones (their stored
        embeddings)."""
        terms, names_ = self.statistics.weights()
        term_counts, name_counts = self.statistics.counts(ids, texts)
        if new_dense is not None:
            terms.learn(term_counts)
            names_.learn(name_counts)
            dense = new_dense
        else:
            dense = self.store.embeddings(ids, self.encoder.dim)
        return Features(dense=dense, terms=terms.weigh(term_counts),
                        names=names_.weigh(name_counts))

    def _search_cells(self) -> np.ndarray | None:
        """The centroids of the search index's cells (storyline.pipeline.ivf), or None
        before they are drawn (and for an encoder of words only)."""
        if self.encoder.dim <= 1:
            return None
        return ivf.load_centroids(self.store.get_state("ivf:cells"), self.encoder.dim)

    def _grow_search_cells(self, centroids: np.ndarray | None) -> None:
        """Draw the cells once the store holds enough embeddings, and again, finer, as it
        outgrows them (a store that arrives big gets finer ones at once)."""
        if self.encoder.dim <= 1:
            return
        stored = self.store.next_snippet_id() - 1
        if centroids is not None:
            cells = ivf.cells_to_draw(stored, len(centroids))
        elif stored < ivf.TRAIN_MIN:
            return  # search reads a store this small whole
        else:
            cells = ivf.cells_to_draw(stored, ivf.CELLS) or ivf.CELLS
        if cells is not None:
            self._draw_cells(cells, self.encoder.dim, stored)

    def _draw_cells(self, cells: int, dim: int, stored: int) -> None:
        """Cells drawn from a sample spread over the store (the first snippets, the first
        time) and every embedding filed under them, a chunk at a time: in the batch's
        transaction, so a reader or a killed process sees the old cells or the new,
        never a mix."""
        step = max(1, stored // (ivf.SAMPLE_PER_CELL * cells))
        _, sample = self.store.embedding_sample(ivf.SAMPLE_PER_CELL * cells, dim, step)
        if len(sample) < min(ivf.TRAIN_MIN, ivf.SAMPLE_PER_CELL * cells):
            return  # embeddings of another model, or none: nothing to draw from
        centroids = ivf.train(sample, cells)
        after = 0
        while True:
            ids, vectors = self.store.embeddings_after(after, ivf.REFILE_CHUNK, dim)
            if not ids:
                break
            self.store.set_cells(zip(ids, ivf.assign(vectors, centroids)))
            after = ids[-1]
        self.store.set_state("ivf:cells", ivf.dump_centroids(centroids))

    def _story_state(self, seq: int, batch_ids: list[int]) -> clustering.StoryState:
        """The live (not dormant) stories as summed vectors of their recent parts."""
        live = self._live_stories(seq, batch_ids[0] if batch_ids else self.store.next_snippet_id())
        ids = [s.id for s in live]
        members = self.store.recent_members(ids, self.config.story_recent) if ids else []
        member_ids = [sid for sid, _ in members]
        # What left the live stories' recent parts leaves memory.
        self.statistics.keep(set(member_ids) | set(batch_ids))
        # Texts are read only where the counts are not cached (a new process).
        texts = self.store.snippet_texts([s for s in member_ids if not self.statistics.cached(s)])
        feats = self._features(member_ids, [texts.get(s, "") for s in member_ids])
        row = {sid: i for i, sid in enumerate(ids)}
        indicator = sparse.csr_matrix(
            (np.ones(len(members), np.float32),
             ([row[story] for _, story in members], np.arange(len(members)))),
            shape=(len(ids), len(members)),
        )
        return clustering.StoryState(
            ids=ids,
            dense=np.asarray(indicator @ feats.dense, dtype=np.float32),
            terms=(indicator @ feats.terms).tocsr(),
            names=(indicator @ feats.names).tocsr(),
            sizes=np.asarray(indicator.sum(axis=1)).ravel(),
            named_by=(indicator @ clustering.mentions(feats.names)).tocsr(),
            first_seqs=[s.first_seq for s in live],
        )

    def _live_stories(self, seq: int, first_id: int) -> list[StoryRow]:
        """The stories a chunk of new snippets (ids from ``first_id``) is matched against:
        the live ones, or past Config.live_members_max recent members in all, the ones fed
        last up to that many (decided from the store alone, so a resumed run agrees)."""
        dormant = self.store.dormant_seqs(dormancy(self.config), seq)
        budget, recent = self.config.live_members_max, self.config.story_recent
        if not budget or self.store.live_member_count(dormant, recent) <= budget:
            return self.store.live_stories(dormant)
        live, members = [], 0
        for story in self.store.recently_fed_stories(dormant, first_id - budget):
            members += min(story.size, recent)
            if members > budget:
                break
            live.append(story)
        return sorted(live, key=lambda story: story.id)

    def _closed(self, seq: int, state: clustering.StoryState) -> set[int]:
        """Rows of the stories that have taken news for their whole span
        (Config.story_span_days): they absorb nothing more."""
        c = self.config
        if c.story_span_days is None and not c.story_span_batches:
            return set()
        old = self.store.dormant_seqs(DormancyRule(c.story_span_batches, c.story_span_days), seq)
        return {i for i, first in enumerate(state.first_seqs) if first in old}

    def _cluster_chunk(self, seq: int, rows: list[NewSnippet], texts: list[str],
                       dense: np.ndarray, report: IngestReport) -> set[int]:
        """Place a chunk of new snippets, not yet written, in stories (each row's story_id);
        returns the stories it touched."""
        weights = self.config.weights
        ids = [row.id for row in rows]
        batch = self._features(ids, texts, dense)
        mean = self.statistics.dense_mean(batch.dense)  # kept up to date either way
        state = self._story_state(seq, ids)
        centred = batch
        if self.config.centre_embeddings:
            # Static embeddings of unrelated texts share a common direction (mean
            # cosine 0.4 on long leads) that would otherwise count as similarity.
            state.dense = state.dense - state.sizes[:, None].astype(np.float32) * mean
            centred = Features(dense=batch.dense - mean, terms=batch.terms, names=batch.names)
        keep = clustering.candidate_stories(state, centred, weights)
        state = clustering.StoryState(
            ids=[state.ids[i] for i in keep], dense=state.dense[keep], terms=state.terms[keep],
            names=state.names[keep], sizes=state.sizes[keep],
            named_by=state.named_by[keep] if state.named_by is not None else None,
            first_seqs=[state.first_seqs[i] for i in keep],
        )
        self._closed_rows = self._closed(seq, state)
        return self._place_groups(seq, clustering.cluster_batch(state, centred, weights),
                                  state, rows, report)

    def _place_groups(self, seq: int, groups: list, state: clustering.StoryState,
                      rows: list[NewSnippet], report: IngestReport) -> set[int]:
        """Write the groups (rows: the chunk's new snippets, not yet written): each into
        its stories (merged into the biggest), or a new story, which follows the closed
        story it would have joined if any. The stories are read, made and updated in one
        statement each for all groups (one each was a round trip each to a remote
        server); returns the stories placed into."""
        store = self.store
        plans = []
        for group in groups:
            live = [state.ids[i] for i in group.stories if i not in self._closed_rows]
            if group.items or len(live) >= 2:  # else a merge of closed stories: they stay
                shut = [i for i in group.stories if i in self._closed_rows]
                plans.append((group, live, shut))
        stories = store.stories_of(sorted({s for _, live, _ in plans for s in live}))
        fresh = iter(store.new_stories([
            (seq, state.ids[max(shut, key=lambda i: (state.sizes[i], -state.ids[i]))]
             if shut else None) for _, live, shut in plans if not live]))
        updates, merges = [], []
        # Groups share no story (cluster_batch partitions them), so no row placed by one
        # group is in a story another absorbs, and the sizes read above stay true.
        for group, live, _ in plans:
            if live:
                # The biggest story keeps its id (the oldest on a tie); the others
                # are absorbed, and their ids resolve to it from now on.
                survivor = max(live, key=lambda s: (stories[s].size, -s))
                merges += [(other, survivor, seq, group.similarity)
                           for other in live if other != survivor]
            else:
                survivor = next(fresh)
                report.new_stories += 1
            for i in group.items:
                rows[i].story_id = survivor
            # No centroid is kept: a story is matched on its recent members' vectors.
            updates.append((survivor, sum(stories[s].size for s in live) + len(group.items),
                            seq))
        store.merge_all(merges)
        report.merges += len(merges)
        store.update_stories(updates)
        return {story for story, _, _ in updates}
