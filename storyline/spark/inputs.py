"""Stage 1–2 on Spark: read JSONL or Parquet in partitions and normalise.

Every record gets ``ord``, its place in the input (files in name order, lines
in file order), counted without a single-partition step: rows are numbered
within each partition and the partitions' counts give the offsets. Lines are
parsed and normalised by the engine's own code (:mod:`storyline.pipeline.read`,
:mod:`storyline.pipeline.normalize`) inside pandas UDFs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from storyline.errors import InputError
from storyline.pipeline.read import FIELDS

RECORD_SCHEMA = ("text string, id string, batch string, source string, url string, "
                 "published_at string, title string, error string")


def input_files(path: Path) -> tuple[str, list[Path]]:
    """The format ("jsonl" or "parquet") and the files of IN (a file or a folder)."""
    if not path.exists():
        raise InputError(str(path), None, "no such file or folder")
    suffixes = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        if not files:
            raise InputError(str(path), None, "no .jsonl or .parquet files in this folder")
    else:
        files = [path]
    kinds = {suffixes.get(f.suffix.lower(), "jsonl") for f in files}
    if len(kinds) > 1:
        raise InputError(str(path), None, "mixes JSONL and Parquet files: use one format")
    return kinds.pop(), files


def numbered(df, order_cols: list[str], name: str = "ord"):
    """``df`` sorted by ``order_cols`` with a consecutive 0-based ``name`` column."""
    from pyspark.sql import functions as F

    ordered = df.sort(*order_cols).withColumn("_pid", F.spark_partition_id()) \
                .withColumn("_mono", F.monotonically_increasing_id()).localCheckpoint()
    counts = {r["_pid"]: r["count"] for r in ordered.groupBy("_pid").count().collect()}
    offsets, total = {}, 0
    for pid in sorted(counts):
        offsets[pid] = total
        total += counts[pid]
    start = F.create_map(*[x for pid, off in offsets.items() for x in (F.lit(pid), F.lit(off))])
    low = F.col("_mono") - F.shiftleft(F.col("_pid").cast("long"), 33)
    return ordered.withColumn(name, start[F.col("_pid")] + low).drop("_pid", "_mono")


def read_records(spark, path: Path):
    """Records of IN with ord, origin and line; bad lines raise InputError."""
    from pyspark.sql import functions as F

    kind, files = input_files(path)
    if kind == "parquet":
        raw = spark.read.parquet(*[str(f) for f in files])
        missing = {"text", "title"} - set(raw.columns)
        if len(missing) == 2:
            raise InputError(str(path), None, "no column 'text' nor 'title'")
        cols = [F.col(c).cast("string").alias(c) if c in raw.columns
                else F.lit(None).cast("string").alias(c) for c in FIELDS]
        df = raw.select(*cols, F.input_file_name().alias("origin"),
                        F.monotonically_increasing_id().alias("_pos"))
        df = numbered(df.withColumn("line", F.lit(None).cast("long")), ["origin", "_pos"])
        return df.withColumn("error", F.lit(None).cast("string")).drop("_pos")
    parts = [spark.read.text(str(f)).select(F.lit(i).alias("_file"), F.lit(str(f)).alias("origin"),
                                             F.monotonically_increasing_id().alias("_pos"),
                                             F.col("value"))
             for i, f in enumerate(files)]
    lines = parts[0]
    for part in parts[1:]:
        lines = lines.unionByName(part)
    lines = numbered(lines, ["_file", "_pos"], "_n")
    first = lines.groupBy("_file").agg(F.min("_n").alias("_first"))
    lines = lines.join(F.broadcast(first), "_file") \
                 .withColumn("line", F.col("_n") - F.col("_first") + 1)
    # A small file is one partition: spread the lines over the cores before the UDFs.
    lines = lines.where(F.trim("value") != "") \
                 .repartition(spark.sparkContext.defaultParallelism)
    parsed = lines.withColumn("r", parse_lines("value")).select(
        "_file", "_pos", "origin", "line", "r.*")
    return numbered(parsed, ["_file", "_pos"]).drop("_file", "_pos")


def _parse_lines(values: pd.Series) -> pd.DataFrame:
    from storyline.pipeline.read import _record, json_value

    rows = []
    for value in values:
        row = dict.fromkeys(("text", "id", "batch", "source", "url", "published_at", "title"))
        try:
            obj = json_value(value, "", None)
            if not isinstance(obj, dict):
                raise ValueError("expected a JSON object")
            # An unreadable date costs only that field, as in the engine (no warning from an
            # executor: the driver has no line to show it on).
            record = _record(obj, "", "", 0, _ignore_warning)
            row.update(text=record.text, id=record.id, batch=record.batch or None,
                       source=record.source, url=record.url,
                       published_at=record.published_at, title=record.title, error=None)
        except InputError as exc:
            row["error"] = exc.message
        except ValueError as exc:
            row["error"] = str(exc)
        rows.append(row)
    return pd.DataFrame(rows, columns=[c.split()[0] for c in RECORD_SCHEMA.split(", ")])


def _normalise(text: pd.Series, title: pd.Series) -> pd.DataFrame:
    from storyline.pipeline.normalize import normalize
    from storyline.types import Record

    rows = []
    for t, h in zip(text, title):
        t = t if isinstance(t, str) else ""
        snippet = normalize(Record(text=t, batch="", title=h if isinstance(h, str) else None))
        rows.append((snippet.text, snippet.key, snippet.truncated))
    return pd.DataFrame(rows, columns=["norm", "key", "truncated"])


def _epochs(published: pd.Series) -> pd.Series:
    from storyline.store.sqlite import parse_clock

    out = []
    for value in published:
        clock = parse_clock(value) if isinstance(value, str) else None
        out.append(clock.timestamp() if clock is not None else None)
    return pd.Series(out, dtype="float64")


def parse_lines(col):
    from pyspark.sql.functions import pandas_udf

    return pandas_udf(_parse_lines, RECORD_SCHEMA)(col)


def normalise(df):
    """Add norm, key, truncated (the engine's normalise) and epoch (published_at, UTC)."""
    from pyspark.sql.functions import pandas_udf

    norm = pandas_udf(_normalise, "norm string, key string, truncated boolean")
    epoch = pandas_udf(_epochs, "double")
    return df.withColumn("n", norm("text", "title")).withColumn("epoch", epoch("published_at")) \
             .select("*", "n.*").drop("n")


def first_error(df) -> InputError | None:
    """The first bad record (parse error or no text left after cleaning), if any."""
    from pyspark.sql import functions as F

    bad = df.where(F.col("error").isNotNull() | (F.col("norm") == "")) \
            .select("origin", "line", "error", "ord").orderBy("ord").limit(1).collect()
    if not bad:
        return None
    row = bad[0]
    return InputError(row["origin"], row["line"], row["error"] or "no text left after cleaning")


def _ignore_warning(warning: Exception) -> None:
    """Executors drop an unreadable date without a word (see _parse_lines)."""
