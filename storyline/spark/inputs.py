"""Stage 1–2 on Spark: read JSONL or Parquet in partitions and normalise.

Every record gets ``ord``, its place in the input (files in name order, lines
in file order), counted without a single-partition step: rows are numbered
within each partition and the partitions' counts give the offsets. Lines are
decoded, parsed and normalised by the engine's own code (:mod:`storyline.pipeline.lines`,
:mod:`storyline.pipeline.read`, :mod:`storyline.pipeline.normalize`) inside pandas UDFs:
a UTF-8 file, or one in an encoding of one byte a character (``--encoding latin-1``), is
cut into lines by Spark and each line decoded there; one that must be decoded before it
can be cut (UTF-16 after its byte order mark, ``--encoding utf-16``) is read whole by one
task, as the local reader reads it.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd

from storyline.errors import InputError
from storyline.pipeline.lines import (
    JSON_LINE_CHARS,
    cut_before_decoding,
    is_utf8,
    mark_problem,
)
from storyline.pipeline.read import FIELDS

RECORD_SCHEMA = ("text string, id string, batch string, source string, url string, "
                 "published_at string, title string, error string, blank boolean")
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
# A Parquet row is checked as a JSON object of its fields: each field is held to what a
# line may hold, the object to all of them.
ROW_CHARS = len(FIELDS) * JSON_LINE_CHARS
EMPTY_FILE = "empty file: no snippets"
LINES_PER_BATCH = 10_000  # rows a task that reads a file whole hands on at a time


@dataclass
class Inputs:
    """What IN stands for: its format, its files in name order, and what a folder held
    that is not read (named on standard error, as ``storyline ingest`` names it)."""

    path: Path
    kind: str
    files: list[Path]
    skipped: list[str] = field(default_factory=list)
    encoding: str | None = None  # of the JSONL files (--encoding); None: UTF-8


@dataclass(frozen=True)
class Coding:
    """How a JSONL file's bytes become lines: cut by Spark at its line endings, each line
    transcoded from ``encoding`` (None: UTF-8, decoded as it is), or (``whole``) read
    whole by one task and decoded as :func:`storyline.pipeline.lines.numbered_lines`
    decodes a file (``encoding`` None: UTF-16 after its byte order mark); ``named`` is
    the encoding as an error names it."""

    whole: bool
    encoding: str | None
    named: str


def coding_of(path: Path, encoding: str | None) -> Coding:
    """How ``path`` is read in ``encoding`` (None: UTF-8, or UTF-16 where the file starts
    with its byte order mark, as ``storyline ingest`` reads it)."""
    with path.open("rb") as stream:
        start = stream.read(4)
    if is_utf8(encoding):
        if start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return Coding(True, None, "UTF-16")
        return Coding(False, None, "UTF-8")
    assert encoding is not None
    # Another encoding's byte order mark, or none where the encoding needs one: the
    # local reader's error at line 1 (pipeline.lines.numbered_lines), before Spark reads.
    if problem := mark_problem(start, encoding):
        raise InputError(str(path), 1, problem)
    return Coding(not cut_before_decoding(encoding), encoding, encoding)


def input_files(path: Path, encoding: str | None = None) -> Inputs:
    """The format ("jsonl" or "parquet") and the files of IN (a file or a folder; a
    folder named ``*.parquet`` is one Parquet input, as Spark writes one). In a folder,
    names starting with ``.`` or ``_`` are Spark's and Hadoop's own (``_SUCCESS``)."""
    if not path.exists():
        raise InputError(str(path), None, "no such file or folder")
    skipped: list[str] = []
    if path.is_dir() and path.suffix.lower() != ".parquet":
        files = []
        for entry in sorted(path.iterdir()):
            if entry.name.startswith((".", "_")):
                continue
            if entry.suffix.lower() in SUFFIXES and (entry.is_file() or
                                                     entry.suffix.lower() == ".parquet"):
                files.append(entry)
            elif entry.is_dir():
                skipped.append(f"{entry}: a folder (folders are not read recursively)")
            else:
                skipped.append(f"{entry}: not a .jsonl, .ndjson or .parquet file")
        if not files:
            raise InputError(str(path), None, "no .jsonl or .parquet files in this folder")
    else:
        files = [path]
    kinds = {"parquet" if f.is_dir() else SUFFIXES.get(f.suffix.lower(), "jsonl")
             for f in files}
    if len(kinds) > 1:
        raise InputError(str(path), None, "mixes JSONL and Parquet files: use one format")
    return Inputs(path, kinds.pop(), files, skipped, encoding)


def numbered(df, order_cols: list[str], name: str = "ord"):
    """``df`` sorted by ``order_cols`` with a consecutive 0-based ``name`` column."""
    from pyspark.sql import functions as F

    ordered = df.sort(*order_cols).withColumn("_pid", F.spark_partition_id()) \
                .withColumn("_mono", F.monotonically_increasing_id()).localCheckpoint()
    counts = {r["_pid"]: r["count"] for r in ordered.groupBy("_pid").count().collect()}
    if not counts:  # no rows: no map of offsets to build
        return ordered.withColumn(name, F.lit(None).cast("long")).drop("_pid", "_mono")
    offsets, total = {}, 0
    for pid in sorted(counts):
        offsets[pid] = total
        total += counts[pid]
    start = F.create_map(*[x for pid, off in offsets.items() for x in (F.lit(pid), F.lit(off))])
    low = F.col("_mono") - F.shiftleft(F.col("_pid").cast("long"), 33)
    return ordered.withColumn(name, start[F.col("_pid")] + low).drop("_pid", "_mono")


def read_records(spark, inputs: Inputs):
    """Records of IN with ord, origin and line, each checked as ``storyline ingest``
    checks a line (``error`` says why one is bad; blank lines are skipped); and the
    JSONL files that hold no record."""
    from pyspark.sql import functions as F

    if inputs.kind == "parquet":
        rows, order, parse = _parquet_rows(spark, inputs), ["origin", "_pos"], parse_rows
    else:
        codings = [coding_of(f, inputs.encoding) for f in inputs.files]
        rows, order = _text_lines(spark, inputs.files, codings), ["_file", "_pos"]
        parse = parse_lines(codings)
    rows = numbered(rows, order, "_n")
    first = rows.groupBy("origin").agg(F.min("_n").alias("_first"))
    rows = rows.join(F.broadcast(first), "origin") \
               .withColumn("line", F.col("_n") - F.col("_first") + 1)
    # A small file is one partition: spread the lines over the cores before the UDFs.
    rows = rows.repartition(spark.sparkContext.defaultParallelism)
    parsed = rows.withColumn("r", parse("raw", "line", "_file")) \
                 .select(*order, *([] if "origin" in order else ["origin"]), "line", "r.*")
    parsed = parsed.where(~F.col("blank")).drop("blank")
    records = numbered(parsed, order).drop("_file", "_pos")
    present = [r["origin"] for r in records.select("origin").distinct().collect()]
    if inputs.kind == "parquet":
        if not present:
            raise InputError(str(inputs.path), None, "no records")
        # Spark names a Parquet file by its URI: messages and the store name its path.
        paths = F.create_map(*[x for o in present for x in (F.lit(o), F.lit(origin_path(o)))])
        return records.withColumn("origin", paths[F.col("origin")]), []
    return records, [str(f) for f in inputs.files if str(f) not in set(present)]


def _text_lines(spark, files: list[Path], codings: list[Coding]):
    """Each file's lines as bytes: cut by Spark and decoded in the UDF, as the engine
    decodes them, or (a file that must be decoded first) read whole and transcoded to
    UTF-8 by one task."""
    from pyspark.sql import functions as F

    parts = []
    for i, (f, coding) in enumerate(zip(files, codings, strict=True)):
        if coding.whole:
            lines = _whole_file_lines(spark, f, coding.encoding)
        else:
            lines = spark.read.text(str(f)).select(
                F.monotonically_increasing_id().alias("_pos"),
                F.col("value").cast("binary").alias("raw"))
        parts.append(lines.select(F.lit(i).alias("_file"), F.lit(str(f)).alias("origin"),
                                  "_pos", "raw"))
    lines = parts[0]
    for part in parts[1:]:
        lines = lines.unionByName(part)
    return lines


def _whole_file_lines(spark, path: Path, encoding: str | None):
    """A file that cannot be cut into lines before it is decoded, read by one task: its
    lines (``_pos`` their numbers) transcoded to UTF-8 by the local reader's code, a line
    over the limit a null (Spark holds a file of at most 2 GB this way)."""
    def lines(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            for content in batch["content"]:
                yield from _decoded_lines(bytes(content), encoding)

    return spark.read.format("binaryFile").load(str(path)).select("content") \
                .mapInPandas(lines, "_pos long, raw binary")


def _decoded_lines(content: bytes, encoding: str | None) -> Iterator[pd.DataFrame]:
    """The numbered lines of a file's ``content`` as UTF-8 bytes, as
    :func:`storyline.pipeline.lines.numbered_lines` cuts them, a batch at a time."""
    import io

    from storyline.pipeline.lines import raw_lines, utf8_stream

    source, _ = utf8_stream(io.BytesIO(content), encoding)  # type: ignore[arg-type]
    numbers: list[int] = []
    raws: list[bytes | None] = []
    for number, raw in enumerate(raw_lines(source, JSON_LINE_CHARS * 4), 1):
        numbers.append(number)
        raws.append(raw)
        if len(raws) >= LINES_PER_BATCH:
            yield pd.DataFrame({"_pos": numbers, "raw": raws})
            numbers, raws = [], []
    if raws:
        yield pd.DataFrame({"_pos": numbers, "raw": raws})


def _parquet_rows(spark, inputs: Inputs):
    """Each row's fields as one JSON object (bytes), checked as a JSON line is: a
    column of the wrong type (a struct, a list) is a bad record, not a string."""
    from pyspark.sql import functions as F

    raw = spark.read.parquet(*[str(f) for f in inputs.files])
    present = [c for c in FIELDS if c in raw.columns]
    if "text" not in present and "title" not in present:
        raise InputError(str(inputs.path), None, "no column 'text' nor 'title'")
    return raw.select(F.input_file_name().alias("origin"), F.lit(0).alias("_file"),
                      F.monotonically_increasing_id().alias("_pos"),
                      F.to_json(F.struct(*present)).cast("binary").alias("raw"))


def _parse_rows(raws: pd.Series, lines: pd.Series, files: pd.Series) -> pd.DataFrame:
    return _parsed(raws, lines, files, ROW_CHARS)


def _decoded(raw: bytes | None, line: int, limit: int, coding: Coding | None
             ) -> str | InputError:
    """A line (its bytes as Spark or a whole-file task handed them on) as text, or the
    error in its place, as the local reader decodes it (a Parquet row, ``coding`` None,
    is JSON Spark wrote)."""
    from storyline.pipeline.lines import NAME_ENCODING, decode_line, too_long, transcode_line

    if coding is None:
        return decode_line(bytes(raw or b""), line, "", limit)
    if raw is None:  # over the limit: dropped as the file was read
        return InputError("", line, too_long(limit))
    raw = bytes(raw)
    if coding.encoding is not None and not coding.whole:
        raw = transcode_line(raw, coding.encoding)
    return decode_line(raw, line, "", limit, coding.named, NAME_ENCODING)


def _parsed(raws: pd.Series, lines: pd.Series, files: pd.Series, limit: int,
            codings: list[Coding] | None = None) -> pd.DataFrame:
    """Each line decoded, parsed and checked by the engine's reader (its functions, not a
    copy): the fields of a good record, the message of a bad one, or a blank line."""
    from storyline.pipeline.read import _check_fields, _record, json_value

    columns = [c.split()[0] for c in RECORD_SCHEMA.split(", ")]
    rows = []
    for raw, line, file in zip(raws, lines, files):
        row = dict.fromkeys(columns)
        row["blank"] = False
        try:
            value = _decoded(raw, int(line), limit, codings[int(file)] if codings else None)
            if isinstance(value, InputError):
                raise value
            if not value.strip():
                row["blank"] = True
                rows.append(row)
                continue
            obj = json_value(value, "", None)
            if not isinstance(obj, dict):
                raise InputError("", None, "expected a JSON object")
            _check_fields(obj, "", 0)
            # An unreadable date costs only that field, as in the engine (no warning from an
            # executor: the driver has no line to show it on).
            record = _record(obj, "", "", 0, _ignore_warning)
            row.update(text=record.text, id=record.id, batch=record.batch or None,
                       source=record.source, url=record.url,
                       published_at=record.published_at, title=record.title)
        except InputError as exc:
            row["error"] = exc.message
        except ValueError as exc:
            row["error"] = str(exc)
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


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


def parse_lines(codings: list[Coding]):
    """The UDF (raw, line, _file) that parses a JSONL line, each file in its coding."""
    from pyspark.sql.functions import pandas_udf

    def parse(raws: pd.Series, lines: pd.Series, files: pd.Series) -> pd.DataFrame:
        return _parsed(raws, lines, files, JSON_LINE_CHARS, codings)

    return pandas_udf(parse, RECORD_SCHEMA)


def parse_rows(raw, line, file):
    from pyspark.sql.functions import pandas_udf

    return pandas_udf(_parse_rows, RECORD_SCHEMA)(raw, line, file)


def normalise(df):
    """Add norm, key, truncated (the engine's normalise) and epoch (published_at, UTC)."""
    from pyspark.sql.functions import pandas_udf

    norm = pandas_udf(_normalise, "norm string, key string, truncated boolean")
    epoch = pandas_udf(_epochs, "double")
    return df.withColumn("n", norm("text", "title")).withColumn("epoch", epoch("published_at")) \
             .select("*", "n.*").drop("n")


def first_error(df, inputs: Inputs, empty: list[str]) -> InputError | None:
    """What ``storyline ingest`` would stop at first: the first bad record (parse error or
    no text left after cleaning), or an empty file before the file holding it."""
    from pyspark.sql import functions as F

    bad = df.where(F.col("error").isNotNull() | (F.col("norm") == "")) \
            .select("origin", "line", "error", "ord").orderBy("ord").limit(1).collect()
    rank = {str(f): i for i, f in enumerate(inputs.files)}
    if empty and (not bad or rank[empty[0]] < rank.get(bad[0]["origin"], len(rank))):
        return InputError(empty[0], None, EMPTY_FILE)
    if not bad:
        return None
    row = bad[0]
    return InputError(row["origin"], row["line"],
                      row["error"] or "no text left after cleaning")


def origin_path(origin: str) -> str:
    """A file as messages name it: a path, not the URI Spark names a Parquet file by."""
    return unquote(urlparse(origin).path) if origin.startswith("file:") else origin


def _ignore_warning(warning: Exception) -> None:
    """Executors drop an unreadable date without a word (see _parsed)."""
