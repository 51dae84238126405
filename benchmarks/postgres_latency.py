"""Ingest time on a PostgreSQL server some distance away: the same batches of the
synthetic stream (benchmarks/stream_gen.py) through a proxy that delays every packet,
for this checkout and, with ``--against``, another one, in turn.

    python benchmarks/postgres_latency.py --pg postgresql://user@host/db --base STORE \\
        [--first 11] [--batches 3] [--rtt-ms 0 --rtt-ms 2] [--against PYTHONPATH]

``STORE`` holds the stream's first ``--first - 1`` batches (a SQLite file from
``benchmarks/stream_scale.py``); for each round it is copied into a new database of the
server and batches ``--first`` on are ingested through the proxy, one process per
checkout, the encoder loaded before the clock starts. A statement costs one round trip
of the given time where the code waits for its answer; pipelined statements share one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]


class DelayProxy:
    """A TCP proxy on localhost that delivers every chunk, both ways, half a round
    trip after it arrived (in order, without holding up the chunks behind it)."""

    def __init__(self, host: str, port: int, rtt_ms: float) -> None:
        self.target, self.delay = (host, port), rtt_ms / 2000
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver() -> None:
            while (item := await queue.get()) is not None:
                due, data = item
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        while data := await reader.read(65536):
            queue.put_nowait((time.monotonic() + self.delay, data))
        queue.put_nowait(None)
        await sender

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) > 1
                                         else host))


def child(db: str, batches_file: Path) -> None:
    """Ingest the batches (a JSON line each: its name and records), one timing each, with
    the storyline of PYTHONPATH (this file does not put its own checkout first)."""
    from storyline import Storyline

    with Storyline(db, "fast") as sl:
        _ = sl.engine.encoder
        for line in batches_file.read_text().splitlines():
            batch = json.loads(line)
            started = time.perf_counter()
            sl.ingest_records(batch["records"], batch=batch["name"])
            print(f"{time.perf_counter() - started:.3f}", flush=True)


def _database(admin_url: str, name: str, create: bool) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        if create:
            admin.execute(f"CREATE DATABASE {name}")
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="a postgresql:// URL of a database "
                        "whose user may create databases")
    parser.add_argument("--base", type=Path, help="SQLite store of the first batches")
    parser.add_argument("--first", type=int, default=11)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--rtt-ms", type=float, action="append")
    parser.add_argument("--against", help="PYTHONPATH of another checkout")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    if not args.pg or not args.base:
        parser.error("--pg and --base are needed")
    sys.path.insert(0, str(REPO))
    from benchmarks.stream_gen import Stream, StreamShape

    last = args.first + args.batches - 1
    batches = [{"name": b[0].batch, "records": [
                   {"text": r.text, "id": r.id, "source": r.source,
                    "published_at": r.published_at} for r in b]}
               for n, b in enumerate(Stream(StreamShape()).batches(last * 2000), 1)
               if n >= args.first]
    work = Path(f"/tmp/pg-latency-{uuid.uuid4().hex[:8]}.jsonl")
    work.write_text("".join(json.dumps(b) + "\n" for b in batches))
    checkouts = [("this", str(REPO))] + ([("against", args.against)] if args.against else [])
    target = urlsplit(args.pg)
    print("| round trip | checkout | seconds per batch |")
    print("|---|---|---|")
    try:
        for rtt in args.rtt_ms or [0.0, 2.0]:
            proxy = DelayProxy(target.hostname or "127.0.0.1", target.port or 5432, rtt)
            for name, path in checkouts:
                db = _database(args.pg, f"latency_{uuid.uuid4().hex[:8]}", create=True)
                subprocess.run([sys.executable, "-m", "storyline.cli", "copy", "--from",
                                str(args.base), "--to", db], check=True, cwd=REPO,
                               capture_output=True)
                env = {**os.environ, "PYTHONPATH": path}
                out = subprocess.run([sys.executable, __file__, "--child", proxy.url(db),
                                      str(work)], check=True, env=env, capture_output=True,
                                     text=True).stdout.split()
                print(f"| {rtt:g} ms | {name} | {' / '.join(out)} |", flush=True)
                _database(args.pg, urlsplit(db).path.lstrip("/"), create=False)
    finally:
        work.unlink()


if __name__ == "__main__":
    main()
