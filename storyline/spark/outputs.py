"""Stage 5 on Spark: what the job writes.

``write_assignments``: what ``storyline cluster`` writes, ``{"id", "story",
"duplicate_of"}`` per input item, as JSONL in input order or as Parquet.
``write_tables``: stories, snippets and copies as Parquet tables.
"""

from __future__ import annotations

import json
from pathlib import Path

from storyline.spark.job import SparkRun


def assignments(run: SparkRun):
    from pyspark.sql import functions as F

    # The story is an integer, as in what `storyline cluster` writes.
    return run.items.select("ord", "id", F.col("story").cast("long").alias("story"),
                            "duplicate_of")


def write_assignments(run: SparkRun, out: Path) -> dict[str, int]:
    """Write OUT (.parquet: a Parquet folder; otherwise JSONL in input order);
    returns counts of items, stories and duplicates."""
    from pyspark.sql import functions as F

    rows = assignments(run)
    if out.suffix.lower() == ".parquet":
        rows.orderBy("ord").write.mode("overwrite").parquet(str(out))
    else:
        with out.open("w", encoding="utf-8") as fh:
            for r in rows.orderBy("ord").toLocalIterator():
                fh.write(json.dumps({"id": r["id"], "story": r["story"],
                                     "duplicate_of": r["duplicate_of"]},
                                    ensure_ascii=False) + "\n")
    counts = rows.agg(F.count("*").alias("items"), F.countDistinct("story").alias("stories"),
                      F.count("duplicate_of").alias("duplicates")).collect()[0]
    return counts.asDict()


def write_tables(spark, run: SparkRun, folder: Path) -> None:
    """stories/, snippets/ and copies/ Parquet tables under ``folder``."""
    from pyspark.sql import functions as F

    folder.mkdir(parents=True, exist_ok=True)
    linked = run.linked
    stories = [(sid, s.size, s.first_seq, s.last_seq, linked.merged_into.get(sid))
               for sid, s in linked.stories.items()]
    spark.createDataFrame(stories, "story long, size long, first_seq long, last_seq long, "
                                   "merged_into long") \
         .write.mode("overwrite").parquet(str(folder / "stories"))
    items = run.items
    items.where(F.col("kind") == "original") \
         .select(F.col("ord").alias("snippet"), "id", "norm", "key", "truncated", "window",
                 "story") \
         .write.mode("overwrite").parquet(str(folder / "snippets"))
    items.select("ord", "id", F.col("canonical").alias("snippet"), "kind", "similarity",
                 "window", "source", "url", "published_at", "title", "text") \
         .write.mode("overwrite").parquet(str(folder / "copies"))
