"""The pipeline, run batch by batch over a store.

read → normalise → duplicates → represent → cluster → describe, each stage a
module of :mod:`storyline.pipeline`; this module only wires them to the store.
What the stream has taught so far (document frequencies, the dense mean, cached
counts) is kept by :class:`~storyline.pipeline.statistics.StreamStatistics`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import sparse

from storyline.config import Config, dormancy
from storyline.errors import IngestError, InputError
from storyline.pipeline import cluster as clustering
from storyline.pipeline import describe, ivf
from storyline.pipeline.dedupe import signature_bytes, signatures
from storyline.pipeline.facts.worker import FactsJob, read_facts, warm_up
from storyline.pipeline.normalize import normalize
from storyline.pipeline.read import batch_files, read_file
from storyline.pipeline.recent import RecentDuplicates
from storyline.pipeline.represent import Features, leads
from storyline.pipeline.statistics import StreamStatistics
from storyline.store import Store
from storyline.store.sqlite import NewSnippet, parse_clock
from storyline.types import DormancyRule, IngestReport, Record

__all__ = ["Engine", "IngestError", "Progress", "batch_clock", "batch_digest", "group_batches"]

Progress = Callable[[str, int, int], None]


class _NoEncoder:
    """Words and names only: a one-dimensional zero embedding."""

    name = "none"
    dim = 1

    def encode(self, texts) -> np.ndarray:
        return np.zeros((len(texts), 1), dtype=np.float32)


def batch_clock(records: Iterable[Record], ingested: datetime) -> str | None:
    """The latest published_at of a batch's records in UTC, none later than its
    ingestion (a date in the future is a feed's mistake); None if none has one."""
    times = [t for t in (parse_clock(r.published_at) for r in records) if t is not None]
    return min(max(times), ingested).isoformat(timespec="seconds") if times else None


def batch_digest(records: list[Record]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for r in records:
        h.update(json.dumps([r.text, r.id, r.source, r.url, r.published_at, r.title]).encode())
        h.update(b"\n")
    return h.hexdigest()


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
        # The store's version as this engine's last batch left it: another writer
        # (process or server) moved it if it differs (see _ingest_batch).
        self._written_version: tuple[int, ...] | None = None

    # -- lazily built parts -----------------------------------------------

    @property
    def encoder(self):
        if self._encoder is None:
            if self.config.model == "none":
                self._encoder = _NoEncoder()
            else:
                from storyline.models.encoders import load_encoder

                self._encoder = load_encoder(self.config.model)
            self._check_model(self._encoder.name)
        return self._encoder

    def _check_model(self, name: str) -> None:
        stored = self.store.get_text_state("model")
        if stored is None:
            return
        if stored != name:
            option = self.store.get_text_state("model_option")
            hint = f"use --model {option}" if option else "use the model it was built with"
            raise IngestError(
                f"{self.store.path} was built with model {stored!r}, not {name!r}: "
                f"{hint} with this store (or --preset fast for the static model), "
                "or start a new store"
            )

    def _duplicates(self, seq: int) -> RecentDuplicates:
        """The near-copy index over the window of recent batches before ``seq``
        (a new process reads that window only), slid forward to it."""
        rule = DormancyRule(self.config.near_duplicate_batches, self.config.near_duplicate_days)
        since = max(self.store.dormant_seqs(rule, seq), default=0) + 1
        if self._index is None:
            self._index = RecentDuplicates(self.config.near_duplicate_jaccard,
                                           self.store.snippet_ids_by_key)
            self._index.load(self.store.signature_rows_since(since))
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
        progress: Progress | None = None,
    ) -> list[IngestReport]:
        reports = []
        files = [f for p in paths for f in batch_files(Path(p))]
        try:
            for file in files:
                skipped: list[str] = []
                on_error = (lambda e, into=skipped: into.append(str(e))) if skip_bad else None
                records = list(read_file(file, fmt=fmt, batch=batch, columns=columns,
                                         on_error=on_error))
                file_reports = self._ingest_batches(records, str(file), progress)
                if file_reports:
                    file_reports[0].skipped_bad.extend(skipped)
                else:
                    reports.append(IngestReport(batch=batch or file.name, skipped_bad=skipped))
                reports.extend(file_reports)
        finally:
            self.finish_facts(progress)
        return reports

    def ingest_records(
        self, records: Iterable[Record], *, origin: str | None = None,
        progress: Progress | None = None,
    ) -> list[IngestReport]:
        try:
            return self._ingest_batches(records, origin, progress)
        finally:
            self.finish_facts(progress)

    def _ingest_batches(self, records: Iterable[Record], origin: str | None,
                        progress: Progress | None) -> list[IngestReport]:
        return [self._ingest_batch(name, batch_records, origin=origin, progress=progress)
                for name, batch_records in group_batches(records).items()]

    def finish_facts(self, progress: Progress | None = None) -> None:
        """Write the facts the worker has been reading, in a transaction of their
        own: a batch's facts are written once the next batch has clustered (the
        worker reads them meanwhile), the last batch's when the ingest call ends.
        Facts a crash loses in between are read again when first asked for."""
        if not self._facts_pending:
            return
        pending, self._facts_pending = self._facts_pending, []
        with self.store.transaction():
            for ids, job in pending:
                self.store.set_facts(zip(ids, job.result()))
                if progress:
                    progress("facts", len(ids), len(ids))

    def _ingest_batch(
        self, name: str, records: list[Record], *, origin: str | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest one batch in one transaction; a batch already in the store is a no-op.
        Its facts are left to finish_facts, which the callers run when they end."""
        report = IngestReport(batch=name, records=len(records))
        digest = batch_digest(records)
        existing = self.store.batch(name)
        if existing is not None:
            if existing.digest != digest:
                raise IngestError(
                    f"batch {name!r} is already in {self.store.path} with other content "
                    f"({existing.records} records); give this batch another name (--batch)"
                )
            report.already_ingested = True
            return report
        if self.config.extract_facts and not self._facts_started:
            # spaCy loads in the worker while the encoder loads here.
            warm_up(wait=False)
            self._facts_started = True
        encoder = self.encoder
        try:
            with self.store.transaction():
                # Writers are serialised from here: if another wrote since this
                # engine's last batch, its in-memory index and counts are stale.
                if self.store.version() != self._written_version:
                    self._discard_caches()
                facts = self._ingest(name, records, digest, origin, report, progress)
                self.store.set_state("model", encoder.name)
                self.store.set_state("model_option", self.config.model)
                self.store.set_state("preset", self.config.preset)
                self._written_version = self.store.version()
        except BaseException:
            self._discard_caches()
            raise
        # The earlier batches' facts, read by the worker while this batch clustered.
        self.finish_facts(progress)
        if facts is not None:
            self._facts_pending.append(facts)
        return report

    def _ingest(self, name: str, records: list[Record], digest: str, origin: str | None,
                report: IngestReport, progress: Progress | None
                ) -> tuple[list[int], FactsJob] | None:
        """The batch's stages; returns its facts job (the worker reads them)."""
        store = self.store
        seq = store.next_batch_seq()
        now = datetime.now(UTC)
        # The batch row first: its clock places the near-copy window.
        store.add_batch(name, seq, digest, len(records), now.isoformat(timespec="seconds"),
                        origin, batch_clock(records, now))
        index = self._duplicates(seq)
        new_ids: list[int] = []
        new_texts: list[str] = []
        total = len(records)
        snippets = [normalize(record) for record in records]
        for snippet in snippets:
            if not snippet.text:
                record = snippet.record
                raise InputError(record.origin or name, record.line, "no text left after cleaning")
        sigs = signatures([s.text for s in snippets])
        index.begin_batch([s.key for s in snippets])
        next_id = store.next_snippet_id()
        new_rows: list[NewSnippet] = []
        copy_rows = []
        for position, (record, snippet, sig) in enumerate(zip(records, snippets, sigs)):
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
            if progress and (position % 200 == 0 or position == total - 1):
                progress("read", position + 1, total)
        # Written in two statements, not one per record (docs/benchmarks.md).
        store.add_snippets(new_rows)
        store.add_copies(copy_rows)
        report.new_snippets = len(new_ids)
        # Facts are read by a worker process while this one clusters the batch.
        facts_job = read_facts(new_texts) if self.config.extract_facts and new_ids else None
        touched: set[int] = set()
        size = self.config.chunk_size
        for start in range(0, len(new_ids), size):
            ids, texts = new_ids[start:start + size], new_texts[start:start + size]
            touched |= self._cluster_chunk(seq, ids, texts, report)
            if progress:
                progress("cluster", min(start + size, len(new_ids)), len(new_ids))
        if self.config.describe:
            describe.describe_stories(store, seq, touched, set(new_ids), self.encoder.dim,
                                      self.config)
        self.statistics.save()
        return (new_ids, facts_job) if facts_job is not None else None

    def _features(self, ids: list[int], texts: list[str], learn: bool) -> Features:
        """The three views of snippets: new ones (``learn``: counted into the
        document frequencies, encoded, their embeddings stored and filed in the
        search index) or stored ones (their stored embeddings)."""
        terms, names_ = self.statistics.weights()
        term_counts, name_counts = self.statistics.counts(ids, texts)
        if learn:
            terms.learn(term_counts)
            names_.learn(name_counts)
            dense = self.encoder.encode(leads(texts, self.config.lead_words)).astype(np.float32)
            self.store.set_embeddings(zip(ids, dense))
            self._index_embeddings(ids, dense)
        else:
            dense = self.store.embeddings(ids, self.encoder.dim)
        return Features(dense=dense, terms=terms.weigh(term_counts),
                        names=names_.weigh(name_counts))

    def _index_embeddings(self, ids: list[int], dense: np.ndarray) -> None:
        """File new embeddings under their cell of the search index; once the store
        holds enough of them, draw the cells (once) and file every earlier one."""
        if self.encoder.dim <= 1:
            return
        centroids = ivf.load_centroids(self.store.get_state("ivf:cells"), dense.shape[1])
        if centroids is not None:
            self.store.set_cells(zip(ids, ivf.assign(dense, centroids)))
            return
        _, sample = self.store.embedding_sample(ivf.TRAIN_MIN, dense.shape[1])
        if len(sample) < ivf.TRAIN_MIN:
            return  # search reads a store this small whole
        centroids = ivf.train(sample)
        self.store.set_state("ivf:cells", ivf.dump_centroids(centroids))
        earlier, vectors = self.store.uncelled_embeddings(dense.shape[1])
        self.store.set_cells(zip(earlier, ivf.assign(vectors, centroids)))

    def _story_state(self, seq: int, batch_ids: list[int]) -> clustering.StoryState:
        """The live (not dormant) stories as summed vectors of their recent parts."""
        live = self.store.live_stories(self.store.dormant_seqs(dormancy(self.config), seq))
        ids = [s.id for s in live]
        members = self.store.recent_members(ids, self.config.story_recent) if ids else []
        member_ids = [sid for sid, _ in members]
        # What left the live stories' recent parts leaves memory.
        self.statistics.keep(set(member_ids) | set(batch_ids))
        # Texts are read only where the counts are not cached (a new process).
        texts = self.store.snippet_texts([s for s in member_ids if not self.statistics.cached(s)])
        feats = self._features(member_ids, [texts.get(s, "") for s in member_ids], learn=False)
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

    def _closed(self, seq: int, state: clustering.StoryState) -> set[int]:
        """Rows of the stories that have taken news for their whole span
        (Config.story_span_days): they absorb nothing more."""
        c = self.config
        if c.story_span_days is None and not c.story_span_batches:
            return set()
        old = self.store.dormant_seqs(DormancyRule(c.story_span_batches, c.story_span_days), seq)
        return {i for i, first in enumerate(state.first_seqs) if first in old}

    def _cluster_chunk(self, seq: int, ids: list[int], texts: list[str],
                       report: IngestReport) -> set[int]:
        weights = self.config.weights
        batch = self._features(ids, texts, learn=True)
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
        touched: set[int] = set()
        for group in clustering.cluster_batch(state, centred, weights):
            story = self._place_group(seq, group, state, batch, ids, report)
            if story is not None:
                touched.add(story)
        return touched

    def _place_group(self, seq: int, group, state: clustering.StoryState, batch: Features,
                     ids: list[int], report: IngestReport) -> int | None:
        """Write one group: into its stories (merged into the biggest), or a new
        story, which follows the closed story it would have joined if any."""
        store = self.store
        closed = [i for i in group.stories if i in self._closed_rows]
        story_ids = [state.ids[i] for i in group.stories if i not in closed]
        if not group.items and len(story_ids) < 2:
            return None  # a merge of closed stories: they stay as they are
        rows = {s: store.story(s) for s in story_ids}
        if story_ids:
            # The biggest story keeps its id (the oldest on a tie); the others
            # are absorbed, and their ids resolve to it from now on.
            survivor = max(story_ids, key=lambda s: (rows[s].size, -s))
            for other in story_ids:
                if other != survivor:
                    store.merge(other, survivor, seq, group.similarity)
                    report.merges += 1
        else:
            survivor = store.new_story(seq)
            report.new_stories += 1
            if closed:
                followed = max(closed, key=lambda i: (state.sizes[i], -state.ids[i]))
                store.set_follows(survivor, state.ids[followed])
        member_ids = [ids[i] for i in group.items]
        store.assign(member_ids, survivor)
        # No centroid is kept: a story is matched on its recent members' vectors.
        size = sum(row.size for row in rows.values()) + len(member_ids)
        store.update_story(survivor, size=size, last_seq=seq, centroid=None)
        return survivor
