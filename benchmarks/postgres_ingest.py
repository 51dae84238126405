"""Ingest time on SQLite against PostgreSQL: the seeds and UCI News dev (6-hour batches).

    python benchmarks/postgres_ingest.py --pg postgresql://user@host/db [--preset default]

Each dataset goes into a fresh SQLite file and a fresh PostgreSQL schema with the same
preset, the encoder loaded before the clock starts and facts off (they are read by a
worker either way); it prints seconds per backend and whether the stories come out the
same (same members, same headlines).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import uci  # noqa: E402
from storyline import Storyline  # noqa: E402
from storyline.pipeline.read import batch_files, read_file  # noqa: E402

SEEDS = Path(__file__).resolve().parents[1] / "examples" / "seeds"


def seeds():
    return [r for f in batch_files(SEEDS) for r in read_file(f)]


def run(db, records, preset: str) -> tuple[float, set]:
    with Storyline(db, preset, extract_facts=False) as sl:
        _ = sl.engine.encoder
        started = time.perf_counter()
        sl.ingest_records(records)
        seconds = time.perf_counter() - started
        store = sl.store
        stories = {(frozenset(m.text for m in store.story_snippets(s.id)), s.headline_id
                    and store.snippet(s.headline_id).text) for s in store.live_stories()}
        assert store.check() == []
        return seconds, stories


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", required=True, help="a postgresql:// URL (a schema is made)")
    parser.add_argument("--preset", default="default")
    args = parser.parse_args()
    import psycopg

    datasets = [("seeds", seeds())]
    if (data := uci()) is not None:
        datasets.append(("UCI dev", data.records))
    print("| data | records | batches | SQLite s | PostgreSQL s | stories | same |")
    print("|---|---|---|---|---|---|---|")
    for name, records in datasets:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in args.pg else "?"
        url = f"{args.pg}{sep}options=-csearch_path%3D{schema}"
        try:
            with tempfile.TemporaryDirectory() as tmp:
                sqlite_s, on_sqlite = run(Path(tmp) / "bench.db", records, args.preset)
            pg_s, on_pg = run(url, records, args.preset)
        finally:
            with psycopg.connect(args.pg, autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
        batches = len({r.batch for r in records})
        print(f"| {name} | {len(records)} | {batches} | {sqlite_s:.1f} | {pg_s:.1f} | "
              f"{len(on_pg)} | {'yes' if on_pg == on_sqlite else 'no'} |", flush=True)


if __name__ == "__main__":
    main()
