"""The Spark job: an archive in, a story per item out.

1. read and normalise in partitions (:mod:`storyline.spark.inputs`);
2. exact and near copies as DataFrame operations (:mod:`storyline.spark.copies`);
3. embeddings and hashed counts in pandas UDFs, statistics over the whole
   archive (:mod:`storyline.spark.features`);
4. each time window — a batch, cut into chunks of ``Config.chunk_size``
   canonical snippets as the engine cuts one — clustered by ``applyInPandas``
   running storyline's clustering code (:mod:`storyline.spark.windows`), then
   the windows linked in time order on the driver (:mod:`storyline.spark.link`);
5. per item its story and the item it copies, as DataFrames (written by
   :mod:`storyline.spark.outputs` to JSONL, Parquet or a store).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from storyline.config import Config
from storyline.errors import InputError
from storyline.spark.link import Linked, Linker, WindowCluster, sparse_row


@dataclass
class SparkRun:
    """What the job made; DataFrames are checkpointed (computed once)."""

    items: object  # DataFrame: ord, id, window, window_rank, kind, canonical, story, …
    clusters: object  # DataFrame of window clusters (CLUSTER_SCHEMA)
    dense: object  # DataFrame: ord, dense (the canonical snippets' embeddings)
    linked: Linked
    windows: list[tuple[int, str, datetime | None]]  # rank, name, clock
    model_name: str
    dim: int
    terms_df: np.ndarray
    names_df: np.ndarray
    docs: int
    dense_total: np.ndarray


def window_seconds(text: str) -> int:
    """``30m``, ``6h``, ``1d``, ``2w`` as seconds (the widths ``storyline cluster
    --window`` takes: :func:`storyline.pipeline.window.parse_window`)."""
    from storyline.pipeline.window import parse_window

    return int(parse_window(text).total_seconds())


def read_items(spark, path: Path, window: str | None, encoding: str | None = None):
    """Records, normalised and checked, with a window and its rank; JSONL files are read
    in ``encoding`` (default: UTF-8, or UTF-16 after its byte order mark)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from storyline.spark.inputs import first_error, input_files, normalise, read_records

    inputs = input_files(path, encoding)
    records, empty = read_records(spark, inputs)
    items = normalise(records).localCheckpoint()
    error = first_error(items, inputs, empty)
    if error is not None:
        raise error
    dup = items.where(F.col("id").isNotNull()) \
               .withColumn("_k", F.row_number().over(Window.partitionBy("id").orderBy("ord"))) \
               .where("_k > 1").orderBy("ord").select("id", "origin", "line").limit(1).collect()
    for row in dup:  # named where `storyline cluster` names it: the second record
        raise InputError(row["origin"], row["line"], f"duplicate id {row['id']!r}")
    items = _with_ids(spark, items)
    if window:
        items = _time_windows(items, window)
    else:
        items = items.withColumn("window", F.coalesce("batch", F.lit("1")))
    ranks = items.groupBy("window").agg(F.min("ord").alias("_o")) \
                 .withColumn("window_rank", F.row_number().over(Window.orderBy("_o")) - 1) \
                 .drop("_o")
    return items.join(F.broadcast(ranks), "window")


