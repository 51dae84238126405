"""Memory, speed, store size and story quality over a long stream.

    python benchmarks/stream_scale.py --arrivals 200000 [--preset fast] [--db PATH]
        [--process-per-batch] [--queries] [--json OUT] [--every 0.05]
        [--quality-at 0.1,0.25,0.5,0.75,1]

Ingests the synthetic stream of :mod:`benchmarks.stream_gen` (real UCI News
headlines with names and numbers swapped, events living a few days, exact and
near copies from many outlets, 2,000 arrivals a batch, gold event labels) batch
by batch: through the Python API in this one process, or (``--process-per-batch``)
with one ``storyline ingest`` process per batch, as a cron job would. Every 5 % of
the run (``--every``) it prints the median seconds per batch over the last
tenth of the run (wall clock and CPU time: on a shared machine the CPU time is
the steadier figure), the peak resident memory of the ingesting process and the
store's bytes per canonical snippet (``Store.size_bytes``: SQLite's file with its
write-ahead log while open, at rest once closed, at the end; on PostgreSQL the
server's size of the storyline tables; with a server on this machine, the server's
own CPU per batch as well, which the client's does not include). At 10, 25, 50, 75 and 100 %
(``--quality-at``) it adds stream-level B-cubed precision and recall of the
stories against the gold events (over every arrival) and the biggest story
against the biggest gold event. The store is read in a separate process, so that
it adds nothing to the peak; with ``--json`` the figures are written after each
point, so a run stopped early keeps what it measured. ``--queries`` times the
reads at the end: the story list, the biggest story, search and a batch's
changes through the API, the CLI and the web pages (FastAPI's TestClient).

``--db`` takes a path (default: a temporary file), or any location the store
factory accepts (a ``postgresql://`` URL where that backend is installed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.stream_gen import Stream, StreamShape, gold_event  # noqa: E402


@dataclass
class Checkpoint:
    share: float
    arrivals: int
    batches: int
    seconds_per_batch: float  # median over the last tenth of the run so far
    cpu_seconds_per_batch: float  # the same in CPU time (the machine may be shared)
    peak_rss_mb: float
    store_bytes_per_snippet: float
    snippets: int
    stories: int
    # quality: at the --quality-at points only (it reads every arrival)
    precision: float | None = None
    recall: float | None = None
    biggest_story: int | None = None  # arrivals
    biggest_story_snippets: int | None = None
    biggest_event: int | None = None  # arrivals
    # PostgreSQL on this machine: the server's CPU for the same batches, which the
    # client's CPU does not see (None for SQLite or a server elsewhere)
    server_cpu_seconds_per_batch: float | None = None


@dataclass
class Run:
    arrivals: int
    preset: str
    mode: str
    shape: dict
    checkpoints: list[Checkpoint] = field(default_factory=list)
    queries: dict = field(default_factory=dict)
    closed_bytes_per_snippet: float = 0.0


# -- evaluation (run in a child process: it reads every arrival) --------------------


def b_cubed(stories: list[int], events: list[int]) -> tuple[float, float]:
    """Item-level B-cubed precision and recall of a clustering against gold."""
    import numpy as np

    s = np.asarray(stories, dtype=np.int64)
    g = np.asarray(events, dtype=np.int64)
    pairs, cell = np.unique(np.stack([s, g]), axis=1, return_counts=True)
    story_sizes = dict(zip(*np.unique(s, return_counts=True)))
    event_sizes = dict(zip(*np.unique(g, return_counts=True)))
    sq = cell.astype(np.float64) ** 2
    n = len(s)
    precision = float(sum(sq / np.array([story_sizes[x] for x in pairs[0]])) / n)
    recall = float(sum(sq / np.array([event_sizes[x] for x in pairs[1]])) / n)
    return precision, recall


def measure(db: str) -> dict:
    """The store's size and counts, without reading the arrivals."""
    from storyline.store import open_store

    with open_store(db) as store:
        counts = store.counts()
        return {"store_bytes": store.size_bytes(), "stories": counts["stories"],
                "snippets": counts["snippets"]}


