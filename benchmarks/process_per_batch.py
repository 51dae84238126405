"""CPU per batch of one ``storyline ingest`` process per batch against one long process,
on the same batches of the synthetic stream, on top of a store built from it.

    python benchmarks/process_per_batch.py --store STORE [--first 11] [--batches 6]
        [--preset fast]

``STORE`` is a store of the stream's first ``--first - 1`` batches (e.g. ``python
benchmarks/stream_scale.py --arrivals 20000 --db STORE`` for ``--first 11``); it is
copied twice and left as it is. Batches ``--first`` on go into one copy one process
each (the child's CPU time, as a cron job runs them) and into the other through one
long process (this one's CPU time and its facts workers', its model loaded before the
clock starts; a child's figure holds its workers' time too, as the kernel charges it). The
first batch warms the long process's state, so the medians are taken over the rest.
The package's bytecode is compiled first, as an install has it.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.stream_gen import Stream, StreamShape  # noqa: E402
from benchmarks.stream_scale import server_cpu  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
       "STORYLINE_TOKEN": "process-per-batch"}


def batch_file(batch: list, folder: Path) -> Path:
    path = folder / f"{batch[0].batch}.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for r in batch:
            f.write(json.dumps({"text": r.text, "id": r.id, "source": r.source,
                                "published_at": r.published_at}) + "\n")
    return path


def run_child(args: list[str]) -> tuple[float, int]:
    """CPU seconds and peak RSS (MB) of ``storyline ARGS`` in a new process."""
    child = subprocess.Popen([sys.executable, "-m", "storyline.cli", *args], env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise SystemExit(f"storyline {' '.join(args)} failed: {child.stderr.read().decode()}")
    child.stderr.close()
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def one_process_each(batches: list, db: Path, folder: Path, preset: str) -> list[float]:
    out = []
    for batch in batches:
        path = batch_file(batch, folder)
        cpu, peak = run_child(["ingest", str(path), "--db", str(db), "--preset", preset,
                               "--batch", batch[0].batch])
        out.append(cpu)
        print(f"process   {batch[0].batch}: {cpu:5.2f} s CPU, peak {peak} MB", flush=True)
    return out


def through_a_server(batches: list, db: Path, folder: Path, preset: str) -> list[float]:
    """A process per batch again, each handing its batch to one ``storyline serve``
    (``ingest --server``): the client's CPU plus what the server spent meanwhile (its
    children's too, as ``stream_scale.server_cpu`` counts a database server's)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "storyline.cli", "serve", "--db", str(db), "--preset", preset,
         "--port", str(port)], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url)
        out = []
        for batch in batches:
            path = batch_file(batch, folder)
            before = server_cpu(server.pid)
            cpu, peak = run_child(["ingest", str(path), "--server", url,
                                   "--batch", batch[0].batch])
            time.sleep(1.0)  # the server's warm-up of its story list, after the answer
            out.append(cpu + server_cpu(server.pid) - before)
            print(f"server    {batch[0].batch}: {out[-1]:5.2f} s CPU ({cpu:4.2f} s the "
                  f"client's, peak {peak} MB)", flush=True)
        return out
    finally:
        server.terminate()
        server.wait(timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/batches?limit=1", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"storyline serve did not answer at {url}")


def workers_cpu() -> float:
    """CPU seconds used so far by this process's facts workers (from /proc): a child
    ``storyline ingest`` is charged its workers' time, so the long process must be too."""
    from storyline.pipeline.facts.worker import worker_pids

    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in worker_pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def one_long_process(batches: list, db: Path, preset: str) -> list[float]:
    from storyline import Storyline

    out = []
    with Storyline(db, preset) as sl:
        _ = sl.engine.encoder
        for batch in batches:
            cpu = time.process_time() + workers_cpu()
            sl.ingest_records(batch)
            sl.engine.finish_facts()
            out.append(time.process_time() + workers_cpu() - cpu)
            print(f"long      {batch[0].batch}: {out[-1]:5.2f} s CPU", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--first", type=int, default=11, help="first batch to ingest")
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--preset", default="fast")
    args = parser.parse_args()
    compileall.compile_dir(REPO / "storyline", quiet=1)
    last = args.first + args.batches - 1
    batches = [b for n, b in enumerate(Stream(StreamShape()).batches(last * 2000), 1)
               if n >= args.first]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in ("each.db", "long.db", "server.db"):
            shutil.copy(args.store, folder / name)
        each = one_process_each(batches, folder / "each.db", folder, args.preset)
        served = through_a_server(batches, folder / "server.db", folder, args.preset)
        long = one_long_process(batches, folder / "long.db", args.preset)
        same = [stories(folder / "long.db") == stories(folder / n) for n in ("each.db",
                                                                               "server.db")]
    p, r, q = (statistics.median(x[1:]) for x in (each, served, long))
    print(f"median CPU per batch over batches {args.first + 1}–{last}: one process each "
          f"{p:.2f} s, one process each through a server {r:.2f} s, one long process "
          f"{q:.2f} s; ratios {p / q:.2f} and {r / q:.2f}; the same stories as the long "
          f"process: {same[0]} and {same[1]}")


def stories(db: Path) -> list:
    """Each arrival's story, in order: the three ways must agree."""
    from storyline.store import open_store

    with open_store(str(db)) as store:
        return store.copy_stories()

if __name__ == "__main__":
    main()
