"""What the executors run on pandas frames: features of snippets, and one time
window clustered with storyline's own clustering code (no Spark imports here).

Rows carry sparse views as parallel arrays of hashed columns and values, so
they travel through Arrow; the clusters of a window leave as sums (what the
driver links, :mod:`storyline.spark.link`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from storyline.config import Config
from storyline.pipeline import cluster as clustering
from storyline.pipeline.represent import N_FEATURES, Features, TermWeights, leads, names, words

CLUSTER_SCHEMA = (
    "window_rank long, chunk long, local long, first long, size long, members array<long>, "
    "dense array<float>, t_idx array<int>, t_val array<float>, n_idx array<int>, "
    "n_val array<float>, b_idx array<int>, b_val array<float>"
)


def count_columns(texts: Sequence[str], lead_words: int) -> pd.DataFrame:
    """Hashed word and name counts of each snippet's lead, as column/count arrays."""
    lead = leads(list(texts), lead_words)
    out = {}
    for prefix, analyzer in (("t", words), ("n", names)):
        counts = TermWeights(analyzer, np.zeros(1, dtype=np.int32)).counts(lead)
        out[f"{prefix}_cols"] = _rows(counts, np.int32)
        out[f"{prefix}_cnt"] = [v.astype(np.float32) for v in _rows(counts, np.float64, True)]
    return pd.DataFrame(out)


def _rows(m: sparse.csr_matrix, dtype, values: bool = False) -> list[np.ndarray]:
    data = m.data if values else m.indices
    return [np.asarray(data[m.indptr[i]:m.indptr[i + 1]], dtype=dtype)
            for i in range(m.shape[0])]


def csr(cols: Sequence[np.ndarray], vals: Sequence[np.ndarray]) -> sparse.csr_matrix:
    lengths = np.fromiter((len(c) for c in cols), dtype=np.int64, count=len(cols))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    idx = np.concatenate(list(cols)).astype(np.int32) if len(cols) else np.zeros(0, np.int32)
    val = np.concatenate(list(vals)).astype(np.float32) if len(vals) else np.zeros(0, np.float32)
    return sparse.csr_matrix((val, idx, indptr), shape=(len(cols), N_FEATURES))


def weights_from(df: np.ndarray, docs: int, analyzer) -> TermWeights:
    return TermWeights(analyzer, df, docs)


def cluster_window(pdf: pd.DataFrame, config: Config, terms: TermWeights,
                   names_: TermWeights, mean: np.ndarray | None) -> pd.DataFrame:
    """One slot's canonical snippets clustered as the engine clusters a batch
    with no live story; returns one row of sums per cluster (CLUSTER_SCHEMA)."""
    pdf = pdf.sort_values("ord", kind="stable")
    dense = np.vstack(pdf["dense"].to_numpy()).astype(np.float32)
    feats = Features(
        dense=dense - mean if mean is not None and config.centre_embeddings else dense,
        terms=terms.weigh(csr(pdf["t_cols"].to_numpy(), pdf["t_cnt"].to_numpy())),
        names=names_.weigh(csr(pdf["n_cols"].to_numpy(), pdf["n_cnt"].to_numpy())),
    )
    empty = sparse.csr_matrix((0, N_FEATURES), dtype=np.float32)
    no_stories = clustering.StoryState([], np.zeros((0, dense.shape[1]), np.float32), empty,
                                       empty, np.zeros(0), empty)
    groups = clustering.cluster_batch(no_stories, feats, config.weights)
    ords = pdf["ord"].to_numpy()
    groups = sorted(groups, key=lambda g: g.items[0])
    members = [np.asarray(group.items) for group in groups]
    # Each cluster's sums as one sparse product: summing row by row made a dense 2^18
    # vector per cluster and view, nearly all of the window's time.
    indicator = clustering.membership(members, len(pdf))
    sums = {prefix: _sorted(indicator @ matrix) for prefix, matrix in
            (("t", feats.terms), ("n", feats.names), ("b", clustering.mentions(feats.names)))}
    rows = []
    for local, items in enumerate(members):
        row = {"window_rank": int(pdf["window_rank"].iloc[0]), "chunk": int(pdf["chunk"].iloc[0]),
               "local": local, "first": int(ords[items[0]]), "size": len(items),
               "members": ords[items].astype(np.int64),
               "dense": dense[items].sum(axis=0).astype(np.float32)}
        for prefix, total in sums.items():
            span = slice(total.indptr[local], total.indptr[local + 1])
            row[f"{prefix}_idx"] = total.indices[span].astype(np.int32)
            row[f"{prefix}_val"] = total.data[span].astype(np.float32)
        rows.append(row)
    return pd.DataFrame(rows, columns=[c.split()[0] for c in CLUSTER_SCHEMA.split(", ")])


def _sorted(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """``matrix`` as CSR with its columns in order and no stored zeros."""
    matrix = sparse.csr_matrix(matrix)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix


def replay_copies(items: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Components of copies (one or several: they share no key and no pair), replayed
    in arrival order as the engine's DuplicateIndex decides: an exact key of a
    canonical snippet, else the most similar canonical candidate that passed the
    Jaccard and figures check (the earlier on a tie), else a new canonical snippet."""
    near: dict[int, list[tuple[int, float]]] = {}
    for a, b, jac in zip(pairs["a"], pairs["b"], pairs["jaccard"]):
        near.setdefault(int(a), []).append((int(b), float(jac)))
        near.setdefault(int(b), []).append((int(a), float(jac)))
    keys: dict[str, int] = {}
    canonical: set[int] = set()
    out = []
    for ord_, key, rep in sorted(zip(items["ord"], items["key"], items["rep"])):
        ord_, rep = int(ord_), int(rep)
        if key in keys:
            out.append((ord_, keys[key], "exact", 1.0))
            continue
        best, best_sim = None, 0.0
        for other, sim in near.get(rep, []):
            if other in canonical and (sim > best_sim or (sim == best_sim and other < best)):
                best, best_sim = other, sim
        if best is not None:
            out.append((ord_, best, "near", best_sim))
        else:
            canonical.add(ord_)
            keys[key] = ord_
            out.append((ord_, ord_, "original", 1.0))
    return pd.DataFrame(out, columns=["ord", "canonical", "kind", "similarity"])