def arrival_labels(store) -> tuple[list, list[int], list[int], Callable[[int], int]]:
    """Every arrival in order (seq, position, snippet, kind, story), its live story and
    its gold event, and the function that follows a story's merges."""
    into = {absorbed: target for absorbed, target, _, _ in store.merges()}

    def live(story: int) -> int:
        while story in into:
            story = into[story]
        return story

    arrivals = store.copy_stories()
    stories = [live(row[4]) for row in arrivals]
    events: list[int] = []
    for batch in store.batches():
        events.extend(gold_event(c.external_id) for c in store.batch_copies(batch.seq))
    return arrivals, stories, events, live


def precision_by_tenth(db: str) -> list[float]:
    """B-cubed precision of each tenth of the arrivals (in order), every arrival judged
    by the story it ends in: whether early stories stay pure as the stream goes on,
    which the precision at a checkpoint (of stories not yet complete) cannot say."""
    from storyline import Storyline

    with Storyline(db) as sl:
        _, stories, events, _ = arrival_labels(sl.store)
    pairs, sizes = Counter(zip(stories, events)), Counter(stories)
    item = [pairs[s, e] / sizes[s] for s, e in zip(stories, events)]
    n = len(item)
    return [sum(item[k * n // 10:(k + 1) * n // 10]) / max(1, (k + 1) * n // 10 - k * n // 10)
            for k in range(10)]


def evaluate(db: str) -> dict:
    """Quality figures of a store built from the generated stream, with its size."""
    from storyline import Storyline

    with Storyline(db) as sl:
        store = sl.store
        store_size = store.size_bytes()
        arrivals, stories, events, live = arrival_labels(store)
        snippets = Counter(live(story) for story in
                           {row[2]: row[4] for row in arrivals}.values())
        counts = store.counts()
    precision, recall = b_cubed(stories, events)
    by_story = Counter(stories)
    biggest, size = by_story.most_common(1)[0]
    return {"precision": precision, "recall": recall, "biggest_story": size,
            "biggest_story_snippets": snippets[biggest],
            "biggest_event": Counter(events).most_common(1)[0][1],
            "stories": counts["stories"], "snippets": counts["snippets"],
            "store_bytes": store_size}


def evaluate_in_child(db: str, quality: bool = True) -> dict:
    flag = "--evaluate" if quality else "--measure"
    out = subprocess.run([sys.executable, __file__, flag, db], check=True,
                         capture_output=True, text=True, env=_env())
    return json.loads(out.stdout.strip().splitlines()[-1])


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


# -- ingest ------------------------------------------------------------------------


class InProcess:
    """One Storyline over the store, as a server or a long job holds it."""

    def __init__(self, db: str, preset: str) -> None:
        from storyline import Storyline

        self.sl = Storyline(db, preset)
        _ = self.sl.engine.encoder  # the model loads before the clock starts
        self.postmaster = local_postmaster(self.sl.store)
        self.server_seconds: list[float] = []

    def ingest(self, records) -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        server = server_cpu(self.postmaster)
        self.sl.ingest_records(records)
        if server is not None:
            self.server_seconds.append(server_cpu(self.postmaster) - server)
        return time.perf_counter() - started, time.process_time() - cpu

    def peak_rss_mb(self) -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def close(self) -> None:
        self.sl.close()


def local_postmaster(store) -> int | None:
    """The PostgreSQL server's main process where it runs on this machine, else None."""
    if not hasattr(store, "db") or not hasattr(store.db, "pgconn"):
        return None
    backend = store.db.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1])  # its parent


def server_cpu(postmaster: int | None) -> float | None:
    """CPU seconds of the server so far: its main process, the children it reaped (ended
    backends, parallel workers) and those still running (backends, autovacuum, writers)."""
    if postmaster is None:
        return None
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if entry.name == str(postmaster):
            total += sum(int(f) for f in fields[11:15])  # utime, stime, reaped children
        elif fields[1] == str(postmaster):
            total += int(fields[11]) + int(fields[12])
    return total / ticks


