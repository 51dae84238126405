"""Stage 5 — cluster a batch online against the live stories.

The live stories enter as clusters that may grow or merge but never split;
the batch's new snippets enter as singletons. Average-link agglomerative
clustering then runs over both until no pair of clusters is similar enough.

Similarity is a weighted sum of cosines over the three views of
:mod:`storyline.pipeline.represent`. Because it is a sum of dot products of
unit vectors, the average-link similarity of two clusters is the dot product
of their *summed* vectors divided by the product of their sizes — exact, and
cheap: a story is carried as one summed vector per view. Merges follow the
nearest-neighbour chain (the algorithm behind scipy's ``linkage``): O(m) work
per merge, the same clusters as merging the globally closest pair first,
because average linkage is reducible. scipy/scikit-learn cannot start from
weighted, pre-formed clusters, which is why the loop is written here.

With ``ClusterWeights.join_model`` (the default preset's), a learned model
(:mod:`storyline.pipeline.join`) decides each merge the linkage proposes above
its floor, after the veto of two events of one kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import sparse

from storyline.config import ClusterWeights
from storyline.pipeline.join import LearnedJoin, load_join_model
from storyline.pipeline.represent import Features


@dataclass
class StoryState:
    """The live stories, as summed vectors: row i is story ``ids[i]``."""

    ids: list[int]
    dense: np.ndarray  # (k, d) sums
    terms: sparse.csr_matrix  # (k, V) sums
    names: sparse.csr_matrix
    sizes: np.ndarray  # (k,) members in the sums
    # (k, V) how many members name each name (ClusterWeights.distinct_*); None: unknown
    named_by: sparse.csr_matrix | None = None
    first_seqs: list[int] = field(default_factory=list)  # batch each story began in


@dataclass
class Group:
    """One cluster after the batch: the stories and new snippets it joins."""

    stories: list[int] = field(default_factory=list)  # indexes into StoryState.ids
    items: list[int] = field(default_factory=list)  # indexes into the batch's Features
    similarity: float = 1.0  # the lowest average-link similarity merged at


def pairwise(a: Features | StoryState, b: Features | StoryState, w: ClusterWeights) -> np.ndarray:
    """Sum-of-views similarity between the rows of ``a`` and ``b`` (not divided by sizes)."""
    out = w.dense * (a.dense @ b.dense.T)
    if w.terms:
        out += w.terms * sparse_dots(a.terms, b.terms)
    if w.names:
        out += w.names * sparse_dots(a.names, b.names)
    return np.asarray(out, dtype=np.float64)


def view_dots(units: Features) -> np.ndarray:
    """Dot products between the rows of ``units``, view by view: (3, m, m) float32."""
    return np.stack([np.asarray(units.dense @ units.dense.T, dtype=np.float32),
                     sparse_dots(units.terms, units.terms).astype(np.float32),
                     sparse_dots(units.names, units.names).astype(np.float32)])


def sparse_dots(a: sparse.csr_matrix, b: sparse.csr_matrix) -> np.ndarray:
    """``a @ b.T`` as a dense array, over only the columns a or b uses.

    The hashed views have 2**20 columns; scipy's product walks a pointer per
    column, which made it the slowest step of clustering a batch.
    """
    a, b = compact_columns(a, b)
    return (a @ b.T).toarray()


def compact_columns(*matrices: sparse.csr_matrix) -> list[sparse.csr_matrix]:
    """The CSR matrices renumbered onto the columns any of them uses, in order."""
    indices = [m.indices[: m.indptr[-1]] for m in matrices]
    used, inverse = np.unique(np.concatenate(indices), return_inverse=True)
    width = max(len(used), 1)
    out, start = [], 0
    for m, idx in zip(matrices, indices):
        out.append(sparse.csr_matrix((m.data[: len(idx)], inverse[start:start + len(idx)],
                                      m.indptr), shape=(m.shape[0], width)))
        start += len(idx)
    return out


def dense_rows(m: sparse.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """``compact_columns(m[rows])[0].toarray()`` as float64, gathered from the arrays
    (scipy's row indexing and a matrix a call cost more than the rows, a few units).

    >>> m = sparse.csr_matrix(np.array([[0, 2, 0, 1], [3, 0, 0, 0], [0, 0, 0, 5]]))
    >>> dense_rows(m, np.array([2, 0])).tolist()
    [[0.0, 5.0], [2.0, 1.0]]
    """
    if not m.has_canonical_format:  # duplicates would be summed: scipy does it
        return compact_columns(m[rows].tocsr())[0].toarray().astype(np.float64)
    starts, lengths = m.indptr[rows], np.diff(m.indptr)[rows]
    take = (np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
            + np.arange(int(lengths.sum())))
    used, column = np.unique(m.indices[take], return_inverse=True)
    out = np.zeros((len(rows), max(len(used), 1)))
    out[np.repeat(np.arange(len(rows)), lengths), column] = m.data[take]
    return out


def mentions(names: sparse.csr_matrix) -> sparse.csr_matrix:
    """1 where a snippet names a name (the names view, weights dropped)."""
    present = sparse.csr_matrix(names, dtype=np.float32, copy=True)
    present.data[:] = 1
    return present


def membership(groups: list, n: int) -> sparse.csr_matrix:
    """A group-by-item matrix with 1 where an item (of ``n``) is in a group: times a
    view, each group's sums in one product.

    >>> membership([[0, 2], [1]], 3).toarray()
    array([[1., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    sizes = np.fromiter((len(g) for g in groups), dtype=np.int64, count=len(groups))
    items = np.concatenate([np.asarray(g, dtype=np.int64) for g in groups]) if groups \
        else np.zeros(0, np.int64)
    matrix = sparse.csr_matrix((np.ones(len(items), np.float32), items,
                                np.concatenate([[0], np.cumsum(sizes)])), shape=(len(groups), n))
    matrix.sort_indices()  # items in order within a group: the order its sums are added in
    return matrix


def candidate_stories(
    stories: StoryState, batch: Features, w: ClusterWeights, margin: float = 0.8
) -> np.ndarray:
    """Indexes of the stories some new snippet comes near enough to join.

    Average-link merges need one pair of members at or above the threshold, so
    stories further than that from every new snippet cannot change this batch.
    """
    if not stories.ids or not len(batch):
        return np.zeros(0, dtype=int)
    sims = pairwise(batch, stories, w) / stories.sizes[None, :]
    threshold = w.threshold
    if w.join_model:
        threshold = load_join_model(w.join_model).get("floor", threshold)
    return np.flatnonzero(sims.max(axis=0) >= threshold * margin)


def cluster_batch(stories: StoryState, batch: Features, w: ClusterWeights,
                  join: Callable | None = None) -> list[Group]:
    """Average-link clustering of the batch with the stories; returns every
    group holding at least one new snippet or more than one story.

    >>> from storyline.config import ClusterWeights
    >>> from storyline.pipeline.represent import N_FEATURES
    >>> none = sparse.csr_matrix((3, N_FEATURES))
    >>> batch = Features(dense=np.array([[1, 0], [0.99, 0.14], [0, 1]], np.float32),
    ...                  terms=none, names=none)
    >>> no_stories = StoryState([], np.zeros((0, 2), np.float32), none[:0], none[:0],
    ...                         np.zeros(0))
    >>> groups = cluster_batch(no_stories, batch, ClusterWeights(1.0, 0.0, 0.0, threshold=0.5))
    >>> sorted(g.items for g in groups)
    [[0, 1], [2]]
    """
    k = len(stories.ids)
    n = len(batch)
    sizes = np.concatenate([stories.sizes.astype(np.float64), np.ones(n)])
    units = Features(
        dense=np.vstack([stories.dense, batch.dense]) if k else batch.dense,
        terms=sparse.vstack([stories.terms, batch.terms]).tocsr() if k else batch.terms,
        names=sparse.vstack([stories.names, batch.names]).tocsr() if k else batch.names,
    )
    keep_apart = None
    if join is None and w.join_model:
        join = LearnedJoin.factory(load_join_model(w.join_model))
    if join is not None:
        views = view_dots(units)
        sim = w.dense * views[0].astype(np.float64)
        sim += w.terms * views[1]
        sim += w.names * views[2]
        sim /= np.outer(sizes, sizes)
        rule = DistinctEvents(_named_by(stories, batch), sizes, w)
        keep_apart = join(views, sizes, rule.share, k, w)
        if w.distinct_min_size and keep_apart.model.get("keep_rules"):
            keep_apart.veto = rule
            keep_apart.named_by = rule.named_by
        else:
            w = replace(w, distinct_min_size=0, split_ratio=0.0)
        w = replace(w, threshold=keep_apart.model.get("floor", w.threshold))
    else:
        sim = pairwise(units, units, w) / np.outer(sizes, sizes)
        if w.distinct_min_size:
            keep_apart = DistinctEvents(_named_by(stories, batch), sizes, w)
    members: list[list[int]] = [[i] for i in range(k + n)]
    lowest = np.ones(k + n)
    alive = np.ones(k + n, dtype=bool)
    splitting = keep_apart is not None and w.split_ratio > 0
    link_sim = sim.copy() if splitting else sim  # the linkage overwrites its matrix
    for keep, gone, s in average_link(link_sim, sizes.copy(), w.threshold, keep_apart):
        members[keep].extend(members[gone])
        members[gone] = []
        alive[gone] = False
        lowest[keep] = min(lowest[keep], lowest[gone], s)
    if w.profile_merge > 0:
        _merge_on_profile(units, sizes, members, alive, lowest, w, keep_apart)
    if splitting:
        _split_two_events(sim, sizes, members, alive, lowest, keep_apart.named_by, w)
    groups = []
    for idx in np.flatnonzero(alive):
        unit_ids = members[idx]
        group = Group(
            stories=sorted(u for u in unit_ids if u < k),
            items=sorted(u - k for u in unit_ids if u >= k),
            similarity=float(lowest[idx]),
        )
        if group.items or len(group.stories) > 1:
            groups.append(group)
    return groups


def average_link(
    sim: np.ndarray, sizes: np.ndarray, threshold: float,
    keep_apart: Callable[..., bool] | None = None,
) -> list[tuple[int, int, float]]:
    """Average-link merges down to ``threshold``: ``(kept, absorbed, similarity)``.

    ``sim`` holds the average similarities of the starting clusters (weighted by
    ``sizes``) and is overwritten. Nearest-neighbour chain: follow each cluster
    to its most similar one until two clusters are each other's best, and merge
    them. A cluster whose best similarity is under the threshold is done for
    good: merging others can only average its similarities down.
    ``keep_apart(members_a, members_b, similarity)`` may veto a merge; the two
    clusters, and any clusters they grow into, then stay apart.
    """
    np.fill_diagonal(sim, -np.inf)
    merges: list[tuple[int, int, float]] = []
    members = [[i] for i in range(len(sizes))]
    # A cluster's similarity to a merged pair is a mean of its similarities to
    # the two, so one with no partner at the threshold never merges: close all
    # of those at once rather than one chain step each.
    open_ = sim.max(axis=1) >= threshold if len(sizes) else np.ones(0, dtype=bool)
    sim[~open_, :] = -np.inf
    sim[:, ~open_] = -np.inf
    next_start = 0
    chain: list[int] = []
    while True:
        if not chain:
            while next_start < len(sizes) and not open_[next_start]:
                next_start += 1
            if next_start == len(sizes):
                return merges
            chain.append(next_start)
        a = chain[-1]
        row = sim[a]
        b = int(row.argmax())
        s = row[b]
        if len(chain) > 1 and row[chain[-2]] >= s:  # ties go back down the chain
            b, s = chain[-2], row[chain[-2]]
        if s < threshold:
            chain.pop()
            open_[a] = False
            sim[a, :] = -np.inf
            sim[:, a] = -np.inf
            continue
        if len(chain) < 2 or b != chain[-2]:
            chain.append(b)
            continue
        if keep_apart is not None and keep_apart(members[a], members[b], float(s)):
            # -inf survives the averaging below: what holds a stays apart from b.
            sim[a, b] = sim[b, a] = -np.inf
            chain = [a]
            continue
        chain.pop()
        chain.pop()
        keep, gone = min(a, b), max(a, b)
        # Lance-Williams for average linkage: the size-weighted mean of the two rows.
        merged = (sizes[keep] * sim[keep] + sizes[gone] * sim[gone]) / (sizes[keep] + sizes[gone])
        sizes[keep] += sizes[gone]
        merged[keep] = -np.inf
        merged[~open_] = -np.inf
        sim[keep, :] = merged
        sim[:, keep] = merged
        sim[gone, :] = -np.inf
        sim[:, gone] = -np.inf
        open_[gone] = False
        members[keep].extend(members[gone])
        members[gone] = []
        merges.append((keep, gone, float(s)))


class DistinctEvents:
    """The veto of ClusterWeights.distinct_*: are two clusters two events of one kind?

    ``named_by`` row u counts the snippets of starting cluster u that name each
    name (columns); ``sizes`` their snippets.
    """

    def __init__(self, named_by: sparse.csr_matrix, sizes: np.ndarray, w: ClusterWeights) -> None:
        self.named_by = named_by
        self.sizes = sizes
        self.w = w
        # Name counts per cluster, by its first unit. Clusters only grow, at the
        # end of their unit lists, so a count is brought up to date by its tail.
        self._counts: dict[int, tuple[int, np.ndarray, float]] = {}
        self._shares: dict[int, tuple[int, np.ndarray]] = {}

    def share(self, units: list[int]) -> np.ndarray:
        """The share of the cluster's snippets naming each name."""
        seen, share = self._shares.get(units[0], (0, None))
        if seen == len(units):
            return share
        share = self._counted(units)
        self._shares[units[0]] = (len(units), share)
        return share

    def _counted(self, units: list[int]) -> np.ndarray:
        seen, counts, size = self._counts.get(units[0], (0, 0.0, 0.0))
        if seen < len(units):
            tail = units[seen:]
            m = self.named_by
            # Row slices by hand: scipy's fancy indexing costs more than the sum.
            cols = np.concatenate([m.indices[m.indptr[u]:m.indptr[u + 1]] for u in tail])
            vals = np.concatenate([m.data[m.indptr[u]:m.indptr[u + 1]] for u in tail])
            counts = counts + np.bincount(cols, weights=vals, minlength=m.shape[1])
            size = size + float(self.sizes[tail].sum())
            self._counts[units[0]] = (len(units), counts, size)
        return counts / size

    def __call__(self, a: list[int], b: list[int], similarity: float | None = None) -> bool:
        w = self.w
        if (self.sizes[a].sum() < w.distinct_min_size
                or self.sizes[b].sum() < w.distinct_min_size):
            return False
        share_a, share_b = self.share(a), self.share(b)
        own_a = np.count_nonzero((share_a >= w.distinct_share) & (share_b <= w.distinct_other))
        if own_a < w.distinct_names:
            return False
        own_b = np.count_nonzero((share_b >= w.distinct_share) & (share_a <= w.distinct_other))
        return own_b >= w.distinct_names


def _split_two_events(sim: np.ndarray, sizes: np.ndarray, members: list[list[int]],
                      alive: np.ndarray, lowest: np.ndarray, named_by: sparse.csr_matrix,
                      w: ClusterWeights) -> None:
    """Split clusters that hold two events (see ClusterWeights.split_ratio).

    A live story is one unit: it goes to one half whole, so stories never split,
    but a story and the new snippets that joined it may part again.
    """
    free = [j for j in range(len(members)) if not alive[j] and not members[j]]
    for idx in np.flatnonzero(alive):
        unit_ids = members[idx]
        if len(unit_ids) < 2 or sizes[unit_ids].sum() < 2 * w.distinct_min_size:
            continue
        in_a = two_events(np.asarray(unit_ids), sim, sizes, named_by, w)
        if in_a is None:
            continue
        spare = free.pop()  # each unit absorbed freed a slot; a split takes one
        members[idx] = [u for u, a in zip(unit_ids, in_a) if a]
        members[spare] = [u for u, a in zip(unit_ids, in_a) if not a]
        alive[spare] = True
        lowest[spare] = lowest[idx]


def two_events(ids: np.ndarray, sim: np.ndarray, sizes: np.ndarray,
               named_by: sparse.csr_matrix, w: ClusterWeights,
               candidates: int = 16) -> np.ndarray | None:
    """The best split of the units ``ids`` (stories and snippets) into two
    events, as a mask of the first half; None when no split passes
    ClusterWeights.split_ratio. ``sim`` holds the average similarities between
    all units (pairwise / sizes), ``sizes`` their snippets.

    Each pair of often-named names that are (almost) never named together
    seeds a split: the units naming one or the other, the rest going to the
    half they are closer to on average. The split whose halves are furthest
    apart for their cohesion wins.
    """
    size = sizes[ids].astype(np.float64)
    counts = dense_rows(named_by, ids)
    cover = counts.sum(axis=0)
    names_ = np.flatnonzero(cover >= w.distinct_share * w.distinct_min_size)
    names_ = names_[np.argsort(-cover[names_], kind="stable")[:candidates]]
    if len(names_) < 2:
        return None
    # A unit names a name when most of its snippets do.
    seeds = counts[:, names_] >= 0.5 * size[:, None]
    seeds_f = seeds * size[:, None]
    together = seeds.T.astype(np.float64) @ seeds_f  # snippets naming both
    # Every pair of names (almost) never named together at once: column p of
    # each (units x pairs) array below is the split seeded by first[p], second[p].
    first, second = np.triu_indices(len(names_), 1)
    apart = together[first, second] <= w.distinct_other * np.minimum(
        together[first, first], together[second, second])
    first, second = first[apart], second[apart]
    if not len(first):
        return None
    sim = sim[np.ix_(ids, ids)] * np.outer(size, size)  # summed over the members of each pair
    # What a snippet's similarity to itself adds to a unit's own sum.
    self_sim = np.where(size == 1, np.diag(sim), size * (w.dense + w.terms + w.names))
    total = float(size.sum())
    # Mean similarity to the snippets naming one name, against the other.
    to_seeds = sim @ seeds.astype(np.float64)
    in_a = (to_seeds[:, first] * together[second, second]
            >= to_seeds[:, second] * together[first, first])
    only_a = seeds[:, first] & ~seeds[:, second]
    only_b = seeds[:, second] & ~seeds[:, first]
    in_a = (in_a | only_a) & ~only_b
    a = in_a.astype(np.float64)
    n_a = size @ a
    n_b = total - n_a
    share_a = (counts.T @ a) / np.maximum(n_a, 1)
    share_b = (counts.sum(axis=0)[:, None] - counts.T @ a) / np.maximum(n_b, 1)
    own_a = ((share_a >= w.distinct_share) & (share_b <= w.distinct_other)).sum(axis=0)
    own_b = ((share_b >= w.distinct_share) & (share_a <= w.distinct_other)).sum(axis=0)
    ok = ((np.minimum(n_a, n_b) >= w.distinct_min_size)
          & (np.minimum(own_a, own_b) >= w.distinct_names))
    if not ok.any():
        return None
    a, b, n_a, n_b = a[:, ok], 1.0 - a[:, ok], n_a[ok], n_b[ok]
    sim_a = sim @ a
    sim_b = sim.sum(axis=1)[:, None] - sim_a
    within_a = ((a * sim_a).sum(axis=0) - self_sim @ a) / (n_a * (n_a - 1))
    within_b = ((b * sim_b).sum(axis=0) - self_sim @ b) / (n_b * (n_b - 1))
    ratio = (b * sim_a).sum(axis=0) / (n_a * n_b) / np.minimum(within_a, within_b)
    ratio[ratio <= 0] = np.inf
    best = int(ratio.argmin())
    if ratio[best] > w.split_ratio:
        return None
    return in_a[:, np.flatnonzero(ok)[best]]


def _named_by(stories: StoryState, batch: Features) -> sparse.csr_matrix:
    """Per starting cluster, how many snippets name each name, over the names used."""
    present = mentions(batch.names)
    if len(stories.ids):
        named = stories.named_by
        if named is None:
            named = sparse.csr_matrix((len(stories.ids), present.shape[1]), dtype=np.float32)
        present = sparse.vstack([named, present]).tocsr()
    return compact_columns(present)[0]


def _merge_on_profile(units: Features, unit_sizes: np.ndarray, members: list[list[int]],
                      alive: np.ndarray, lowest: np.ndarray, w: ClusterWeights,
                      keep_apart: Callable[[list[int], list[int]], bool] | None = None) -> None:
    """Merge clusters that share their word profile (see ClusterWeights.profile_merge).

    Average linkage punishes a broad story for its breadth; the centroid of its
    words, dominated by what the story keeps returning to, does not.
    """
    rows = np.array([r for r in np.flatnonzero(alive)
                     if unit_sizes[members[r]].sum() >= w.profile_merge_min_size], dtype=int)
    if len(rows) < 2:
        return
    indicator = membership([members[r] for r in rows], units.names.shape[0])
    term_cos = _centroid_cosines(indicator @ units.terms)
    names_cos = _centroid_cosines(indicator @ units.names)
    dense_cos = _centroid_cosines(indicator @ units.dense)
    # Different events of one kind share words and meaning but not names.
    close = ((term_cos >= w.profile_merge) & (dense_cos >= w.profile_merge_dense)
             & (names_cos >= w.profile_merge_names))
    np.fill_diagonal(close, False)
    # Union-find over the close pairs, strongest first.
    parent = list(range(len(rows)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    a_idx, b_idx = np.nonzero(np.triu(close))
    order = np.argsort(-term_cos[a_idx, b_idx])
    for a, b in zip(a_idx[order], b_idx[order]):
        ra, rb = find(int(a)), find(int(b))
        if ra == rb:
            continue
        if keep_apart is not None and keep_apart(members[rows[ra]], members[rows[rb]]):
            continue
        parent[rb] = ra
        keep, gone = rows[ra], rows[rb]
        members[keep].extend(members[gone])
        members[gone] = []
        alive[gone] = False
        lowest[keep] = min(lowest[keep], lowest[gone], float(dense_cos[a, b]))


def _centroid_cosines(sums) -> np.ndarray:
    """Cosines between the rows of a (dense or sparse) matrix of summed vectors."""
    if sparse.issparse(sums):
        sums = sparse.csr_matrix(sums)
        dots = sparse_dots(sums, sums)
    else:
        dots = np.asarray(sums @ sums.T)
    norms = np.sqrt(np.maximum(np.diag(dots), 0))
    norms[norms == 0] = np.inf
    return dots / np.outer(norms, norms)
