"""Stage 3 on Spark: exact and near copies as DataFrame operations.

Exact copies share a key (a group by). One representative per key enters
MinHash LSH: the engine's signatures (rensa, same seed and permutations),
32 bands of 4 rows hashed to band keys, rows sharing a band key become
candidate pairs, which are kept when their estimated Jaccard (equal hash
values, computed in Spark SQL) reaches the threshold and they state the same
figures — the engine's check. Connected components of those pairs (min-label
propagation by joins) bound what can be a copy of what; inside each component
(many components to a task) the engine's sequential decision is replayed in arrival order
(:func:`storyline.spark.windows.replay_copies`), so the canonical snippet and
the kind of every copy are what the single-machine engine would pick.

As in the engine, near copies are looked for among recent items only (the
last ``near_duplicate_days`` where every item has a time, else the last
``near_duplicate_batches`` windows): each band key is joined within time
buckets of that width and the neighbouring ones, so the candidate pairs per
item stay bounded however long the archive (a template's headlines coming
back every few days would otherwise make a band's bucket grow with it).
"""

from __future__ import annotations

import logging

import pandas as pd

from storyline.errors import IngestError
from storyline.pipeline.dedupe import NUM_BANDS, NUM_PERM

log = logging.getLogger(__name__)

ROWS_PER_BAND = NUM_PERM // NUM_BANDS
SIGNATURE_SCHEMA = "sig array<long>, minhash binary, figures string"


def _signatures(texts: pd.Series) -> pd.DataFrame:
    from storyline.pipeline.dedupe import numbers, signature_bytes, signatures

    sigs = signatures(list(texts))
    return pd.DataFrame({
        "sig": [[int(v) for v in s.digest()] for s in sigs],
        "minhash": [signature_bytes(s) for s in sigs],
        "figures": [" ".join(sorted(numbers(t))) for t in texts],
    })


def with_signatures(df):
    from pyspark.sql.functions import pandas_udf

    udf = pandas_udf(_signatures, SIGNATURE_SCHEMA)
    return df.withColumn("s", udf("norm")).select("*", "s.*").drop("s")


def candidate_pairs(reps, threshold: float, horizon: float | None = None):
    """(a, b, jaccard) of representatives sharing a band, a < b, that pass the check;
    with ``horizon``, only those whose ``when`` are at most that far apart."""
    from pyspark.sql import functions as F

    bands = F.array(*[F.xxhash64(F.slice("sig", b * ROWS_PER_BAND + 1, ROWS_PER_BAND))
                      for b in range(NUM_BANDS)])
    bucket = F.floor(F.col("when") / F.lit(float(horizon))) if horizon else F.lit(0)
    keyed = reps.select("ord", "when", bucket.cast("long").alias("bucket"),
                        F.posexplode(bands).alias("band", "band_key"))
    # Each right row also stands in the buckets either side: a pair at most one horizon
    # apart meets once, in the left row's bucket.
    spread = F.array(*[F.col("bucket") + d for d in (-1, 0, 1)]) if horizon else F.array(
        F.col("bucket"))
    right = keyed.withColumn("bucket", F.explode(spread)).alias("r")
    left = keyed.alias("l")
    near = F.abs(F.col("l.when") - F.col("r.when")) <= F.lit(float(horizon)) if horizon \
        else F.lit(True)
    # A sort-merge join: Spark may take the exploded side for small and try to broadcast it.
    pairs = left.hint("merge").join(right, (F.col("l.band") == F.col("r.band"))
                      & (F.col("l.band_key") == F.col("r.band_key"))
                      & (F.col("l.bucket") == F.col("r.bucket"))
                      & (F.col("l.ord") < F.col("r.ord")) & near) \
                .select(F.col("l.ord").alias("a"), F.col("r.ord").alias("b")).distinct()
    sig_a = reps.select(F.col("ord").alias("a"), F.col("sig").alias("sa"),
                        F.col("figures").alias("fa"))
    sig_b = reps.select(F.col("ord").alias("b"), F.col("sig").alias("sb"),
                        F.col("figures").alias("fb"))
    equal = F.aggregate(F.zip_with("sa", "sb", lambda x, y: F.when(x == y, 1).otherwise(0)),
                        F.lit(0), lambda acc, x: acc + x)
    checked = pairs.join(sig_a, "a").join(sig_b, "b") \
                   .withColumn("jaccard", equal / F.lit(float(NUM_PERM)))
    return checked.where((F.col("fa") == F.col("fb")) & (F.col("jaccard") >= threshold)) \
                  .select("a", "b", "jaccard")