class ProcessPerBatch:
    """One ``storyline ingest`` process per batch file, as a cron job runs it."""

    def __init__(self, db: str, preset: str) -> None:
        self.db, self.preset = db, preset
        self.folder = tempfile.TemporaryDirectory()
        self.peak_kb = 0

    def ingest(self, records) -> tuple[float, float]:
        path = Path(self.folder.name) / f"{records[0].batch}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps({"text": r.text, "id": r.id, "source": r.source,
                                    "published_at": r.published_at}) + "\n")
        command = [sys.executable, "-m", "storyline.cli", "ingest", str(path), "--db", self.db,
                   "--preset", self.preset, "--batch", records[0].batch]
        started = time.perf_counter()
        child = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        if status != 0:
            raise SystemExit(f"storyline ingest failed on {path} (status {status})")
        self.peak_kb = max(self.peak_kb, usage.ru_maxrss)
        path.unlink()
        return elapsed, usage.ru_utime + usage.ru_stime

    def peak_rss_mb(self) -> float:
        return self.peak_kb / 1024

    def close(self) -> None:
        self.folder.cleanup()


def checkpoint_marks(total_batches: int, every: float, quality_at: list[float]
                     ) -> dict[int, tuple[float, bool]]:
    """Batch count -> (share of the run, whether to measure quality there)."""
    quality_shares = {round(q, 6) for q in quality_at}
    shares = {round(k * every, 6) for k in range(1, round(1 / every) + 1)}
    marks: dict[int, tuple[float, bool]] = {}
    for share in sorted(shares | quality_shares | {1.0}):
        batch = max(1, round(total_batches * share))
        quality = marks.get(batch, (0.0, False))[1] or share in quality_shares
        marks[batch] = (share, quality)
    return marks


