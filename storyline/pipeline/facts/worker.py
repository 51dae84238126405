"""Facts read in worker processes, while the engine encodes and clusters the batch.

spaCy is the slowest stage of a default ingest and holds the interpreter for most
of its work, so a thread does not help. Long-lived worker processes, up to one a core
and at most four, load the model once and share each batch's snippets; a batch's facts
are collected after the next batch has clustered (Engine.finish_facts). Workers start
as batches need them, one for each 1,000 snippets of a batch: each costs a spaCy load
(about 1.8 s of CPU and 250 MB), and one worker reads a stream batch of 850 new
snippets in less time than the engine takes to encode and cluster it, so a second
one there only cost a one-shot `storyline ingest` its load.
`python benchmarks/ingest_speed.py`: ingest with facts took 2.2x the time without
them in this process, 1.8-2.1x with one worker on the second core, 1.5-1.8x with two.
Where no worker can be started, or one dies, the facts are read in this process.

A worker is ``python -m storyline.pipeline.facts.worker``, started with
:mod:`subprocess` (never forked: the web server runs threads) and fed over its
pipes: one JSON line of texts in, one JSON line of their facts out. multiprocessing's
spawn would re-run the user's script in each worker (a script without a
``__main__`` guard ran its body once per worker). A worker leaves when its pipe
closes or its parent is gone, even killed with -9.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

# Workers, one a core (at most four): the engine's own process clusters meanwhile,
# then waits for the facts, so on two cores two workers share what is left.
WORKERS = max(1, min(4, os.cpu_count() or 1))
_MIN_CHUNK = 64  # a batch is split among the workers in parts of at least this many
_PART = 1000  # snippets of a batch for each worker it puts to work
# Texts per request: a headline parse (compress_elsewhere) waits at most for one.
_REQUEST = 200
_POOL: _WorkerPool | None = None
_POOL_LOCK = threading.Lock()
_EXTRACTOR = None  # this process's FactExtractor, loaded on first use


class WorkerGone(RuntimeError):
    """A worker process died (killed, out of memory) or answered with an error."""


def facts_json(texts: list[str]) -> list[str]:
    """Each text's facts as the JSON the store keeps (in a worker, or here)."""
    global _EXTRACTOR
    if _EXTRACTOR is None:
        from storyline.pipeline.facts.extractor import FactExtractor

        _EXTRACTOR = FactExtractor()
    return [f.to_stored() for f in _EXTRACTOR.extract_many(texts)]


class _Worker:
    """One worker process and its pipes; one request at a time."""

    def __init__(self) -> None:
        # The worker imports this copy of storyline, wherever the caller found it.
        root = str(Path(__file__).resolve().parents[3])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            # -P: not the current folder on the path, so the worker imports that copy.
            [sys.executable, "-P", "-m", "storyline.pipeline.facts.worker", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, encoding="utf-8",
        )

    def run(self, request: list[str] | dict) -> list[str]:
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
            answer = json.loads(line) if line else None
        except (OSError, ValueError) as exc:  # a broken or closed pipe, a garbled line
            raise WorkerGone(f"facts worker {self.process.pid}: {exc}") from exc
        if not isinstance(answer, list):
            raise WorkerGone(f"facts worker {self.process.pid} gave no facts: {answer!r}")
        return answer

    def close(self) -> None:
        # Ended first: a thread waiting for its answer then sees the pipe close.
        if self.process.poll() is None:
            self.process.terminate()
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass  # SIGTERM ends it shortly; nothing needs to wait for that


