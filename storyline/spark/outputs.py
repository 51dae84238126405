"""Stage 5 on Spark: what the job writes.

``write_assignments``: what ``storyline cluster`` writes, ``{"id", "story",
"duplicate_of"}`` per input item, as JSONL in input order or as Parquet.
``write_tables``: stories, snippets and copies as Parquet tables.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from storyline.errors import UsageError
from storyline.spark.job import SparkRun


def check_writable(path: Path, option: str, folder: bool = False) -> None:
    """Refuse (UsageError, exit 2) an output that cannot be written, before any work: a
    file where a folder goes or the other way round, or a folder that takes no file
    (tried: a test file is made and removed, so a read-only mount is found too). A
    ``folder`` (``--tables``) may not exist yet: its nearest existing parent is tried."""
    as_folder = folder or path.suffix.lower() == ".parquet"
    if path.is_dir() and not as_folder:
        raise UsageError(f"{option} {path}: is a folder, not a file")
    if path.exists() and not path.is_dir() and folder:
        raise UsageError(f"{option} {path}: is a file, not a folder")
    where = path if path.is_dir() else path.parent
    while folder and not where.exists() and where != where.parent:
        where = where.parent
    if not where.is_dir():
        raise UsageError(f"{option} {path}: no folder {where} to write it in")
    try:
        with tempfile.NamedTemporaryFile(dir=where, prefix=".storyline-check-"):
            pass
        if path.is_file():
            with path.open("ab"):
                pass
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot be written ({exc.strerror or exc})") from None


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
