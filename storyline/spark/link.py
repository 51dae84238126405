"""Windows linked in time order into stories (runs on the driver, no Spark).

Each time window (a batch; a large one in chunks of ``Config.chunk_size``
canonical snippets, as the engine clusters it) arrives clustered on its own by
the executors, as a list of :class:`WindowCluster` sums. They then meet the
live stories the way the engine's batches do: live stories and the window's
clusters enter :func:`storyline.pipeline.cluster.cluster_batch` as pre-formed
clusters that may merge but never split, average-link down to the same
threshold, with the same veto, profile merge and two-event split; the biggest
story keeps its id, the others are absorbed; dormant stories are left out.
The work here is per window cluster, not per snippet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from scipy import sparse

from storyline.config import Config
from storyline.pipeline import cluster as clustering
from storyline.pipeline.represent import N_FEATURES, Features


@dataclass
class WindowCluster:
    """One cluster of a window, as sums over its canonical snippets."""

    slot: tuple[int, int]  # (window rank, chunk)
    local: int  # its number in the window
    first: int  # arrival order of its first member
    size: int
    dense: np.ndarray  # (d,) raw (uncentred) sum of embeddings
    terms: sparse.csr_matrix  # (1, N_FEATURES) sums of weighted views
    names: sparse.csr_matrix
    named_by: sparse.csr_matrix  # (1, N_FEATURES) members naming each name


@dataclass(frozen=True)
class Row:
    """A story's sum over one view, kept as the arrays of a one-row sparse matrix:
    building scipy's matrix costs more than the sum (tens of thousands a run)."""

    indices: np.ndarray  # int32 columns, ascending, no zero stored
    data: np.ndarray  # float32

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def nnz(self) -> int:
        return len(self.indices)


EMPTY_ROW = Row(np.zeros(0, np.int32), np.zeros(0, np.float32))


@dataclass
class Story:
    id: int
    first_seq: int
    last_seq: int
    size: int
    dense: np.ndarray
    terms: Row
    names: Row
    named_by: Row


@dataclass
class Linked:
    """What linking decided: where each window cluster went, and the stories."""

    assigned: dict[tuple[int, int, int], int] = field(default_factory=dict)  # (rank, chunk, local)
    merges: list[tuple[int, int, int, float]] = field(default_factory=list)  # absorbed, into, seq
    stories: dict[int, Story] = field(default_factory=dict)  # every story, merged ones included
    merged_into: dict[int, int] = field(default_factory=dict)

    def resolve(self, story_id: int) -> int:
        while story_id in self.merged_into:
            story_id = self.merged_into[story_id]
        return story_id


def sparse_row(indices: Iterable[int], values: Iterable[float]) -> sparse.csr_matrix:
    idx = np.asarray(list(indices), dtype=np.int32)
    val = np.asarray(list(values), dtype=np.float32)
    return sparse.csr_matrix((val, idx, np.array([0, len(idx)])), shape=(1, N_FEATURES))


def stack_rows(rows: list[sparse.csr_matrix | Row]) -> sparse.csr_matrix:
    """``sparse.vstack(rows).tocsr()`` for one-row CSR matrices, by joining their arrays:
    the same matrix, without scipy's per-block checks (a window stacks a thousand)."""
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([r.nnz for r in rows], out=indptr[1:])
    data = np.concatenate([r.data for r in rows]) if rows else np.zeros(0, np.float32)
    indices = (np.concatenate([r.indices for r in rows]) if rows
               else np.zeros(0, np.int32))
    dtype = np.result_type(*(r.dtype for r in rows)) if rows else np.float32
    return sparse.csr_matrix((data.astype(dtype, copy=False), indices, indptr),
                             shape=(len(rows), N_FEATURES))


def sum_rows(rows: list[sparse.csr_matrix | Row]) -> Row:
    """``rows[0] + rows[1] + …`` for one-row CSR matrices, in that order at every column
    (so the same float32 sums as scipy's additions one after the other), zeros dropped
    as scipy drops them; one pass instead of an addition each.

    >>> a = sparse_row([1, 5], [0.5, 1.0]); b = sparse_row([5, 7], [-1.0, 2.0])
    >>> total = sum_rows([a, b, a])
    >>> total.indices.tolist(), total.data.tolist()
    ([1, 5, 7], [1.0, 1.0, 2.0])
    """
    indices = np.concatenate([r.indices for r in rows])
    columns, where = np.unique(indices, return_inverse=True)
    sums = np.zeros(len(columns), dtype=np.result_type(*(r.dtype for r in rows)))
    np.add.at(sums, where, np.concatenate([r.data for r in rows]))
    kept = sums != 0
    return Row(columns[kept].astype(np.int32), sums[kept])


def by_slot(clusters: Iterable[WindowCluster]) -> Iterator[list[WindowCluster]]:
    """Consecutive clusters of one slot together (the input is in slot order)."""
    batch: list[WindowCluster] = []
    for c in clusters:
        if batch and c.slot != batch[0].slot:
            yield batch
            batch = []
        batch.append(c)
    if batch:
        yield batch


