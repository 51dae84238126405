"""BERTopic baseline for benchmarks/cluster_quality.py (``--baselines``).

    pip install -e .[bench]       # bertopic, umap-learn, hdbscan (pinned)

BERTopic 0.17.4 (MIT) as its documentation recommends with precomputed embeddings:
the MiniLM ONNX vectors of ``storyline.models.encoders.load_encoder("minilm")`` (first
60 words, as the agglomerative baseline) go to ``BERTopic.fit_transform(docs,
embeddings)``, with BERTopic's default UMAP (15 neighbours, 5 components, min_dist 0,
cosine) given a ``random_state`` for reproducibility and its default HDBSCAN (eom,
euclidean) of ``min_cluster_size=min_topic_size``. One ``min_topic_size`` serves every
set: the default of 10 cannot form any story smaller than 10, and most gold stories in
the seeds are 1–2 lines. Outliers (topic -1) each count as a cluster of their own.
Offline, one fit over the whole set; items/s counts encoding + fit (numba's one-off
compilation, pynndescent's included, is done beforehand on random vectors, as the
encoder's loading is left out).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MIN_TOPIC_SIZE = 3
RANDOM_STATE = 42
NOTE = (f"bertopic: UMAP (random_state={RANDOM_STATE}) + HDBSCAN, min_topic_size="
        f"{MIN_TOPIC_SIZE}, outliers as singletons; items/s counts encoding + fit")


def _model(min_topic_size: int):
    from bertopic import BERTopic
    from umap import UMAP

    # BERTopic's own default UMAP, plus the random_state its FAQ recommends.
    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                      random_state=RANDOM_STATE)
    return BERTopic(umap_model=umap_model, min_topic_size=min_topic_size)


def _fit(texts: list[str], vectors, min_topic_size: int) -> list[int]:
    with warnings.catch_warnings():
        # UMAP says it runs single-threaded because of random_state; that is intended.
        warnings.filterwarnings("ignore", message="n_jobs value .* overridden")
        topics, _ = _model(min_topic_size).fit_transform(texts, vectors)
    return [int(t) for t in topics]


def _warm_up(min_topic_size: int) -> None:
    """Compile UMAP/pynndescent's numba code once, outside the timed part."""
    import numpy as np

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(60, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    _fit([f"warm up text {i % 7} words {i}" for i in range(60)], vectors, min_topic_size)
    # From 4,096 items on, UMAP finds neighbours with pynndescent, compiled on first use.
    from umap import UMAP

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value .* overridden")
        UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
             random_state=RANDOM_STATE, force_approximation_algorithm=True).fit(vectors)


def bertopic_baseline(sets, min_topic_size: int = MIN_TOPIC_SIZE) -> list[tuple]:
    """Rows ``(set name, "bertopic", scores, items/s)`` as ``minilm_agglomerative``'s."""
    from benchmarks.datasets import item_text
    from storyline.evaluate import score_clusters
    from storyline.models.encoders import load_encoder

    encoder = load_encoder("minilm")
    _warm_up(min_topic_size)
    rows = []
    for data in sets:
        started = time.perf_counter()
        texts = [" ".join(item_text(r).split()[:60]) for r in data.records]
        vectors = encoder.encode(texts)
        topics = _fit(texts, vectors, min_topic_size)
        seconds = time.perf_counter() - started
        # Topic -1 is HDBSCAN's noise: each outlier is a story of its own.
        # (Labels are strings: score_clusters' ARI wants a 1-D array of them.)
        predicted = {r.id: f"topic {t}" if t >= 0 else f"outlier {r.id}"
                     for r, t in zip(data.records, topics)}
        scores = score_clusters(predicted, data.gold)
        rows.append((data.name, "bertopic", scores, len(texts) / seconds))
    return rows


if __name__ == "__main__":
    import argparse

    from benchmarks.cluster_quality import _print
    from benchmarks.datasets import all_sets

    parser = argparse.ArgumentParser(description="BERTopic baseline alone")
    parser.add_argument("--min-topic-size", type=int, action="append",
                        help=f"{MIN_TOPIC_SIZE} unless given; repeat to compare")
    parser.add_argument("--only", help="run only the sets whose name holds this")
    args = parser.parse_args()
    sets = [s for s in all_sets() if not args.only or args.only in s.name]
    for size in args.min_topic_size or [MIN_TOPIC_SIZE]:
        print(f"min_topic_size={size}")
        for row in bertopic_baseline(sets, size):
            _print(row)