def components(edges, max_rounds: int = 200):
    """(node, comp): the smallest node of each connected component of ``edges``
    (a, b), by min-label propagation with pointer jumping (a node takes the label of
    its label), until no label changes: chains of near copies across a long archive
    converge in about log2 of their length rounds, not their length."""
    from pyspark.sql import functions as F

    both = edges.select("a", "b").unionByName(edges.select(F.col("b").alias("a"),
                                                           F.col("a").alias("b")))
    both = both.localCheckpoint()
    labels = both.groupBy("a").agg(F.least(F.col("a"), F.min("b")).alias("comp")) \
                 .withColumnRenamed("a", "node").localCheckpoint()
    for rounds in range(1, max_rounds + 1):
        spread = both.join(labels, both.a == labels.node) \
                     .groupBy(F.col("b").alias("node")).agg(F.min("comp").alias("offer"))
        offered = labels.join(spread, "node", "left") \
                        .select("node", "comp",
                                F.least("comp", F.coalesce("offer", "comp")).alias("new"))
        target = offered.select(F.col("node").alias("t"), F.col("new").alias("jump"))
        updated = offered.join(target, offered.new == target.t, "left") \
                         .select("node", F.least("new", F.coalesce("jump", "new")).alias("new"),
                                 "comp")
        updated = updated.select("node", F.col("new").alias("comp"),
                                 (F.col("new") < F.col("comp")).alias("changed")).localCheckpoint()
        labels = updated.select("node", "comp")
        if not updated.where("changed").limit(1).count():
            log.info("near-copy components: %d rounds", rounds)
            return labels
    raise IngestError(f"near-copy components did not settle in {max_rounds} rounds")


def find_copies(items, threshold: float, horizon: float | None = None):
    """(ord, canonical, kind, similarity) for every item; ``items`` holds ord, key,
    sig, figures and ``when`` (seconds, or a window's rank), compared within
    ``horizon`` of it (None: all with all)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from storyline.spark.windows import replay_copies

    rep_of = items.groupBy("key").agg(F.min("ord").alias("rep"))
    items = items.join(rep_of, "key")
    reps = items.where(F.col("ord") == F.col("rep"))
    pairs = candidate_pairs(reps, threshold, horizon).localCheckpoint()
    comp = components(pairs)
    items = items.join(comp.withColumnRenamed("node", "rep"), "rep", "left") \
                 .withColumn("comp", F.coalesce("comp", "rep")) \
                 .withColumn("members", F.count("*").over(Window.partitionBy("comp")))
    alone = items.where(F.col("members") == 1).select(
        "ord", F.col("ord").alias("canonical"), F.lit("original").alias("kind"),
        F.lit(1.0).alias("similarity"))
    # Components are independent (an exact key and a candidate pair never cross one), so
    # a task replays many at once: one pandas group per component cost more than the
    # replay itself (thousands of two-item groups).
    buckets = int(items.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    bucket = F.pmod(F.xxhash64("comp"), F.lit(buckets)).alias("bucket")
    grouped = items.where(F.col("members") > 1).select(bucket, "ord", "key", "rep")
    pair_comp = pairs.join(comp.withColumnRenamed("node", "a"), "a") \
                     .select(bucket, "a", "b", "jaccard")

    def replay(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
        return replay_copies(left, right)

    replayed = grouped.groupBy("bucket").cogroup(pair_comp.groupBy("bucket")).applyInPandas(
        replay, "ord long, canonical long, kind string, similarity double")
    return alone.unionByName(replayed)