def ingest_run(args: argparse.Namespace, db: str, run: Run) -> None:
    shape = StreamShape(batch_size=args.batch_size, events_per_day=args.events_per_day)
    stream = Stream(shape)
    total_batches = -(-args.arrivals // shape.batch_size)
    marks = checkpoint_marks(total_batches, args.every, args.quality_at)
    runner = ProcessPerBatch(db, args.preset) if args.process_per_batch else InProcess(
        db, args.preset)
    seconds: list[float] = []
    cpu: list[float] = []
    done = 0
    try:
        for batch in stream.batches(args.arrivals):
            wall, used = runner.ingest(batch)
            seconds.append(wall)
            cpu.append(used)
            done += len(batch)
            if len(seconds) in marks:
                share, with_quality = marks[len(seconds)]
                tenth = max(1, total_batches // 10)
                figures = evaluate_in_child(db, with_quality)
                size = figures.pop("store_bytes")
                point = Checkpoint(
                    share=share, arrivals=done, batches=len(seconds),
                    seconds_per_batch=statistics.median(seconds[-tenth:]),
                    cpu_seconds_per_batch=statistics.median(cpu[-tenth:]),
                    server_cpu_seconds_per_batch=statistics.median(server[-tenth:])
                    if (server := getattr(runner, "server_seconds", None)) else None,
                    peak_rss_mb=runner.peak_rss_mb(),
                    store_bytes_per_snippet=size / max(1, figures["snippets"]), **figures)
                run.checkpoints.append(point)
                print(format_point(point), flush=True)
                if args.json:
                    args.json.write_text(json.dumps(asdict(run), indent=2))
    finally:
        runner.close()
    if run.checkpoints:
        # Closed, a SQLite store has folded its write-ahead log in: its size at rest.
        size = evaluate_in_child(db, quality=False)["store_bytes"]
        run.closed_bytes_per_snippet = size / max(1, run.checkpoints[-1].snippets)
        print(f"store at rest: {run.closed_bytes_per_snippet:.0f} B/snippet", flush=True)


def format_point(p: Checkpoint) -> str:
    line = (f"{p.share:4.0%} {p.arrivals:>9,} arrivals {p.batches:>5} batches | "
            f"{p.seconds_per_batch:6.2f} s/batch (CPU {p.cpu_seconds_per_batch:5.2f}"
            + (f", server {p.server_cpu_seconds_per_batch:5.2f}"
               if p.server_cpu_seconds_per_batch is not None else "") + ") | "
            f"peak RSS {p.peak_rss_mb:6.0f} MB | "
            f"{p.store_bytes_per_snippet:6.0f} B/snippet ({p.snippets:,}) | "
            f"{p.stories:,} stories")
    if p.precision is not None:
        line += (f" | B3 P {p.precision:.3f} R {p.recall:.3f} | biggest story "
                 f"{p.biggest_story} ({p.biggest_story_snippets} snippets), "
                 f"event {p.biggest_event}")
    return line


# -- reads at the end --------------------------------------------------------------


def _median_ms(call, repeats: int = 5) -> float:
    call()  # the first call warms caches a server would keep warm
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def time_queries(db: str, preset: str) -> dict:
    from storyline import Storyline

    out: dict[str, float] = {}
    with Storyline(db, preset) as sl:
        page = sl.stories(limit=50)
        biggest = page[0].id
        last = sl.store.batches()[-1].name
        query = page[0].headline
        out["api stories (first 50)"] = _median_ms(lambda: sl.stories(limit=50))
        out["api stories (all)"] = _median_ms(lambda: sl.stories(), repeats=2)
        out["api show biggest"] = _median_ms(lambda: sl.story(biggest))
        out["api search"] = _median_ms(lambda: sl.search(query))
        out["api changes last batch"] = _median_ms(lambda: sl.changes(last))
    for name, argv in {"cli stories --json": ["stories", "--json"],
                       "cli show biggest": ["show", str(biggest)],
                       "cli search": ["search", query]}.items():
        out[name] = _median_ms(lambda a=argv: subprocess.run(
            [sys.executable, "-m", "storyline.cli", *a, "--db", db], env=_env(), check=True,
            capture_output=True), repeats=3)
    out.update(time_web(db, biggest, query, last))
    return out


def time_web(db: str, biggest: int, query: str, batch: str) -> dict:
    from urllib.parse import quote

    from fastapi.testclient import TestClient

    from storyline.web.access import WebSettings
    from storyline.web.app import create_app

    app = create_app(WebSettings(db=Path(db), facts=False))
    out = {}
    with TestClient(app) as client:
        for name, url in {"web /": "/", "web /api/stories": "/api/stories",
                          "web /stories/<biggest>": f"/stories/{biggest}",
                          "web /search": f"/search?q={quote(query)}",
                          "web /batches/<last>": f"/batches/{quote(batch)}"}.items():
            def get(u: str = url) -> None:
                response = client.get(u)
                if response.status_code != 200:
                    raise SystemExit(f"GET {u}: {response.status_code}")
            out[name] = _median_ms(get)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=100_000)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--db", help="store path or URL (default: a temporary file)")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--events-per-day", type=float, default=StreamShape.events_per_day)
    parser.add_argument("--process-per-batch", action="store_true")
    parser.add_argument("--queries", action="store_true", help="time the reads at the end")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--every", type=float, default=0.05,
                        help="print the figures every this share of the run")
    parser.add_argument("--quality-at", default="0.1,0.25,0.5,0.75,1",
                        type=lambda text: [float(x) for x in text.split(",")],
                        help="shares of the run where B3 quality is measured too")
    parser.add_argument("--by-tenth", metavar="STORE",
                        help="a finished store's B3 precision by tenth of its arrivals")
    parser.add_argument("--evaluate", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--measure", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evaluate:
        print(json.dumps(evaluate(args.evaluate)))
        return
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    if args.by_tenth:
        print("B3 precision by tenth of the arrivals: " + " ".join(
            f"{p:.3f}" for p in precision_by_tenth(args.by_tenth)))
        return
    tmp = tempfile.TemporaryDirectory() if args.db is None else None
    db = args.db or str(Path(tmp.name) / "stream.db")
    shape = asdict(StreamShape(batch_size=args.batch_size, events_per_day=args.events_per_day))
    run = Run(args.arrivals, args.preset,
              "process per batch" if args.process_per_batch else "one process", shape)
    print(f"{args.arrivals:,} arrivals, preset {args.preset}, {run.mode}, store {db}")
    ingest_run(args, db, run)
    if args.queries:
        run.queries = time_queries(db, args.preset)
        for name, ms in run.queries.items():
            print(f"{name:28} {ms:8.1f} ms")
    if args.json:
        args.json.write_text(json.dumps(asdict(run), indent=2))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
