"""Hand-over: backfill the first 80 % of a stream on Spark, ingest the rest online.

    python benchmarks/spark_handover.py [--fast] [--master local[2]] [--share 0.8]

The stream is UCI News dev in 6-hour batches (benchmarks.datasets.uci). The
first ``--share`` of its batches go through ``storyline spark backfill`` into a
new store, the remaining batches through ``storyline ingest`` on that store,
one file a batch, as the online engine would receive them. The stories of every
arrival are then scored (B³) against a single-machine run over the whole
stream (``storyline cluster``) and against gold.
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

from benchmarks.datasets import uci  # noqa: E402
from benchmarks.spark_agreement import stories, write_items  # noqa: E402
from storyline.engine import group_batches  # noqa: E402
from storyline.evaluate import score_clusters  # noqa: E402
from storyline.store import Store  # noqa: E402


def storyline(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "storyline.cli", *args], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--share", type=float, default=0.8)
    args = parser.parse_args()
    preset_args = ["--fast"] if args.fast else []
    data = uci(6)
    batches = list(group_batches(data.records).items())
    cut = int(round(len(batches) * args.share))
    with tempfile.TemporaryDirectory(prefix="spark-handover-") as tmp:
        tmp = Path(tmp)
        write_items(data.records, tmp / "all.jsonl")
        write_items([r for _, rs in batches[:cut] for r in rs], tmp / "archive.jsonl")
        t_single = storyline("cluster", str(tmp / "all.jsonl"), "--out", str(tmp / "single.jsonl"),
                             *preset_args)
        db = tmp / "hand.db"
        t_backfill = storyline("spark", "backfill", str(tmp / "archive.jsonl"), "--db", str(db),
                               "--master", args.master, *preset_args)
        (tmp / "later").mkdir()
        for name, records in batches[cut:]:
            write_items(records, tmp / "later" / f"{name}.jsonl")
        t_ingest = storyline("ingest", "--db", str(db), str(tmp / "later"))
        check = subprocess.run([sys.executable, "-m", "storyline.cli", "check", "--db", str(db)],
                               capture_output=True, text=True)
        with Store(db) as store:
            ids = [c.external_id for b in store.batches() for c in store.batch_copies(b.seq)]
            got = {item: str(store.resolve(story))
                   for item, (*_, story) in zip(ids, store.copy_stories())}
        single = stories(tmp / "single.jsonl")
    arrivals = sum(len(rs) for _, rs in batches)
    print(json.dumps({
        "arrivals": arrivals, "batches": len(batches), "backfilled_batches": cut,
        "b3_handover_vs_single": round(score_clusters(got, single).b3_f1, 4),
        "b3_handover_vs_gold": round(score_clusters(got, data.gold).b3_f1, 4),
        "b3_single_vs_gold": round(score_clusters(single, data.gold).b3_f1, 4),
        "seconds": {"single": round(t_single), "backfill": round(t_backfill),
                    "ingest": round(t_ingest)},
        "check": check.stdout.strip().splitlines()[-1:],
    }, indent=1))


if __name__ == "__main__":
    main()
