"""The Spark job at scale, in local mode: wall time per million arrivals as cores double,
and the shuffle each stage writes.

    python benchmarks/spark_scale.py --arrivals 1000000 --master local[1] --master local[2]
    STORYLINE_SPARK_DRIVER_MEMORY=6g python benchmarks/spark_scale.py --arrivals 5000000 \
        --master local[2] --partitions 32     # 2g and 8 partitions run out of memory at 5 M

The stream is benchmarks/stream_gen.py's (UCI headlines with names and numbers
swapped per event, copies from many outlets, ``published_at`` on every
arrival), written once as JSONL; the job runs on it with ``--window 1d`` and
the fast preset for each ``--master``. Spark's event log gives each stage's
shuffle write; stages are grouped by the line of storyline.spark that ran them.

CPU seconds are the driver's and every process under it (the JVM, the Python
workers), sampled each second from /proc: on a shared machine they say more
than wall time. The load average is printed with each run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storyline.config import preset  # noqa: E402


def write_stream(arrivals: int, path: Path) -> None:
    from benchmarks.stream_gen import Stream

    with path.open("w", encoding="utf-8") as fh:
        for batch in Stream().batches(arrivals):
            for r in batch:
                fh.write(json.dumps({"id": r.id, "text": r.text, "source": r.source,
                                     "published_at": r.published_at}) + "\n")


def stages_by_phase(log_dir: Path) -> dict[str, dict[str, float]]:
    """Per phase of the job (the job description :func:`tag_phases` set): MB of
    shuffle written and stage seconds (submission to completion, summed over
    its stages; stages that overlap count twice), from the event log."""
    phase_of_stage: dict[int, str] = {}
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"shuffle_mb": 0.0, "seconds": 0.0})
    for log in sorted(p for p in log_dir.rglob("*") if p.is_file() and not p.name.endswith(".crc")):
        for line in log.open(encoding="utf-8"):
            event = json.loads(line)
            if event.get("Event") == "SparkListenerJobStart":
                phase = (event.get("Properties") or {}).get("spark.job.description", "other")
                for stage_id in event.get("Stage IDs", []):
                    phase_of_stage.setdefault(stage_id, phase)
            if event.get("Event") != "SparkListenerStageCompleted":
                continue
            info = event["Stage Info"]
            written = sum(int(a.get("Value", 0)) for a in info.get("Accumulables", [])
                          if a.get("Name") == "internal.metrics.shuffle.write.bytesWritten")
            stage = out[phase_of_stage.get(info["Stage ID"], "other")]
            stage["shuffle_mb"] += written / 1e6
            if info.get("Submission Time") and info.get("Completion Time"):
                stage["seconds"] += (info["Completion Time"] - info["Submission Time"]) / 1e3
    return {name: {k: round(v, 1) for k, v in stage.items()} for name, stage in sorted(out.items())}


def descendant_ticks() -> dict[int, int]:
    """utime + stime (clock ticks) of every live process under this one, from /proc."""
    parent_of: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the ")" closing the command: state ppid … utime stime.
        fields = stat[stat.rindex(")") + 2:].split()
        parent_of[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    me = os.getpid()
    out = {}
    for pid in ticks:
        node = pid
        while node not in (0, 1, me) and node in parent_of:
            node = parent_of[node]
        if node == me and pid != me:
            out[pid] = ticks[pid]
    return out


class TreeCpu:
    """CPU seconds of this process and its descendants while it runs, sampled
    each second: pyspark's daemon ignores SIGCHLD, so a Python worker that exits
    is charged to no parent and only sampling sees its time."""

    def __init__(self) -> None:
        import threading

        self.base = descendant_ticks()
        self.seen = dict(self.base)
        self.own = resource.getrusage(resource.RUSAGE_SELF)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.stopped.wait(1.0):
            self.seen.update(descendant_ticks())

    def stop(self) -> float:
        self.stopped.set()
        self.thread.join()
        self.seen.update(descendant_ticks())
        ticks = sum(t - self.base.get(pid, 0) for pid, t in self.seen.items())
        own = resource.getrusage(resource.RUSAGE_SELF)
        return (ticks / os.sysconf("SC_CLK_TCK") + own.ru_utime - self.own.ru_utime
                + own.ru_stime - self.own.ru_stime)


LINKING = [0.0]  # seconds in the driver's linking step (Linker.run), all runs so far

# The functions cluster_archive calls, in order, and the phase whose Spark jobs
# run from each call until the next (a localCheckpoint right after a call runs
# under that call's phase).
PHASES = [
    ("storyline.spark.job", "read_items", "1 read, normalise, window"),
    ("storyline.spark.copies", "with_signatures", "2a signatures"),
    ("storyline.spark.copies", "candidate_pairs", "2b copies: LSH pairs"),
    ("storyline.spark.copies", "components", "2c copies: components"),
    ("storyline.spark.features", "with_features", "3a embeddings, hashed counts"),
    ("storyline.spark.features", "document_frequencies", "3b global statistics"),
    ("storyline.spark.job", "_cluster_windows", "4a per-window clustering"),
    ("storyline.spark.job", "_windows", "4b window clocks"),
    ("storyline.spark.job", "_with_stories", "5a stories per item"),
    ("storyline.spark.outputs", "write_assignments", "5b write"),
]


def tag_phases() -> None:
    """Name each phase's Spark jobs (their description), and time the driver's
    sequential step, the job's Linker.run over the windows in time order."""
    import functools
    import importlib

    from pyspark import SparkContext

    from storyline.spark import job

    def tagged(fn, phase: str):  # noqa: ANN001, ANN202
        @functools.wraps(fn)
        def call(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            SparkContext.getOrCreate().setJobDescription(phase)
            return fn(*args, **kwargs)
        return call

    for module, name, phase in PHASES:
        mod = importlib.import_module(module)
        setattr(mod, name, tagged(getattr(mod, name), phase))

    from storyline.spark import copies

    find_copies = copies.find_copies

    @functools.wraps(find_copies)
    def replayed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        # Its pairs and components run inside; the replay per component runs lazily after.
        out = find_copies(*args, **kwargs)
        SparkContext.getOrCreate().setJobDescription("2d copies: replay per component")
        return out

    copies.find_copies = replayed

    class TimedLinker(job.Linker):
        def run(self, clusters):  # noqa: ANN001, ANN201
            SparkContext.getOrCreate().setJobDescription("4c linking (driver)")
            started = time.perf_counter()
            try:
                return super().run(clusters)
            finally:
                LINKING[0] += time.perf_counter() - started

    job.Linker = TimedLinker


def run(path: Path, master: str, window: str, partitions: int | None = None) -> dict:
    from storyline.spark import job, outputs
    from storyline.spark.session import spark_session

    with tempfile.TemporaryDirectory(prefix="spark-events-") as events:
        spark = spark_session(master, partitions, extra={"spark.eventLog.enabled": "true",
                                             "spark.eventLog.dir": events,
                                             "spark.eventLog.compress": "false",
                                             "spark.eventLog.rolling.enabled": "false"})
        spark_partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
        started, cpu, linking = time.perf_counter(), TreeCpu(), LINKING[0]
        result = job.cluster_archive(spark, path, preset("fast"), window)
        counts = outputs.write_assignments(result, path.with_suffix(".out.parquet"))
        seconds = time.perf_counter() - started
        cpu = cpu.stop()
        spark.stop()
        phases = stages_by_phase(Path(events))
    return {"master": master, "partitions": spark_partitions, "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu, 1),
            "load_average": [round(x, 1) for x in os.getloadavg()], **counts,
            "windows": len(result.windows), "linking_seconds": round(LINKING[0] - linking, 1),
            "phases": phases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=100_000)
    parser.add_argument("--master", action="append")
    parser.add_argument("--window", default="1d")
    parser.add_argument("--partitions", type=int,
                        help="shuffle partitions (default: the job's, 4 per local core)")
    args = parser.parse_args()
    # The job's own progress lines (the near-copy components' rounds) on stderr.
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("storyline.spark").setLevel(logging.INFO)
    tag_phases()
    with tempfile.TemporaryDirectory(prefix="spark-scale-") as tmp:
        path = Path(tmp) / "stream.jsonl"
        started = time.perf_counter()
        write_stream(args.arrivals, path)
        print(json.dumps({"arrivals": args.arrivals,
                          "stream_seconds": round(time.perf_counter() - started, 1),
                          "stream_mb": round(path.stat().st_size / 1e6, 1),
                          "load_average": [round(x, 1) for x in os.getloadavg()]}), flush=True)
        for master in args.master or ["local[1]", "local[2]"]:
            row = run(path, master, args.window, args.partitions)
            row["arrivals"] = args.arrivals
            row["seconds_per_million"] = round(row["seconds"] * 1e6 / args.arrivals, 1)
            row["cpu_seconds_per_million"] = round(row["cpu_seconds"] * 1e6 / args.arrivals, 1)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