class Linker:
    """The live stories, carried from window to window."""

    def __init__(self, config: Config, mean: np.ndarray | None,
                 clocks: dict[int, datetime | None]) -> None:
        self.config = config
        self.mean = mean if config.centre_embeddings else None
        self.clocks = clocks  # batch seq -> its clock
        self.out = Linked()
        self._next_id = 1
        # Stories neither merged nor dormant for good, in the order they began: each
        # window looks at these, not at every story of the archive.
        self._open: dict[int, Story] = {}
        self._floor, self._unclocked = _clocks_ahead(clocks)

    def run(self, clusters: Iterable[WindowCluster]) -> Linked:
        for slot_clusters in by_slot(clusters):
            self.link(slot_clusters)
        return self.out

    def _live(self, seq: int) -> list[Story]:
        live = []
        for story_id, story in list(self._open.items()):
            if not self._dormant(story, seq):
                live.append(story)
            elif self._dormant_for_good(story, seq):
                del self._open[story_id]
        return live

    def _dormant(self, story: Story, seq: int) -> bool:
        now, then = self.clocks.get(seq), self.clocks.get(story.last_seq)
        days = self.config.dormant_after_days
        if now is not None and then is not None and days is not None:
            return (now - then).total_seconds() > days * 86400
        return seq - story.last_seq > self.config.dormant_after_batches

    def _dormant_for_good(self, story: Story, seq: int) -> bool:
        """Dormant at ``seq`` and at every later window: by the window count for the
        windows without a clock, by the earliest clock still to come for the others
        (a window's clock may be earlier than the one before it)."""
        by_count = seq - story.last_seq > self.config.dormant_after_batches
        then, days = self.clocks.get(story.last_seq), self.config.dormant_after_days
        if then is None or days is None:
            return by_count
        if self._unclocked.get(seq, True) and not by_count:
            return False
        floor = self._floor.get(seq)
        return floor is None or (floor - then).total_seconds() > days * 86400

    def _state(self, units: list[Story] | list[WindowCluster]) -> clustering.StoryState:
        dim = len(units[0].dense)
        sizes = np.array([u.size for u in units], dtype=np.float64)
        dense = np.vstack([u.dense for u in units]).astype(np.float32).reshape(-1, dim)
        if self.mean is not None:
            dense = dense - sizes[:, None].astype(np.float32) * self.mean
        return clustering.StoryState(
            ids=list(range(len(units))), dense=dense,
            terms=stack_rows([u.terms for u in units]),
            names=stack_rows([u.names for u in units]),
            sizes=sizes, named_by=stack_rows([u.named_by for u in units]),
        )

    def _candidates(self, live: list[Story], window: clustering.StoryState) -> list[Story]:
        """The live stories some window cluster comes near enough to join (as the
        engine's candidate_stories, on average-link similarities of clusters)."""
        if not live:
            return []
        stories = self._state(live)
        sims = clustering.pairwise(window, stories, self.config.weights)
        sims /= np.outer(window.sizes, stories.sizes)
        keep = np.flatnonzero(sims.max(axis=0) >= self.config.weights.threshold * 0.8)
        return [live[i] for i in keep]

    def link(self, clusters: list[WindowCluster]) -> None:
        """One slot: its clusters join, merge or start stories."""
        seq = clusters[0].slot[0] + 1
        window = self._state(clusters)
        live = self._candidates(self._live(seq), window)
        units: list[Story | WindowCluster] = [*live, *clusters]
        state = self._state(units)
        empty = sparse.csr_matrix((0, N_FEATURES), dtype=np.float32)
        batch = Features(dense=np.zeros((0, state.dense.shape[1]), np.float32),
                         terms=empty, names=empty)
        grouped: set[int] = set()
        for group in clustering.cluster_batch(state, batch, self.config.weights):
            grouped.update(group.stories)
            self._join([units[u] for u in group.stories], seq, group.similarity)
        fresh = [units[u] for u in range(len(live), len(units)) if u not in grouped]
        for c in sorted(fresh, key=lambda c: c.first):
            self._join([c], seq, 1.0)

    def _join(self, units: list[Story | WindowCluster], seq: int, similarity: float) -> None:
        stories = [u for u in units if isinstance(u, Story)]
        clusters = [u for u in units if isinstance(u, WindowCluster)]
        if stories:
            survivor = max(stories, key=lambda s: (s.size, -s.id))
            for other in stories:
                if other is not survivor:
                    self._open.pop(other.id, None)
                    self.out.merged_into[other.id] = survivor.id
                    self.out.merges.append((other.id, survivor.id, seq, similarity))
                    survivor.first_seq = min(survivor.first_seq, other.first_seq)
        else:
            first = clusters[0]
            survivor = Story(self._next_id, seq, seq, 0, np.zeros_like(first.dense),
                             EMPTY_ROW, EMPTY_ROW, EMPTY_ROW)
            self._next_id += 1
            self.out.stories[survivor.id] = survivor
            self._open[survivor.id] = survivor
        others = [u for u in units if u is not survivor]
        for u in others:
            survivor.size += u.size
            survivor.dense = survivor.dense + u.dense
        survivor.terms = sum_rows([survivor.terms, *(u.terms for u in others)])
        survivor.names = sum_rows([survivor.names, *(u.names for u in others)])
        survivor.named_by = sum_rows([survivor.named_by, *(u.named_by for u in others)])
        survivor.last_seq = max(survivor.last_seq, seq)
        for c in clusters:
            self.out.assigned[(*c.slot, c.local)] = survivor.id


def _clocks_ahead(clocks: dict[int, datetime | None]
                  ) -> tuple[dict[int, datetime | None], dict[int, bool]]:
    """For each window seq: the earliest clock of it and the windows after it, and
    whether one of them has no clock."""
    floor: dict[int, datetime | None] = {}
    unclocked: dict[int, bool] = {}
    earliest: datetime | None = None
    missing = False
    for seq in range(max(clocks, default=0), 0, -1):
        clock = clocks.get(seq)
        if clock is None:
            missing = True
        elif earliest is None or clock < earliest:
            earliest = clock
        floor[seq], unclocked[seq] = earliest, missing
    return floor, unclocked
