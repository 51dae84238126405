"""An inverted-file index of embeddings: nearest snippets without reading them all.

The embedding space is cut into ``cells`` by the nearest of a few hundred
centroids (k-means on a sample of the first snippets, kept in the store); every
stored snippet records its cell. A query reads only the snippets of the cells
nearest to it, up to a budget, and ranks those exactly: memory and time follow the
probed cells, not the store. As the store grows the cells are drawn again, finer
(``GROWTH`` times as many, up to ``MAX_CELLS``, from a sample spread over the store,
every snippet filed again), so a cell stays a few hundred snippets to ``MEAN_MAX`` on
average.
"""

from __future__ import annotations

import numpy as np

CELLS = 256
PROBES = 16
# Embeddings a query reads at most, past its nearest cell: time bounded whatever the
# store's size (benchmarks/search_scale.py measures what it costs in recall).
READ_BUDGET = 25_000
MEAN_MAX = 1_500  # embeddings per cell on average before the cells are drawn again
GROWTH = 8  # how many times as many cells are drawn then
# At most this many: filing N embeddings under C cells is N x C dot products in the batch
# that draws them, under the write lock (800,000 under 2,048: 25 s here; under 16,384 it
# would be minutes). Past 3 M snippets the cells grow coarser again.
MAX_CELLS = 2_048
SAMPLE_PER_CELL = 10  # embeddings a cell is drawn from
REFILE_CHUNK = 10_000  # embeddings filed again at once
SCORES_AT_ONCE = 2_000_000  # similarities held at once when filing (8 MB)
TRAIN_MIN = 10 * CELLS  # snippets needed before the cells are drawn
SEED = 13


def unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)


def train(vectors: np.ndarray, cells: int = CELLS, rounds: int = 8) -> np.ndarray:
    """Spherical k-means centroids (unit rows) of a sample of embeddings."""
    rng = np.random.default_rng(SEED)
    data = unit(vectors.astype(np.float32))
    centroids = data[rng.choice(len(data), size=min(cells, len(data)), replace=False)]
    for _ in range(rounds):
        nearest = _nearest(data, centroids)
        sums = np.zeros_like(centroids)
        np.add.at(sums, nearest, data)
        empty = np.linalg.norm(sums, axis=1) == 0
        sums[empty] = centroids[empty]  # an empty cell keeps its centroid
        centroids = unit(sums)
    return centroids


def assign(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The cell of each embedding (the nearest centroid by cosine)."""
    if len(vectors) == 0:
        return np.zeros(0, dtype=np.int64)
    return _nearest(unit(vectors), centroids)


def _nearest(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The nearest centroid of each row, scored a block of rows at a time: all at once,
    20,480 samples against 2,048 centroids took 170 MB (RSS 300 → 523 MB at the draw)."""
    rows = max(1, SCORES_AT_ONCE // max(1, len(centroids)))
    return np.concatenate([np.argmax(data[k:k + rows] @ centroids.T, axis=1)
                           for k in range(0, len(data), rows)])


def cells_to_draw(stored: int, cells: int) -> int | None:
    """How many cells to draw again for ``stored`` embeddings filed under ``cells``, or
    None while these serve.

    >>> cells_to_draw(300_000, 256), cells_to_draw(384_000, 256), cells_to_draw(10**8, 2048)
    (None, 2048, None)
    """
    if cells >= MAX_CELLS or stored < cells * MEAN_MAX:
        return None
    return min(cells * GROWTH, MAX_CELLS)


def probes_for(cells: int) -> int:
    """Cells a query may read: PROBES of CELLS, the same share of finer cells (the
    read budget stops it first on a big store)."""
    return max(PROBES, cells * PROBES // CELLS)


def probe(query: np.ndarray, centroids: np.ndarray, probes: int | None = None) -> list[int]:
    """The cells nearest to a query, nearest first."""
    probes = probes_for(len(centroids)) if probes is None else probes
    scores = centroids @ unit(query.reshape(1, -1))[0]
    return [int(c) for c in np.argsort(-scores)[:probes]]


def dump_centroids(centroids: np.ndarray) -> bytes:
    return centroids.astype(np.float32).tobytes()


def load_centroids(blob: bytes | None, dim: int) -> np.ndarray | None:
    """Stored centroids, or None where none are (or they are of another model)."""
    if not blob or len(blob) % (dim * 4):
        return None
    return np.frombuffer(blob, dtype=np.float32).reshape(-1, dim)
