"""Facts read in a worker process, while the engine encodes and clusters the batch.

spaCy is the slowest stage of a default ingest and holds the interpreter for most
of its work, so a thread does not help. One long-lived worker process (spawned, never
forked: the web server runs threads) loads the model once and parses each batch on
the second core (`python benchmarks/ingest_speed.py`: ingest with facts took 2.2x the
time without them in this process, 1.8x with the worker). Where no worker can be
started, or it dies, the facts are read in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

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
    """Facts of a batch being read elsewhere; :meth:`result` waits for them."""

    def __init__(self, texts: list[str], future: Future | None) -> None:
        self.texts = texts
        self.future = future

    def result(self) -> list[str]:
        if self.future is not None:
            try:
                return self.future.result()
            except BrokenProcessPool:  # the worker died (killed, out of memory)
                _reset()
        return facts_json(self.texts)


def read_facts(texts: list[str]) -> FactsJob:
    """Start reading the facts of ``texts`` in the worker."""
    texts = list(texts)
    pool = _pool()
    if pool is None:
        return FactsJob(texts, None)
    try:
        return FactsJob(texts, pool.submit(facts_json, texts))
    except (BrokenProcessPool, RuntimeError):
        _reset()
        return FactsJob(texts, None)


def warm_up() -> None:
    """Start the worker and load its model now (a server does, before its first batch)."""
    read_facts(["Warm-up: 3 people were hurt, police said."]).result()


def _pool() -> ProcessPoolExecutor | None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            try:
                _POOL = ProcessPoolExecutor(
                    1, mp_context=multiprocessing.get_context("spawn"),
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
