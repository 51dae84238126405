"""What the search's read budget costs on a big store: the nearest snippets a query
finds with the budget (``ivf.READ_BUDGET`` embeddings at most) against all 16 probed
cells read, and the time of each.

    python benchmarks/search_scale.py --db STORE [--queries 200] [--budget 12000] [--cold]

``STORE``: a store with its cells drawn (e.g. ``python benchmarks/stream_scale.py
--arrivals 2000000 --preset fast --db STORE``). The queries are stored snippets' texts,
every n-th by id (a query is encoded as a search encodes it). Recall@K: the share of
the K nearest found by reading all probed cells that the budgeted read finds too. Then
``storyline search`` itself (words and embeddings fused) for each text's first eight
words: the share of its top 10 stories that the budget keeps. Both reads are also
scored against exact search over every stored embedding (read into memory here).
``--cold``: a SQLite store's file is dropped from the operating system's cache before
each timed read, as for the first search after an ingest or on a server whose memory
does not hold the store.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storyline import Storyline, views  # noqa: E402
from storyline.models.encoders import store_encoder  # noqa: E402
from storyline.pipeline import ivf  # noqa: E402
from storyline.views import probed_embeddings  # noqa: E402

K = (1, 10, 20)


def nearest(ids: list[int], vectors, query, k: int) -> list[int]:
    scores = vectors @ query
    return [ids[i] for i in (-scores).argsort()[:k]]


def drop_from_cache(path: str) -> None:
    """Ask the kernel to forget the cached pages of a store's files (no-op elsewhere)."""
    for name in (path, f"{path}-wal"):
        if os.path.isfile(name) and hasattr(os, "posix_fadvise"):
            fd = os.open(name, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--budget", type=int, default=ivf.READ_BUDGET)
    parser.add_argument("--cold", action="store_true",
                        help="drop the store from the OS cache before each timed read")
    args = parser.parse_args()
    with Storyline(args.db) as sl:
        store = sl.store
        encoder = store_encoder(store, sl.config.model)
        centroids = ivf.load_centroids(store.get_state("ivf:cells"), encoder.dim)
        if centroids is None:
            sys.exit(f"{args.db} has no cells yet: a store of a few thousand snippets")
        last = store.next_snippet_id() - 1
        step = max(1, last // args.queries)
        texts = [r.text for r in store.snippet_rows(list(range(1, last + 1, step))).values()]
        queries = encoder.encode(texts[: args.queries])
        # Exact search over every stored embedding: what the index's reads miss at all.
        every_id, every = store.all_embeddings(encoder.dim)
        exact_recall: dict[str, dict[int, list[float]]] = {
            "all": {k: [] for k in K}, "budget": {k: [] for k in K}}
        recall = {k: [] for k in K}
        read = {"all": [], "budget": []}
        took = {"all": [], "budget": []}
        for query in queries:
            cells = ivf.probe(query, centroids)
            found = {}
            for name, budget in (("all", 10**12), ("budget", args.budget)):
                if args.cold:
                    drop_from_cache(args.db)
                started = time.perf_counter()
                ids, vectors = probed_embeddings(store, cells, encoder.dim, budget)
                found[name] = nearest(ids, vectors, query, max(K))
                took[name].append((time.perf_counter() - started) * 1000)
                read[name].append(len(ids))
            exact = nearest(every_id, every, query, max(K))
            for k in K:
                truth = set(found["all"][:k])
                recall[k].append(len(truth & set(found["budget"][:k])) / max(len(truth), 1))
                for name in ("all", "budget"):
                    exact_recall[name][k].append(len(set(exact[:k]) & set(found[name][:k])) / k)
        stories = story_overlap(sl, encoder, texts[: args.queries], args.budget)
    print(f"{args.db}: {last:,} snippets, {len(queries)} queries, budget {args.budget:,}")
    for name in ("all", "budget"):
        print(f"  {name:6} embeddings read: median {statistics.median(read[name]):,.0f}, "
              f"time median {statistics.median(took[name]):.0f} ms")
    print("  recall of the budgeted read against all probed cells: " + ", ".join(
        f"@{k} {statistics.mean(recall[k]):.3f}" for k in K))
    for name in ("all", "budget"):
        print(f"  recall against exact search, {name}: " + ", ".join(
            f"@{k} {statistics.mean(exact_recall[name][k]):.3f}" for k in K))
    print(f"  storyline search, top {TOP} stories: {stories['same']:.3f} of those found "
          f"reading all probed cells found with the budget too; median "
          f"{stories['all']:.0f} ms against {stories['budget']:.0f} ms a search")


TOP = 10


def story_overlap(sl: Storyline, encoder, texts: list[str], budget: int
                  ) -> dict[str, float]:
    """Searches (words and embeddings fused, as a user gets them) with and without the
    budget: the share of the top stories kept, and the median milliseconds. A query is
    a text's first eight words, as a user types a phrase."""
    shares, took = [], {"all": [], "budget": []}
    kept = ivf.READ_BUDGET  # views.search reads the module's budget: set, then restored
    for text in (" ".join(t.split()[:8]) for t in texts):
        found = {}
        for name, cap in (("all", 10**12), ("budget", budget)):
            ivf.READ_BUDGET = cap
            started = time.perf_counter()
            found[name] = [h.story_id for h in views.search(sl.store, text, encoder, TOP)]
            took[name].append((time.perf_counter() - started) * 1000)
        if found["all"]:
            shares.append(len(set(found["all"]) & set(found["budget"])) / len(found["all"]))
    ivf.READ_BUDGET = kept
    return {"same": statistics.mean(shares) if shares else float("nan"),
            "all": statistics.median(took["all"]), "budget": statistics.median(took["budget"])}


if __name__ == "__main__":
    main()
