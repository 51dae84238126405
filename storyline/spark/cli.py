"""``storyline spark``: the archive jobs. Importing this module imports no Spark,
so the default install starts without pyspark and says how to add it."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from storyline.options import EncodingOption
from storyline.spark.session import INSTALL_HINT

spark_app = typer.Typer(
    help="Backfill an archive on Apache Spark, then keep going online. "
    + INSTALL_HINT + ".",  # the CLI's help has no rich markup to escape
    no_args_is_help=True,
)

MasterOption = Annotated[str, typer.Option(
    "--master", help="Spark master: local[2], local[*], spark://host:7077, yarn.")]
WindowOption = Annotated[Optional[str], typer.Option(
    "--window", help="Time windows of published_at (6h, 1d, 1w) [default: each item's "
    "batch field, as `storyline cluster`].", show_default=False)]
FastOption = Annotated[bool, typer.Option("--fast", help="Use the fast preset (static model).")]
PresetOption = Annotated[Optional[str], typer.Option(
    "--preset", help="Configuration: default, fast, minilm.", show_default=False)]
ModelOption = Annotated[Optional[str], typer.Option("--model", help="Encoder (as storyline "
                                                    "cluster).")]
PartitionsOption = Annotated[Optional[int], typer.Option(
    "--partitions", help="Shuffle partitions [default: 4 per local core, 200 on a cluster].",
    show_default=False)]


def _config(fast: bool, preset_name: str | None, model: str | None):
    from storyline.config import preset
    from storyline.errors import UsageError

    try:
        return preset("fast" if fast else preset_name or "default", model=model)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


@contextmanager
def _stoppable() -> Iterator[None]:
    """Ctrl-C stops the command quietly: 'stopped' and exit 130, as `watch --once`."""
    try:
        yield
    except KeyboardInterrupt:
        from storyline.spark.session import quiet_py4j

        quiet_py4j()
        typer.echo("stopped", err=True)
        raise typer.Exit(130) from None


def _before_spark(input_path: Path, master: str, partitions: int | None) -> None:
    """What can be checked before Spark starts (a minute's work saved where it fails):
    the settings, the input; what a folder holds that is not read is named."""
    from rich.console import Console
    from rich.markup import escape

    from storyline.spark.inputs import input_files
    from storyline.spark.session import check_settings

    check_settings(master, partitions)
    err = Console(stderr=True)
    for message in input_files(input_path).skipped:
        err.print(f"[yellow]not read:[/] {escape(message)}", soft_wrap=True)


def _run(input_path: Path, master: str, window: str | None, config, partitions: int | None,
         encoding: str | None):
    """Start Spark and run the job (a StorylineError reaches the user in one line
    through the command line's reporter)."""
    from storyline.spark.job import cluster_archive
    from storyline.spark.session import spark_session

    spark = spark_session(master, partitions)
    try:
        return spark, cluster_archive(spark, input_path, config, window, encoding)
    except BaseException:
        spark.stop()
        raise


@spark_app.command("cluster")
def cluster(
    input_path: Annotated[Path, typer.Argument(metavar="IN.jsonl|IN.parquet|DIR",
                                               help="Items: id, text, optional batch, source, "
                                               "url, published_at, title.")],
    output: Annotated[Path, typer.Option("--out", help="OUT.jsonl (in input order) or "
                                         "OUT.parquet: id, story, duplicate_of per item.")],
    master: MasterOption = "local[2]",
    window: WindowOption = None,
    fast: FastOption = False,
    preset_name: PresetOption = None,
    model: ModelOption = None,
    tables: Annotated[Optional[Path], typer.Option(
        "--tables", help="Also write stories/, snippets/ and copies/ Parquet tables here.",
        show_default=False)] = None,
    partitions: PartitionsOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Cluster an archive on Spark; writes what `storyline cluster` writes."""
    from rich.console import Console

    from storyline.spark.outputs import check_writable, write_assignments, write_tables

    config = _config(fast, preset_name, model)
    check_writable(output, "--out")
    if tables is not None:
        check_writable(tables, "--tables", folder=True)
    with _stoppable():
        _before_spark(input_path, master, partitions)
        spark, run = _run(input_path, master, window, config, partitions, encoding)
        try:
            counts = write_assignments(run, output)
            if tables is not None:
                write_tables(spark, run, tables)
        finally:
            spark.stop()
    Console(stderr=True).print(
        f"{counts['items']} items → {counts['stories']} stories, {counts['duplicates']} "
        f"duplicates; wrote {output}")


@spark_app.command("backfill")
def backfill(
    archive: Annotated[Path, typer.Argument(metavar="ARCHIVE", help="JSONL or Parquet "
                                            "file or folder.")],
    db: Annotated[str, typer.Option("--db", help="A new store (a file path) for `storyline "
                                    "ingest` and `serve` to continue from.")],
    master: MasterOption = "local[2]",
    window: WindowOption = None,
    fast: FastOption = False,
    preset_name: PresetOption = None,
    model: ModelOption = None,
    partitions: PartitionsOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Cluster an archive on Spark into a new store."""
    from rich.console import Console

    from storyline.spark.backfill import backfill as write_store
    from storyline.spark.backfill import check_empty
    from storyline.store import open_store

    config = _config(fast, preset_name, model)
    with _stoppable():
        _before_spark(archive, master, partitions)
        store = open_store(db)  # opened (and checked empty) before the job, not after it
        try:
            check_empty(store)
            spark, run = _run(archive, master, window, config, partitions, encoding)
            try:
                counts = write_store(run, store, config)
            finally:
                spark.stop()
        finally:
            store.close()
    Console(stderr=True).print(
        f"{counts['items']} items in {counts['batches']} batches → {counts['snippets']} "
        f"snippets, {counts['stories']} stories; wrote {db}")
