"""The Spark session storyline's jobs run in, and the check that Spark is there."""

from __future__ import annotations

import os
import re
import shutil
import sys
import warnings

from storyline.errors import UsageError

INSTALL_HINT = ("Spark is an optional extra: pip install 'storyline[spark]' (or ./setup.sh "
                "--spark) and a Java 17 runtime (Debian: apt-get install "
                "openjdk-17-jre-headless)")


def require_spark() -> None:
    """Raise a one-line UsageError when pyspark or Java is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UsageError(f"pyspark is not installed. {INSTALL_HINT}") from None
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise UsageError(f"no Java runtime found (java, JAVA_HOME). {INSTALL_HINT}")


def local_cores(master: str) -> int | None:
    """The cores of a local[n] master (None for a cluster master)."""
    if master == "local":
        return 1
    found = re.fullmatch(r"local\[(\d+|\*)\](?:,\d+)?|local\[(\d+|\*),\d+\]", master)
    if not found:
        return None
    n = found.group(1) or found.group(2)
    return os.cpu_count() or 1 if n == "*" else int(n)


def spark_session(master: str = "local[2]", partitions: int | None = None,
                  app_name: str = "storyline", extra: dict[str, str] | None = None):
    """A session for ``master``; executors run this Python (the one with storyline).
    ``extra``: more Spark settings (the scale benchmark's event log)."""
    require_spark()
    # pyspark 4.3 warns on every pandas 3 import; the UDFs here run on it (tested).
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    cores = local_cores(master)
    shuffle = partitions or (4 * cores if cores else 200)
    builder = (
        SparkSession.builder.master(master).appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(shuffle))
        .config("spark.default.parallelism", str(shuffle))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", os.environ.get("STORYLINE_SPARK_DRIVER_MEMORY", "2g"))
    )
    if cores:
        # A local run needs no name lookup of this host (slow where DNS is absent).
        builder = builder.config("spark.driver.host", "127.0.0.1") \
                         .config("spark.driver.bindAddress", "127.0.0.1")
    for key, value in (extra or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
