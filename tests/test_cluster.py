"""Stage 5: online average-link clustering with stories that grow and merge."""

import numpy as np
from scipy import sparse

from storyline.pipeline.cluster import (
    ClusterWeights,
    StoryState,
    average_link,
    cluster_batch,
    pairwise,
    two_events,
)
from storyline.pipeline.represent import N_FEATURES, Features

W = ClusterWeights(dense=1.0, terms=0.0, names=0.0, threshold=0.5)


def feats(vectors) -> Features:
    v = np.asarray(vectors, dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    empty = sparse.csr_matrix((len(v), N_FEATURES), dtype=np.float32)
    return Features(dense=v, terms=empty, names=empty)


def stories(sums, sizes) -> StoryState:
    sums = np.asarray(sums, dtype=np.float32)
    empty = sparse.csr_matrix((len(sums), N_FEATURES), dtype=np.float32)
    return StoryState(ids=list(range(100, 100 + len(sums))), dense=sums, terms=empty,
                      names=empty, sizes=np.asarray(sizes, dtype=float))


def test_new_items_cluster_among_themselves():
    groups = cluster_batch(stories(np.zeros((0, 3)), []),
                           feats([[1, 0, 0], [0.9, 0.1, 0], [0, 0, 1]]), W)
    assert sorted(g.items for g in groups) == [[0, 1], [2]]
    assert all(not g.stories for g in groups)


def test_items_join_the_story_they_are_close_to_on_average():
    # Story 0 holds two members along x; story 1 one member along y.
    state = stories([[2, 0, 0], [0, 1, 0]], [2, 1])
    groups = cluster_batch(state, feats([[1, 0.1, 0], [0.1, 1, 0], [0, 0, 1]]), W)
    by_items = {tuple(g.items): g.stories for g in groups}
    assert by_items[(0,)] == [0] and by_items[(1,)] == [1] and by_items[(2,)] == []


def test_an_item_between_two_stories_can_merge_them():
    state = stories([[1, 0.8, 0], [0.8, 1, 0]], [1, 1])
    state.dense = state.dense / np.linalg.norm(state.dense, axis=1, keepdims=True)
    groups = cluster_batch(state, feats([[1, 1, 0]]), ClusterWeights(1.0, 0, 0, 0.9))
    assert len(groups) == 1 and groups[0].stories == [0, 1] and groups[0].items == [0]


def test_nothing_merges_below_the_threshold():
    groups = cluster_batch(stories([[1, 0, 0]], [1]), feats([[0, 1, 0]]), W)
    assert [(g.stories, g.items) for g in groups] == [([], [0])]


def _greedy_average_link(sim, sizes, threshold):
    """The textbook loop: merge the most similar pair until none reaches the threshold."""
    clusters = {i: [i] for i in range(len(sizes))}
    weight = {i: float(sizes[i]) for i in range(len(sizes))}

    def link(a, b):
        total = sum(sizes[x] * sizes[y] * sim[x, y] for x in clusters[a] for y in clusters[b])
        return total / (weight[a] * weight[b])

    while len(clusters) > 1:
        s, a, b = max((link(a, b), a, b) for a in clusters for b in clusters if a < b)
        if s < threshold:
            break
        clusters[a] += clusters.pop(b)
        weight[a] += weight.pop(b)
    return sorted(sorted(c) for c in clusters.values())


def test_nearest_neighbour_chain_gives_the_greedy_clusters():
    rng = np.random.default_rng(7)
    for trial in range(30):
        m = int(rng.integers(2, 25))
        points = rng.normal(size=(m, 4))
        points /= np.linalg.norm(points, axis=1, keepdims=True)
        sim = points @ points.T
        sizes = rng.integers(1, 4, size=m).astype(float)
        threshold = float(rng.uniform(0.0, 0.6))
        members = [[i] for i in range(m)]
        for keep, gone, _ in average_link(sim.copy(), sizes.copy(), threshold):
            members[keep] += members[gone]
            members[gone] = []
        got = sorted(sorted(c) for c in members if c)
        assert got == _greedy_average_link(sim, sizes, threshold), trial


def _event_features(groups):
    """Items with near-identical embeddings; group g names name 0 (shared) and 1+2g, 2+2g."""
    rows, cols = [], []
    dense = []
    for g, size in enumerate(groups):
        for _ in range(size):
            r = len(dense)
            dense.append([1.0, 0.05 * g, 0.0])
            rows += [r, r, r]
            cols += [0, 1 + 2 * g, 2 + 2 * g]
    names = sparse.csr_matrix((np.full(len(rows), 1 / np.sqrt(3), np.float32), (rows, cols)),
                              shape=(len(dense), N_FEATURES))
    f = feats(dense)
    return Features(dense=f.dense, terms=f.terms, names=names)


def test_two_events_of_one_kind_stay_apart():
    # Ten near-identical snippets, five naming one pair of participants and five
    # another: one story by similarity, two events by their names.
    w = ClusterWeights(dense=0.5, terms=0.0, names=0.5, threshold=0.3, distinct_min_size=5)
    batch = _event_features([5, 5])
    groups = cluster_batch(stories(np.zeros((0, 3)), []), batch, w)
    assert sorted(g.items for g in groups) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    # Without the rule, or below the size where names are evidence, they merge.
    for rule in (ClusterWeights(dense=0.5, terms=0.0, names=0.5, threshold=0.3),
                 ClusterWeights(dense=0.5, terms=0.0, names=0.5, threshold=0.3,
                                distinct_min_size=6)):
        assert [g.items for g in cluster_batch(stories(np.zeros((0, 3)), []), batch, rule)] \
            == [list(range(10))]


def test_a_story_keeps_apart_from_a_new_event_of_its_kind():
    w = ClusterWeights(dense=0.5, terms=0.0, names=0.5, threshold=0.3, distinct_min_size=5)
    old = _event_features([6])
    new = _event_features([0, 5])
    present = old.names.copy()
    present.data[:] = 1
    story = StoryState(ids=[100], dense=old.dense.sum(axis=0, keepdims=True),
                       terms=sparse.csr_matrix((1, N_FEATURES), dtype=np.float32),
                       names=sparse.csr_matrix(old.names.sum(axis=0)), sizes=np.array([6.0]),
                       named_by=sparse.csr_matrix(present.sum(axis=0)))
    groups = cluster_batch(story, new, w)
    assert [(g.stories, g.items) for g in groups] == [([], [0, 1, 2, 3, 4])]
    # The same five snippets naming the story's participants join it.
    same = _event_features([5])
    assert [(g.stories, g.items) for g in cluster_batch(story, same, w)] == [([0], [0, 1, 2, 3, 4])]


def _two_kinds(spread: float) -> Features:
    """Six snippets of one event and six of another: names of their own, embeddings
    ``spread`` apart."""
    f = _event_features([6, 6])
    dense = np.array([[1.0, spread if i < 6 else -spread, 0.0] for i in range(12)], np.float32)
    return Features(dense=dense / np.linalg.norm(dense, axis=1, keepdims=True),
                    terms=f.terms, names=f.names)


def test_a_cluster_holding_two_events_is_split_by_their_names():
    w = ClusterWeights(dense=0.5, terms=0.0, names=0.5, threshold=0.3, distinct_min_size=5,
                       split_ratio=0.7)
    batch = _two_kinds(spread=0.3)
    named = sparse.csr_matrix(batch.names)
    named.data[:] = 1
    in_a = two_events(np.arange(12), pairwise(batch, batch, w), np.ones(12), named, w)
    assert in_a is not None and sorted([list(np.flatnonzero(in_a)), list(np.flatnonzero(~in_a))]) \
        == [list(range(6)), list(range(6, 12))]
    # Halves that are as close across as within are one story told two ways.
    close = ClusterWeights(dense=0.8, terms=0.0, names=0.2, threshold=0.3, distinct_min_size=5,
                           split_ratio=0.7)
    same = _two_kinds(spread=0.0)
    assert two_events(np.arange(12), pairwise(same, same, close), np.ones(12), named, close) is None
    # One event (everyone names the same names) has no split.
    one = _event_features([12])
    named_one = sparse.csr_matrix(one.names)
    named_one.data[:] = 1
    assert two_events(np.arange(12), pairwise(one, one, w), np.ones(12), named_one, w) is None


def test_cluster_batch_splits_a_mixed_cluster_but_never_a_story():
    # Snippet 6 names the second event's names but reads like the first, so it
    # joins the first event while the second is still too small for the veto,
    # and the second event follows it in. The split pass parts them again.
    w = ClusterWeights(dense=0.8, terms=0.0, names=0.2, threshold=0.3, distinct_min_size=6)
    batch = _two_kinds(spread=0.5)
    batch.dense[6] = batch.dense[0]
    merged = cluster_batch(stories(np.zeros((0, 3)), []), batch, w)
    assert [g.items for g in merged] == [list(range(12))]
    split = ClusterWeights(dense=0.8, terms=0.0, names=0.2, threshold=0.3, distinct_min_size=6,
                           split_ratio=0.8)
    groups = cluster_batch(stories(np.zeros((0, 3)), []), batch, split)
    assert sorted(g.items for g in groups) == [list(range(6)), list(range(6, 12))]
    # A live story is split from nothing, but the new event that slipped into it
    # parts from it: the story holds the first event's six snippets.
    first = _two_kinds(spread=0.5)
    present = first.names[:6].copy()
    present.data[:] = 1
    story = StoryState(ids=[100], dense=first.dense[:6].sum(axis=0, keepdims=True),
                       terms=sparse.csr_matrix((1, N_FEATURES), dtype=np.float32),
                       names=sparse.csr_matrix(first.names[:6].sum(axis=0)),
                       sizes=np.array([6.0]), named_by=sparse.csr_matrix(present.sum(axis=0)))
    second = Features(dense=batch.dense[6:], terms=batch.terms[6:], names=batch.names[6:])
    assert [(g.stories, g.items) for g in cluster_batch(story, second, w)] \
        == [([0], list(range(6)))]
    assert [(g.stories, g.items) for g in cluster_batch(story, second, split)] \
        == [([], list(range(6)))]
