"""Facts read in worker processes, while the engine encodes and clusters the batch.

spaCy is the slowest stage of a default ingest and holds the interpreter for most
of its work, so a thread does not help. Long-lived worker processes (spawned, never
forked: the web server runs threads), one a core and at most four, load the model
once and share each batch's snippets; a batch's facts are collected after the next
batch has clustered (Engine.finish_facts). `python benchmarks/ingest_speed.py`: ingest
with facts took 2.2x the time without them in this process, 1.8-2.1x with one
worker on the second core, 1.5-1.8x with two. Where no worker can be started, or one
dies, the facts are read in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

# Workers, one a core (at most four): the engine's own process clusters meanwhile,
# then waits for the facts, so on two cores two workers share what is left.
WORKERS = max(1, min(4, os.cpu_count() or 1))
_MIN_CHUNK = 64  # a batch is split among the workers in parts of at least this many
_POOL: ProcessPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_EXTRACTOR = None  # this process's FactExtractor, loaded on first use


def facts_json(texts: list[str]) -> list[str]:
    """Each text's facts as the JSON the store keeps (runs in the worker)."""
    global _EXTRACTOR
    if _EXTRACTOR is None:
        from storyline.pipeline.facts import FactExtractor

        _EXTRACTOR = FactExtractor()
    return [f.to_stored() for f in _EXTRACTOR.extract_many(texts)]


def _exit_with_parent(parent: int) -> None:
    """In the worker: leave when the engine's process is gone (even killed with -9)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="storyline-parent-watch").start()


class FactsJob:
    """Facts of a batch being read elsewhere, in parts; :meth:`result` waits for them."""

    def __init__(self, texts: list[str], futures: list[Future] | None) -> None:
        self.texts = texts
        self.futures = futures

    def result(self) -> list[str]:
        if self.futures is not None:
            try:
                return [facts for future in self.futures for facts in future.result()]
            except BrokenProcessPool:  # a worker died (killed, out of memory)
                _reset()
        return facts_json(self.texts)


def read_facts(texts: list[str]) -> FactsJob:
    """Start reading the facts of ``texts`` in the worker."""
    texts = list(texts)
    pool = _pool()
    if pool is None:
        return FactsJob(texts, None)
    size = max(_MIN_CHUNK, -(-len(texts) // WORKERS))
    try:
        return FactsJob(texts, [pool.submit(facts_json, texts[i:i + size])
                                for i in range(0, max(len(texts), 1), size)])
    except (BrokenProcessPool, RuntimeError):
        _reset()
        return FactsJob(texts, None)


def warm_up(wait: bool = True) -> None:
    """Start the worker and load its model now (a server does, before its first batch;
    an ingest, without waiting, while it loads its own model)."""
    pool = _pool()
    if pool is None:
        return
    # One part a worker, so that each loads its model now.
    jobs = [pool.submit(facts_json, ["Warm-up: 3 people were hurt, police said."])
            for _ in range(WORKERS)]
    if wait:
        for job in jobs:
            job.result()


def _pool() -> ProcessPoolExecutor | None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            try:
                _POOL = ProcessPoolExecutor(
                    WORKERS, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_exit_with_parent, initargs=(os.getpid(),),
                )
            except (OSError, NotImplementedError, ImportError):  # no processes here
                return None
        return _POOL


def _reset() -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown(wait=False, cancel_futures=True)
        _POOL = None