def _time_windows(items, window: str):
    """``window`` named as ``storyline cluster --window`` names a record's batch
    (:func:`storyline.pipeline.window.windowed`), in arrival order: a record dated after
    the current window opens the next one; a late record and one without a date join
    the current window; those before the first date join its window (past MAX_WAITING of
    them, ``w-undated``). The windows' openings are few: found on the driver, each
    record's window then looked up in a pandas UDF."""
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    from storyline.pipeline.window import MAX_WAITING, parse_window, window_name

    span = parse_window(window)
    width = int(span.total_seconds())
    starts = items.where(F.col("epoch").isNotNull()) \
                  .withColumn("_start", (F.floor(F.col("epoch") / width) * width).cast("long")) \
                  .groupBy("_start").agg(F.min("ord").alias("_o")).collect()
    opens, names, latest = [], [], None
    for row in sorted(starts, key=lambda r: r["_o"]):
        if latest is None or row["_start"] > latest:
            latest = row["_start"]
            opens.append(row["_o"])
            names.append(window_name("w", datetime.fromtimestamp(latest, UTC), span))
    undated = "w-undated"
    first = opens[0] if opens else None
    waited = (first // MAX_WAITING) * MAX_WAITING if first is not None else None
    at = np.asarray(opens, dtype=np.int64)

    def name_of(ords: pd.Series) -> pd.Series:
        k = np.searchsorted(at, ords.to_numpy(), side="right") - 1
        out = [names[i] if i >= 0 else names[0] if first is not None and o >= waited
               else undated for i, o in zip(k, ords)]
        return pd.Series(out, dtype=object)

    return items.withColumn("window", pandas_udf(name_of, "string")("ord"))


def _with_ids(spark, items):
    """``given_id`` as the record gave it; ``id`` that, or else its number (ord + 1) as
    ``storyline cluster`` numbers a record, unless another record took that number as
    its id: then ``line-N-1`` (``-2``... where that is taken too)."""
    from pyspark.sql import functions as F

    given = items.where(F.col("id").isNotNull()).select(F.col("id").alias("_given"))
    wanted = items.where(F.col("id").isNull()) \
                  .select("ord", (F.col("ord") + 1).cast("string").alias("_want"))
    clashes = wanted.join(given, wanted["_want"] == given["_given"], "left_semi") \
                    .select("ord").collect()
    ids = F.coalesce("id", (F.col("ord") + 1).cast("string"))
    items = items.withColumn("given_id", F.col("id"))
    if clashes:
        taken = {r["_given"] for r in given.where(F.col("_given").startswith("line-")).collect()}
        fixes = []
        for row in clashes:
            n, k = row["ord"] + 1, 1
            while f"line-{n}-{k}" in taken:
                k += 1
            fixes.append((row["ord"], f"line-{n}-{k}"))
        items = items.join(spark.createDataFrame(fixes, "ord long, _fix string"), "ord", "left")
        ids = F.coalesce("id", "_fix", (F.col("ord") + 1).cast("string"))
    return items.withColumn("id", ids).drop("_fix")


def cluster_archive(spark, path: Path, config: Config, window: str | None = None,
                    encoding: str | None = None) -> SparkRun:
    """Run the whole job on IN (JSONL in ``encoding``); see the module docstring."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from storyline.spark import copies as copy_stage
    from storyline.spark import features as feature_stage

    model_name, dim = feature_stage.encoder_info(config.model)
    items = copy_stage.with_signatures(read_items(spark, path, window, encoding))\
                      .localCheckpoint()
    when, horizon = _copy_horizon(items, config)
    found = copy_stage.find_copies(items.select("ord", "key", "sig", "figures", when),
                                   config.near_duplicate_jaccard, horizon)
    items = items.drop("sig").join(found, "ord").localCheckpoint()
    chunk = (F.row_number().over(Window.partitionBy("window_rank").orderBy("ord")) - 1)
    canon = items.where(F.col("kind") == "original") \
                 .withColumn("chunk", F.floor(chunk / config.chunk_size).cast("long")) \
                 .select("ord", "window_rank", "chunk", "norm")
    canon = feature_stage.with_features(spark, canon, config.model, config.lead_words) \
                         .localCheckpoint()
    terms_df, names_df, docs = feature_stage.document_frequencies(canon)
    total = feature_stage.dense_sum(canon, dim)
    mean = (total / (docs + config.mean_prior_docs)).astype(np.float32)
    clusters = _cluster_windows(spark, canon, config, terms_df, names_df, docs, mean)
    windows = _windows(items)
    clocks = {rank + 1: clock for rank, _, clock in windows}
    linked = Linker(config, mean, clocks).run(_window_clusters(clusters))
    items = _with_stories(spark, items, clusters, linked)
    return SparkRun(items, clusters, canon.select("ord", "dense"), linked, windows, model_name,
                    dim, terms_df, names_df, docs, total)


def _copy_horizon(items, config: Config):
    """The ``when`` column near copies are looked for by and how far back, as the engine's
    near-copy window: ``near_duplicate_days`` of published time where every item has one,
    else ``near_duplicate_batches`` windows (one window: all of it)."""
    from pyspark.sql import functions as F

    # One window is one batch to the engine: all of it is compared with all of it.
    several = items.select("window_rank").where("window_rank > 0").limit(1).count()
    timed = several and config.near_duplicate_days is not None and not items.where(
        F.col("epoch").isNull()).limit(1).count()
    if timed:
        return F.col("epoch").cast("double").alias("when"), config.near_duplicate_days * 86400
    return F.col("window_rank").cast("double").alias("when"), float(
        config.near_duplicate_batches)


def _cluster_windows(spark, canon, config: Config, terms_df: np.ndarray,
                     names_df: np.ndarray, docs: int, mean: np.ndarray):
    from storyline.pipeline.represent import names, words
    from storyline.spark.windows import CLUSTER_SCHEMA, cluster_window

    shared = spark.sparkContext.broadcast((terms_df, names_df, docs, mean))

    def per_window(pdf):
        t_df, n_df, n_docs, centre = shared.value
        from storyline.pipeline.represent import TermWeights

        return cluster_window(pdf, config, TermWeights(words, t_df, n_docs),
                              TermWeights(names, n_df, n_docs), centre)

    return canon.groupBy("window_rank", "chunk").applyInPandas(per_window, CLUSTER_SCHEMA) \
                .localCheckpoint()


def _windows(items) -> list[tuple[int, str, datetime | None]]:
    """Each window's rank, name and clock (its latest published_at, not after now)."""
    from pyspark.sql import functions as F

    now = datetime.now(UTC)
    rows = items.groupBy("window_rank", "window").agg(F.max("epoch").alias("latest")) \
                .orderBy("window_rank").collect()
    return [(r["window_rank"], r["window"],
             min(datetime.fromtimestamp(r["latest"], UTC), now) if r["latest"] is not None
             else None) for r in rows]


def _window_clusters(clusters):
    for r in clusters.orderBy("window_rank", "chunk", "local").toLocalIterator():
        yield WindowCluster(
            slot=(r["window_rank"], r["chunk"]), local=r["local"], first=r["first"],
            size=r["size"], dense=np.asarray(r["dense"], dtype=np.float32),
            terms=sparse_row(r["t_idx"], r["t_val"]), names=sparse_row(r["n_idx"], r["n_val"]),
            named_by=sparse_row(r["b_idx"], r["b_val"]),
        )


def _with_stories(spark, items, clusters, linked: Linked):
    """Every item with its final story: canonical items by their window cluster,
    copies by their canonical snippet."""
    from pyspark.sql import functions as F

    rows = [(rank, chunk, local, linked.resolve(story))
            for (rank, chunk, local), story in linked.assigned.items()]
    mapping = spark.createDataFrame(rows, "window_rank long, chunk long, local long, story long")
    member_story = clusters.select("window_rank", "chunk", "local",
                                   F.explode("members").alias("canonical")) \
                           .join(mapping, ["window_rank", "chunk", "local"]) \
                           .select("canonical", "story")
    canon_ids = items.where(F.col("kind") == "original") \
                     .select(F.col("ord").alias("canonical"), F.col("id").alias("canonical_id"))
    out = items.join(member_story, "canonical").join(canon_ids, "canonical") \
               .withColumn("duplicate_of", F.when(F.col("kind") == "original", None)
                           .otherwise(F.col("canonical_id")))
    return out.localCheckpoint()
