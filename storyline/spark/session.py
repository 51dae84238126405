"""The Spark session storyline's jobs run in, and the checks that Spark can start.

What a user gives (``--master``, ``--partitions``, ``JAVA_HOME``,
``STORYLINE_SPARK_DRIVER_MEMORY``) is checked before the JVM starts: a bad value is a
one-line :class:`UsageError` (exit 2), not a Java stack trace and exit 3. The JVM logs
only what is fatal (``-vv``: its errors too); Ctrl-C stops the job without py4j's
tracebacks (the command line exits 130).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import warnings
from pathlib import Path

from storyline.errors import UsageError

INSTALL_HINT = ("Spark is an optional extra: pip install 'storyline[spark]' (or ./setup.sh "
                "--spark) and a Java 17 runtime (Debian: apt-get install "
                "openjdk-17-jre-headless)")
MEMORY_ENV = "STORYLINE_SPARK_DRIVER_MEMORY"
MAX_PARTITIONS = 100_000
MIN_DRIVER_MB = 512  # Spark refuses a heap under 450 MB
JAVA_MAJOR = 17
LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
_LOCAL = re.compile(r"local(?:\[(\d+|\*)(?:,(\d+))?\])?")
_CLUSTER = re.compile(r"spark://[\w.-]+(?::\d+)?(?:,[\w.-]+(?::\d+)?)*|yarn|k8s://\S+"
                      r"|local-cluster\[\d+,\d+,\d+\]")
_MEMORY = re.compile(r"(\d+)([kmgt]?)", re.IGNORECASE)


def require_spark() -> None:
    """Raise a one-line UsageError when pyspark or Java is missing or unusable."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UsageError(f"pyspark is not installed. {INSTALL_HINT}") from None
    check_java()


def check_java() -> None:
    """A Java runtime where JAVA_HOME says (else on the PATH), of version 17 or later."""
    home = os.environ.get("JAVA_HOME")
    if home:
        java = Path(home) / "bin" / "java"
        if not (java.is_file() and os.access(java, os.X_OK)):
            raise UsageError(f"JAVA_HOME={home}: no bin/java there; point it at a Java "
                             f"{JAVA_MAJOR} runtime, or unset it to use java on the PATH")
    else:
        found = shutil.which("java")
        if found is None:
            raise UsageError(f"no Java runtime found (java, JAVA_HOME). {INSTALL_HINT}")
        java = Path(found)
    try:
        shown = subprocess.run([str(java), "-version"], capture_output=True, text=True,
                               timeout=60).stderr
    except (OSError, subprocess.SubprocessError) as exc:
        raise UsageError(f"{java} does not run ({exc}); Spark needs a Java {JAVA_MAJOR} "
                         "runtime") from None
    version = re.search(r'version "(\d+)(?:\.(\d+))?', shown)
    if version is None:
        raise UsageError(f"{java} -version says no version; Spark needs Java {JAVA_MAJOR}")
    major = int(version.group(1))
    major = int(version.group(2) or 0) if major == 1 else major  # 1.8 is Java 8
    if major < JAVA_MAJOR:
        raise UsageError(f"{java} is Java {major}; Spark needs Java {JAVA_MAJOR} or later "
                         "(set JAVA_HOME to one)")


def check_master(master: str) -> None:
    """A master Spark takes: local, local[N], local[*], local[N,F], spark://HOST:PORT,
    yarn, k8s://URL."""
    local = _LOCAL.fullmatch(master)
    if local and local.group(1) != "0":
        return
    if _CLUSTER.fullmatch(master):
        return
    raise UsageError(f"--master {master!r}: give local[2], local[*], spark://host:7077, yarn "
                     "or k8s://https://host:port")


def check_partitions(partitions: int | None) -> None:
    if partitions is not None and not 1 <= partitions <= MAX_PARTITIONS:
        raise UsageError(f"--partitions {partitions}: give a count from 1 to "
                         f"{MAX_PARTITIONS:,}")


def driver_memory() -> str:
    """The driver's heap from STORYLINE_SPARK_DRIVER_MEMORY (default 2g), as Java takes
    it: a number with k, m, g or t, at least 512m."""
    value = os.environ.get(MEMORY_ENV, "").strip() or "2g"
    found = _MEMORY.fullmatch(value)
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    size = int(found.group(1)) * scale[found.group(2).lower()] if found else 0
    if size < MIN_DRIVER_MB << 20 or size >= 1 << 50:
        raise UsageError(f"{MEMORY_ENV}={value!r}: give the driver's memory as 2g, 6g or "
                         f"4096m (at least {MIN_DRIVER_MB}m)")
    return value


def check_settings(master: str, partitions: int | None) -> None:
    """Every check a session makes before the JVM starts (UsageError, exit 2)."""
    check_master(master)
    check_partitions(partitions)
    driver_memory()
    require_spark()


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
    check_settings(master, partitions)
    # pyspark 4.3 warns on every pandas 3 import; the UDFs here run on it (tested).
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    debug = logging.getLogger().isEnabledFor(logging.DEBUG)
    quiet_py4j(debug)
    extra = dict(extra or {})
    # The JVM's own log: what is fatal only (no banner, no WARN lines at start).
    java_options = (f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()} "
                    f"-Dstoryline.spark.log={'error' if debug else 'fatal'}")
    java_options += f" {extra.pop('spark.driver.extraJavaOptions', '')}".rstrip()
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
        .config("spark.driver.memory", driver_memory())
        .config("spark.driver.extraJavaOptions", java_options)
    )
    if cores:
        # A local run needs no name lookup of this host (slow where DNS is absent).
        builder = builder.config("spark.driver.host", "127.0.0.1") \
                         .config("spark.driver.bindAddress", "127.0.0.1")
    for key, value in extra.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001  (the JVM did not start: say so in one line)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"Spark did not start with --master {master}: {first[:300]}") from None
    if threading.current_thread() is threading.main_thread():
        # pyspark's own handler calls the JVM from inside the signal handler, in the middle
        # of another call (py4j's "reentrant call" tracebacks): a plain KeyboardInterrupt
        # instead, and stopping the session cancels the jobs.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return spark


class _NotPy4J(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return f"{os.sep}py4j{os.sep}" not in record.pathname


_PY4J_FILTER = _NotPy4J()


def quiet_py4j(debug: bool = False) -> None:
    """py4j logs its broken connections (a Ctrl-C, a JVM that went) with tracebacks, some
    on the root logger: dropped unless -vv."""
    logging.getLogger("py4j").setLevel(logging.DEBUG if debug else logging.CRITICAL)
    if not debug:
        logging.getLogger().addFilter(_PY4J_FILTER)
