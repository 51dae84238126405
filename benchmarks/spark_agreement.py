"""Agreement of the Spark job with the single-machine engine, through the CLI.

    python benchmarks/spark_agreement.py                 # UCI dev (6-hour windows), ECB+ dev
    python benchmarks/spark_agreement.py --fast --master local[2] --only uci

Each set is written as the JSONL a user would give both commands (id, text,
title, batch, source), then ``storyline cluster IN --out A`` and ``storyline
spark cluster IN --out B --master …`` run as real processes; the table gives
B³ F1 of each against gold and of one against the other, and the wall times.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import ecbplus, uci  # noqa: E402
from storyline.evaluate import score_clusters  # noqa: E402


def write_items(records, path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            row = {"id": r.id, "text": r.text, "title": r.title, "batch": r.batch,
                   "source": r.source, "published_at": r.published_at}
            fh.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")


def storyline(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "storyline.cli", *args], check=True)
    return time.perf_counter() - started


def stories(path: Path) -> dict[str, str]:
    return {row["id"]: row["story"] for row in map(json.loads, path.open(encoding="utf-8"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--fast", action="store_true", help="the fast preset (default: default)")
    parser.add_argument("--only", help="run only the sets whose name holds this")
    args = parser.parse_args()
    preset_args = ["--fast"] if args.fast else []
    sets = [d for d in (uci(6), ecbplus()) if d is not None
            and (not args.only or args.only in d.name)]
    print(f"{'set':<14} {'items':>6} {'single':>7} {'spark':>7} {'agree':>7} "
          f"{'single s':>9} {'spark s':>8}", flush=True)
    for data in sets:
        with tempfile.TemporaryDirectory(prefix="spark-agree-") as tmp:
            items, single, spark = (Path(tmp) / n for n in ("in.jsonl", "a.jsonl", "b.jsonl"))
            write_items(data.records, items)
            t_single = storyline("cluster", str(items), "--out", str(single), *preset_args)
            t_spark = storyline("spark", "cluster", str(items), "--out", str(spark),
                                "--master", args.master, *preset_args)
            a, b = stories(single), stories(spark)
        print(f"{data.name:<14} {len(a):6d} {score_clusters(a, data.gold).b3_f1:7.3f} "
              f"{score_clusters(b, data.gold).b3_f1:7.3f} {score_clusters(b, a).b3_f1:7.3f} "
              f"{t_single:9.0f} {t_spark:8.0f}", flush=True)


if __name__ == "__main__":
    main()
