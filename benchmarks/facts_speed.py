"""Fact extraction throughput on UCI News dev headlines.

    python benchmarks/facts_speed.py [--limit N] [--batch-size 128] [--n-process 1]

Reads the ``title`` column of ../shared/data/uci-news/dev.csv (skipped with a message if
absent), runs :meth:`FactExtractor.extract_many` once to warm up on a few titles, then times
the whole set. Facts = quantities + attributions + entities. Model load is timed separately.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storyline.pipeline.facts import FactExtractor  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared/data/uci-news/dev.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--n-process", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="best of N timed runs")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} not found")
        return
    with DATA.open(encoding="utf-8", newline="") as fh:
        titles = [row["title"] for row in csv.DictReader(fh)]
    titles = titles[: args.limit] if args.limit else titles

    extractor = FactExtractor()
    start = time.perf_counter()
    extractor.extract_many(titles[:16])
    load = time.perf_counter() - start

    best = float("inf")
    results = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        results = extractor.extract_many(
            titles, batch_size=args.batch_size, n_process=args.n_process
        )
        best = min(best, time.perf_counter() - start)
    quantities = sum(len(r.quantities) for r in results)
    attributions = sum(len(r.attributions) for r in results)
    entities = sum(len(r.entities) for r in results)
    facts = quantities + attributions + entities
    print(f"model load + warm-up: {load:.2f}s")
    print(
        f"{len(titles)} titles in {best:.2f}s (batch {args.batch_size}, "
        f"{args.n_process} process{'es' if args.n_process > 1 else ''})"
    )
    print(
        f"facts: {facts} ({quantities} quantities, {attributions} attributions, "
        f"{entities} entities)"
    )
    print(
        f"=> {len(titles) / best:.0f} snippets/s, {facts / best:.0f} facts/s, "
        f"{quantities / best:.0f} quantities/s"
    )


if __name__ == "__main__":
    main()
