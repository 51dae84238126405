"""Stage 5 — cluster a batch online against the live stories.

The live stories enter as clusters that may grow or merge but never split;
the batch's new snippets enter as singletons. Average-link agglomerative
clustering then runs over both until no pair of clusters is similar enough.

Similarity is a weighted sum of cosines over the three views of
:mod:`storyline.pipeline.represent`. Because it is a sum of dot products of
unit vectors, the average-link similarity of two clusters is the dot product
of their *summed* vectors divided by the product of their sizes — exact, and
cheap: a story is carried as one summed vector per view. The merge loop uses
the Lance-Williams update for average linkage, weighted by cluster sizes.
scipy/scikit-learn's agglomerative clustering cannot start from weighted,
pre-formed clusters, which is why this loop is written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from storyline.pipeline.represent import Features


@dataclass
class ClusterWeights:
    dense: float
    terms: float
    names: float
    threshold: float
    # "average": mean pairwise similarity (UPGMA); "centroid": cosine of the
    # clusters' summed vectors, which does not punish a broad story for being broad.
    linkage: str = "average"
    # Second pass: clusters whose word profiles point the same way (cosine of
    # summed TF-IDF vectors >= profile_merge) and whose meaning is close enough
    # (cosine of summed embeddings >= profile_merge_dense) are one story told
    # from several angles ("Snowden warns…", "Snowden's NSA leaks…"). 0 disables.
    profile_merge: float = 0.0
    profile_merge_dense: float = 0.0
    profile_merge_names: float = 0.0  # and names/numbers profiles must overlap this much
    profile_merge_min_size: int = 2  # a centroid of one or two snippets is no profile


@dataclass
class StoryState:
    """The live stories, as summed vectors: row i is story ``ids[i]``."""

    ids: list[int]
    dense: np.ndarray  # (k, d) sums
    terms: sparse.csr_matrix  # (k, V) sums
    names: sparse.csr_matrix
    sizes: np.ndarray  # (k,) members in the sums


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
        out += w.terms * (a.terms @ b.terms.T).toarray()
    if w.names:
        out += w.names * (a.names @ b.names.T).toarray()
    return np.asarray(out, dtype=np.float64)


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
    return np.flatnonzero(sims.max(axis=0) >= w.threshold * margin)


def cluster_batch(stories: StoryState, batch: Features, w: ClusterWeights) -> list[Group]:
    """Average-link clustering of the batch with the stories; returns every
    group holding at least one new snippet or more than one story."""
    k = len(stories.ids)
    n = len(batch)
    sizes = np.concatenate([stories.sizes.astype(np.float64), np.ones(n)])
    unit_sizes = sizes.copy()
    units = Features(
        dense=np.vstack([stories.dense, batch.dense]) if k else batch.dense,
        terms=sparse.vstack([stories.terms, batch.terms]).tocsr() if k else batch.terms,
        names=sparse.vstack([stories.names, batch.names]).tocsr() if k else batch.names,
    )
    raw = pairwise(units, units, w)
    centroid = w.linkage == "centroid"
    if centroid:
        norms = np.sqrt(np.maximum(np.diag(raw).copy(), 1e-12))
        sim = raw / np.outer(norms, norms)
    else:
        sim = raw / np.outer(sizes, sizes)
    np.fill_diagonal(sim, -np.inf)
    members: list[list[int]] = [[i] for i in range(k + n)]
    lowest = np.ones(k + n)
    alive = np.ones(k + n, dtype=bool)
    # Row maxima make each step O(m) instead of a full O(m^2) scan.
    row_best = sim.argmax(axis=1)
    row_max = sim[np.arange(k + n), row_best]
    while True:
        i = int(row_max.argmax())
        s = row_max[i]
        if not np.isfinite(s) or s < w.threshold:
            break
        j = int(row_best[i])
        if centroid:
            # Dot products of sums add up; the merged cluster's norm follows.
            self_dot = raw[i, i] + 2 * raw[i, j] + raw[j, j]
            raw[i, :] += raw[j, :]
            raw[:, i] = raw[i, :]
            raw[i, i] = self_dot
            norms[i] = np.sqrt(max(self_dot, 1e-12))
            merged = raw[i] / (norms[i] * norms)
        else:
            # Lance-Williams, average linkage: the merged row is the size-weighted mean.
            merged = (sizes[i] * sim[i] + sizes[j] * sim[j]) / (sizes[i] + sizes[j])
        sizes[i] += sizes[j]
        merged[i] = -np.inf
        merged[~alive] = -np.inf
        merged[j] = -np.inf
        sim[i, :] = merged
        sim[:, i] = merged
        sim[j, :] = -np.inf
        sim[:, j] = -np.inf
        alive[j] = False
        members[i].extend(members[j])
        members[j] = []
        lowest[i] = min(lowest[i], lowest[j], s)
        row_max[j] = -np.inf
        # Rows whose best partner was i or j, and row i itself, need a fresh look.
        stale = np.flatnonzero(alive & ((row_best == i) | (row_best == j)))
        stale = np.union1d(stale, [i])
        row_best[stale] = sim[stale].argmax(axis=1)
        row_max[stale] = sim[stale, row_best[stale]]
        # Other rows may have gained i as their best partner.
        better = alive & (sim[:, i] > row_max)
        row_best[better] = i
        row_max[better] = sim[better, i]
    if w.profile_merge > 0:
        _merge_on_profile(units, unit_sizes, members, alive, lowest, w)
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


def _merge_on_profile(units: Features, unit_sizes: np.ndarray, members: list[list[int]],
                      alive: np.ndarray, lowest: np.ndarray, w: ClusterWeights) -> None:
    """Merge clusters that share their word profile (see ClusterWeights.profile_merge).

    Average linkage punishes a broad story for its breadth; the centroid of its
    words, dominated by what the story keeps returning to, does not.
    """
    rows = np.array([r for r in np.flatnonzero(alive)
                     if unit_sizes[members[r]].sum() >= w.profile_merge_min_size], dtype=int)
    if len(rows) < 2:
        return
    indicator = sparse.csr_matrix(
        (np.ones(sum(len(members[r]) for r in rows), np.float32),
         (np.repeat(np.arange(len(rows)), [len(members[r]) for r in rows]),
          np.concatenate([members[r] for r in rows]))),
        shape=(len(rows), units.names.shape[0]),
    )
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
        parent[rb] = ra
        keep, gone = rows[ra], rows[rb]
        members[keep].extend(members[gone])
        members[gone] = []
        alive[gone] = False
        lowest[keep] = min(lowest[keep], lowest[gone], float(dense_cos[a, b]))


def _centroid_cosines(sums) -> np.ndarray:
    """Cosines between the rows of a (dense or sparse) matrix of summed vectors."""
    if sparse.issparse(sums):
        dots = (sums @ sums.T).toarray()
    else:
        dots = np.asarray(sums @ sums.T)
    norms = np.sqrt(np.maximum(np.diag(dots), 0))
    norms[norms == 0] = np.inf
    return dots / np.outer(norms, norms)
