"""The Spark job at scale, in local mode: wall time per million arrivals as cores double,
and the shuffle each stage writes.

    python benchmarks/spark_scale.py --arrivals 1000000 --master local[1] --master local[2]

The stream is benchmarks/stream_gen.py's (UCI headlines with names and numbers
swapped per event, copies from many outlets, ``published_at`` on every
arrival), written once as JSONL; the job runs on it with ``--window 1d`` and
the fast preset for each ``--master``. Spark's event log gives each stage's
shuffle write; stages are grouped by the line of storyline.spark that ran them.
"""

from __future__ import annotations

import argparse
import json
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


def shuffle_by_stage(log_dir: Path) -> dict[str, float]:
    """MB of shuffle written per stage name (its call site), from the event log."""
    out: dict[str, float] = defaultdict(float)
    for log in log_dir.iterdir():
        for line in log.open(encoding="utf-8"):
            event = json.loads(line)
            if event.get("Event") != "SparkListenerStageCompleted":
                continue
            info = event["Stage Info"]
            written = sum(int(a.get("Value", 0)) for a in info.get("Accumulables", [])
                          if a.get("Name") == "internal.metrics.shuffle.write.bytesWritten")
            if written:
                out[info["Stage Name"]] += written / 1e6
    return dict(out)


def run(path: Path, master: str, window: str) -> dict:
    from storyline.spark.job import cluster_archive
    from storyline.spark.outputs import write_assignments
    from storyline.spark.session import spark_session

    with tempfile.TemporaryDirectory(prefix="spark-events-") as events:
        spark = spark_session(master, extra={"spark.eventLog.enabled": "true",
                                             "spark.eventLog.dir": events})
        started = time.perf_counter()
        result = cluster_archive(spark, path, preset("fast"), window)
        counts = write_assignments(result, path.with_suffix(".out.parquet"))
        seconds = time.perf_counter() - started
        spark.stop()
        shuffle = shuffle_by_stage(Path(events))
    return {"master": master, "seconds": round(seconds, 1), **counts,
            "windows": len(result.windows), "shuffle_mb": shuffle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=100_000)
    parser.add_argument("--master", action="append")
    parser.add_argument("--window", default="1d")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spark-scale-") as tmp:
        path = Path(tmp) / "stream.jsonl"
        write_stream(args.arrivals, path)
        for master in args.master or ["local[1]", "local[2]"]:
            row = run(path, master, args.window)
            row["seconds_per_million"] = round(row["seconds"] * 1e6 / args.arrivals, 1)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
