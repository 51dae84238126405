"""Hand-over: the Spark job's stories written into a store, through the Store's
public methods only (so any backend behind that interface takes them), in the
state the online engine keeps between batches — batches, canonical snippets
with their MinHash signatures, embeddings and stories, copies, stories and their
merges, and the stream statistics (document frequencies, the embedding sum).
``storyline ingest`` and ``serve`` go on from there.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import numpy as np

from storyline.config import Config
from storyline.errors import UsageError
from storyline.pipeline.batches import record_bytes
from storyline.spark.job import SparkRun
from storyline.store.rows import NewSnippet
from storyline.types import Record

WRITE_ROWS = 5000  # rows per executemany while streaming the items


def check_empty(store) -> None:
    """Backfill starts a store: one that holds snippets is refused (UsageError)."""
    if store.has_snippets():
        raise UsageError(f"{store.path} already holds snippets: backfill starts a store "
                         "(use `storyline ingest` to add to one)")


def backfill(run: SparkRun, store, config: Config) -> dict[str, int]:
    """Write ``run`` into an empty ``store`` in one transaction, headlines and summaries
    with the rest (as the engine describes a batch inside its transaction): a run killed
    at any point leaves the store as it was, and the same command run again writes it
    whole. Returns counts."""
    check_empty(store)
    with store.transaction():
        ids = _new_stories(run, store)
        snippet_of, digests, counts = _write_items(run, store, _story_of_originals(run, ids))
        _write_batches(run, store, digests, counts)
        stories = _write_stories(run, store, ids)
        _write_state(run, store, config)
        _describe(run, store, config, stories)
    return {"batches": len(run.windows), "snippets": len(snippet_of),
            "items": sum(counts.values()), "stories": len(stories)}


def _new_stories(run: SparkRun, store) -> dict[int, int]:
    """The job's stories made in the store, in the job's id order: the store's id of each."""
    order = sorted(run.linked.stories)
    made = store.new_stories([(run.linked.stories[s].first_seq, None) for s in order])
    return dict(zip(order, made, strict=True))


def _story_of_originals(run: SparkRun, ids: dict[int, int]) -> dict[int, int]:
    """The store's story of each canonical item (by ord), merges followed: each snippet is
    written with the story it ends in, not moved by an UPDATE after it."""
    from pyspark.sql import functions as F

    canon = run.items.where(F.col("kind") == "original").select("ord", "story")
    return {r["ord"]: ids[run.linked.resolve(r["story"])] for r in canon.toLocalIterator()}


def _write_items(run: SparkRun, store, story_of: dict[int, int]
                 ) -> tuple[dict[int, int], dict, dict[int, int]]:
    """Canonical snippets (with their stories) and copies in arrival order; returns
    snippet id by canonical ord, each batch's digest (as the engine computes it) and
    size."""
    from pyspark.sql import functions as F

    rows = run.items.join(run.dense, "ord", "left").select(
        "ord", "given_id", "text", "title", "source", "url", "published_at", "origin", "line",
        "window_rank", "kind", "canonical", "similarity", "norm", "key", "truncated",
        "minhash", "dense").orderBy(F.col("ord"))
    next_id = store.next_snippet_id()
    snippet_of: dict[int, int] = {}
    digests: dict[int, hashlib._Hash] = {}
    counts: dict[int, int] = {}
    new, copies = [], []
    for r in rows.toLocalIterator():
        seq = r["window_rank"] + 1
        record = Record(text=r["text"], batch="", id=r["given_id"], source=r["source"],
                        url=r["url"], published_at=r["published_at"], title=r["title"],
                        origin=r["origin"], line=r["line"])
        digest = digests.setdefault(seq, hashlib.blake2b(digest_size=16))
        digest.update(record_bytes(record))  # what `storyline ingest` digests of a record
        if r["kind"] == "original":
            sid = snippet_of[r["ord"]] = next_id
            next_id += 1
            new.append(NewSnippet(sid, r["key"], r["norm"], bool(r["truncated"]), seq,
                                  bytes(r["minhash"]), np.asarray(r["dense"], dtype=np.float32),
                                  story_id=story_of[r["ord"]]))
        position = counts.get(seq, 0)
        counts[seq] = position + 1
        copies.append((snippet_of[r["canonical"]], seq, position, r["kind"],
                       float(r["similarity"]), record))
        if len(copies) >= WRITE_ROWS:
            _flush(store, new, copies)
    _flush(store, new, copies)
    return snippet_of, digests, counts


def _flush(store, new: list, copies: list) -> None:
    store.add_snippets(new)  # embeddings with their rows
    store.add_copies(copies)
    new.clear()
    copies.clear()


def _write_batches(run: SparkRun, store, digests: dict, counts: dict[int, int]) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for rank, name, clock in run.windows:
        seq = rank + 1
        store.add_batch(name, seq, digests[seq].hexdigest(), counts[seq], now, "spark backfill",
                        clock.isoformat(timespec="seconds") if clock else None)


def _write_stories(run: SparkRun, store, ids: dict[int, int]) -> set[int]:
    """The merges and each story's size and last batch (one statement for all, as the
    engine writes them: no centroid); returns the live stories."""
    linked = run.linked
    store.merge_all([(ids[absorbed], ids[into], seq, similarity)
                     for absorbed, into, seq, similarity in linked.merges])
    store.update_stories([(ids[s], story.size, story.last_seq)
                          for s, story in linked.stories.items()])
    return {ids[s] for s in linked.stories if s not in linked.merged_into}


def _write_state(run: SparkRun, store, config: Config) -> None:
    """What the engine keeps in the store's state between batches: the archive's
    document frequencies and embedding sum, the model and the preset."""
    from storyline.pipeline.represent import TermWeights, names, words
    from storyline.pipeline.statistics import StreamStatistics

    statistics = StreamStatistics(store, config.lead_words, config.mean_prior_docs)
    # The archive's frequencies stand in for what the engine would have learnt
    # batch by batch; save() writes them in the engine's own format.
    statistics._terms = TermWeights(words, run.terms_df.copy(), run.docs)
    statistics._names = TermWeights(names, run.names_df.copy(), run.docs)
    statistics.save()
    store.set_state("dense_sum", np.asarray(run.dense_total, dtype=np.float64).tobytes())
    store.set_state("dense_docs", run.docs)
    store.set_state("model", run.model_name)
    store.set_state("model_option", config.model)
    store.set_state("preset", config.preset)


def _describe(run: SparkRun, store, config: Config, stories: set[int]) -> None:
    """Headlines and summaries of the live stories, as the engine writes them."""
    from storyline.pipeline.describe import describe_stories

    if config.describe and stories:
        describe_stories(store, len(run.windows), stories, set(), run.dim, config)