class _WorkerPool:
    """Worker processes, each lent to one part of a batch at a time."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.workers: list[_Worker] = []
        self.idle: queue.Queue[_Worker] = queue.Queue()
        self.grow(1)
        self.threads = ThreadPoolExecutor(size, thread_name_prefix="storyline-facts")

    def grow(self, count: int) -> None:
        """Start workers until ``count`` run (at most the pool's size)."""
        while len(self.workers) < min(count, self.size):
            worker = _Worker()
            self.workers.append(worker)
            self.idle.put(worker)

    def submit(self, texts: list[str]) -> Future:
        return self.threads.submit(self.run, texts)

    def run(self, request: list[str] | dict) -> list[str]:
        # Called by the pool's threads for queued requests, and directly by
        # compress_elsewhere, whose request so waits only for the next idle worker.
        worker = self.idle.get()
        try:
            return worker.run(request)
        finally:
            self.idle.put(worker)

    def shutdown(self) -> None:
        self.threads.shutdown(wait=False, cancel_futures=True)
        for worker in self.workers:
            worker.close()


class FactsJob:
    """Facts of a batch being read elsewhere, in parts; :meth:`result` waits for them."""

    def __init__(self, texts: list[str], futures: list[Future] | None) -> None:
        self.texts = texts
        self.futures = futures

    def result(self) -> list[str]:
        if self.futures is not None:
            try:
                return [facts for future in self.futures for facts in future.result()]
            except WorkerGone:
                _reset()
        return facts_json(self.texts)


def read_facts(texts: list[str]) -> FactsJob:
    """Start reading the facts of ``texts`` in the workers."""
    texts = list(texts)
    pool = _pool()
    if pool is None:
        return FactsJob(texts, None)
    parts = min(WORKERS, max(1, -(-len(texts) // _PART)))
    size = min(_REQUEST, max(_MIN_CHUNK, -(-len(texts) // parts)))
    try:
        with _POOL_LOCK:
            pool.grow(parts)
        return FactsJob(texts, [pool.submit(texts[i:i + size])
                                for i in range(0, max(len(texts), 1), size)])
    except RuntimeError:  # the pool was shut down meanwhile
        _reset()
        return FactsJob(texts, None)


def warm_up(wait: bool = True) -> None:
    """Start workers and load their model now: a server starts them all and waits,
    before its first batch; an ingest starts the first, without waiting, while it loads
    its own model (more start as its batches need them)."""
    pool = _pool()
    if pool is None or not wait:
        return  # each worker loads its model as it starts
    with _POOL_LOCK:
        pool.grow(WORKERS)
    jobs = [pool.submit(["Warm-up: 3 people were hurt, police said."]) for _ in range(WORKERS)]
    for job in jobs:
        job.result()


def compress_elsewhere(texts: list[str], max_words: int) -> list[str] | None:
    """Headlines cut from ``texts`` on their parse (pipeline/headline.py) by a worker,
    which has spaCy loaded; None where no worker runs or this process has the model
    already (the caller parses them itself)."""
    from storyline.pipeline.facts.model import model_loaded

    with _POOL_LOCK:
        pool = _POOL
    if pool is None or model_loaded():
        return None
    try:
        answer = pool.run({"headlines": texts, "max_words": max_words})
    except (WorkerGone, RuntimeError):  # gone or shut down: the caller parses them
        return None
    ok = len(answer) == len(texts) and all(isinstance(a, str) for a in answer)
    return answer if ok else None


def worker_pids() -> list[int]:
    """Process ids of the running workers (none before the first batch)."""
    with _POOL_LOCK:
        return [w.process.pid for w in _POOL.workers] if _POOL is not None else []


def _pool() -> _WorkerPool | None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            if not sys.executable:
                return None  # embedded: no interpreter to start
            try:
                _POOL = _WorkerPool(WORKERS)
            except OSError:  # no processes here
                return None
        return _POOL


def _reset() -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown()
        _POOL = None


atexit.register(_reset)


# --------------------------------------------------------------------------- the worker


def _exit_with_parent(parent: int) -> None:
    """Leave when the engine's process is gone, even in the middle of a parse."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="storyline-parent-watch").start()


def serve(parent: int) -> None:
    """The worker's loop: texts in on stdin, their facts out on stdout, until EOF."""
    # Ctrl-C reaches the whole process group; the parent decides when workers end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent)
    # The answers go out on a copy of stdout; stdout itself becomes stderr, so that
    # stray prints (Python's or a library's own) cannot break the protocol.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    facts_json([])
    try:
        _ = _EXTRACTOR.nlp  # the model loads now, while the parent starts its batch
    except Exception:  # not installed: each request answers why, and the parent says it
        pass
    try:
        for line in sys.stdin:
            try:
                answer: object = _answer(json.loads(line))
            except Exception as exc:  # the parent reads these texts itself and reports
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            out.write(json.dumps(answer) + "\n")
            out.flush()
    except OSError:  # a broken pipe: the parent went (killed mid-batch), nothing to say
        pass
    # The pipe closed: leave now (tearing down spaCy's objects takes seconds, for nothing).
    os._exit(0)


def _answer(request: list[str] | dict) -> list[str]:
    """Facts of a list of texts; or, for ``{"headlines": texts, "max_words": n}``,
    their headlines."""
    if isinstance(request, dict):
        from storyline.pipeline.headline import _parsed

        return [_parsed(text, request["max_words"]) for text in request["headlines"]]
    return facts_json(request)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
