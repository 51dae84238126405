"""One big file (issue 12): memory bounded in the size of the input.

A text file without dates is one batch, and within one batch nothing goes dormant: the
live stories matched and the near-copy signatures held are capped instead
(Config.live_members_max, Config.near_duplicate_max). Real stores, real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rensa import RMinHash

from storyline.config import preset
from storyline.engine import Engine
from storyline.pipeline.dedupe import signatures
from storyline.pipeline.normalize import normalize
from storyline.pipeline.recent import RecentDuplicates
from storyline.store import Store
from storyline.store.rows import NewSnippet
from storyline.types import Record

from .conftest import ROOT, needs_static
from .test_robustness import headlines_file, partition

# Small caps, so that a small file goes past them as a big one goes past the defaults.
CAPS = {"live_members_max": 300, "near_duplicate_max": 600, "chunk_size": 100}

# Ingest a file with the small caps in a process of its own; print its peak RSS (kB).
INGEST = """
import sys
from pathlib import Path
from storyline.config import preset
from storyline.engine import Engine
from storyline.store import open_store
caps = dict(live_members_max=int(sys.argv[3]), near_duplicate_max=int(sys.argv[4]),
            chunk_size=int(sys.argv[5]), commit_records=int(sys.argv[6]))
with open_store(sys.argv[1]) as store:
    Engine(store, preset("fast", **caps)).ingest_paths([Path(sys.argv[2])])
status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
print(int(status["VmHWM"].split()[0]))
"""


def _ingest_args(db: Path, path: Path, commit: int, caps: dict = CAPS) -> list[str]:
    return [sys.executable, "-c", INGEST, str(db), str(path), str(caps["live_members_max"]),
            str(caps["near_duplicate_max"]), str(caps["chunk_size"]), str(commit)]


def _ingest(db: Path, path: Path, commit: int, caps: dict = CAPS) -> int:
    """Peak RSS of the ingesting process in MB."""
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(_ingest_args(db, path, commit, caps), capture_output=True,
                          text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1]) // 1024


def _records(path: Path) -> list[Record]:
    return [Record(text=line, batch="one", line=n)
            for n, line in enumerate(path.read_text().splitlines(), 1)]


# -- the near-copy window -------------------------------------------------------------

def test_near_copy_index_holds_the_latest_capacity_and_forgets_the_oldest():
    texts = [f"Flood waters rise in town number {i} as the river breaks its banks"
             for i in range(5)]
    sigs = signatures(texts)
    index = RecentDuplicates(0.65, lambda keys: {}, capacity=3)
    for sid, (text, sig) in enumerate(zip(texts, sigs), 1):
        index.add(sid, 1, sig, text)
    assert len(index) == 3
    copy = normalize(Record(text=texts[0] + ".", batch="b"))
    sig: RMinHash = signatures([copy.text])[0]
    index.begin_batch([copy.key])
    assert index.match(copy, sig).canonical_id is None  # the oldest left the index
    later = normalize(Record(text=texts[4] + ".", batch="b"))
    assert index.match(later, signatures([later.text])[0]).canonical_id == 5


def test_near_copy_index_built_again_after_many_removals_finds_the_same():
    texts = [f"Storm number {i} closes the {i % 7} northern roads overnight, police say"
             for i in range(2_500)]
    index = RecentDuplicates(0.65, lambda keys: {}, capacity=10)
    for sid, (text, sig) in enumerate(zip(texts, signatures(texts)), 1):
        index.add(sid, 1, sig, text)  # 2,490 removals: the LSH is built again twice
    assert len(index) == 10
    for position, expected in ((-1, 2_500), (-10, 2_491), (-11, None), (0, None)):
        copy = normalize(Record(text=texts[position] + ".", batch="b"))
        found = index.match(copy, signatures([copy.text])[0]).canonical_id
        assert found == expected, (position, found)


# -- the store's side ------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "postgres":
        location = request.getfixturevalue("pg_db")
    else:
        location = tmp_path / "s.db"
    with Store(location) as opened:
        yield opened


def test_live_member_count_and_the_stories_fed_last(store):
    with store.transaction():
        store.add_batch("a", 1, "digest", 6, "2025-01-13T06:00:00+00:00", "test")
        first, second, third = store.new_stories([(1, None)] * 3)
        # first fed last by snippet 5, second by snippet 6
        story_of = {1: first, 2: first, 5: first, 3: second, 6: second, 4: third}
        store.add_snippets(NewSnippet(i, f"k{i}", f"text {i}", False, 1, None,
                                      story_id=story_of[i]) for i in range(1, 7))
        store.update_stories([(first, 3, 1), (second, 2, 1), (third, 1, 1)])
    assert store.live_member_count([], 200) == 6
    assert store.live_member_count([], 2) == 5
    assert store.live_member_count([1], 200) == 0
    assert [s.id for s in store.recently_fed_stories([], 1)] == [second, first, third]
    assert [s.id for s in store.recently_fed_stories([], 5)] == [second, first]
    assert store.recently_fed_stories([1], 1) == []
    assert [r[0] for r in store.latest_signature_rows(1, 2)] == [5, 6]


# -- the engine ------------------------------------------------------------------------

@needs_static
def test_below_the_caps_the_stories_are_those_of_no_caps(tmp_path):
    records = _records(headlines_file(tmp_path / "a.txt", 200))
    found = []
    for name, caps in (("capped", {"live_members_max": 10_000}),
                       ("free", {"live_members_max": 0, "near_duplicate_max": 0})):
        db = tmp_path / f"{name}.db"
        with Store(db) as store:
            Engine(store, preset("fast", chunk_size=100, **caps)).ingest_records(records)
        found.append(partition(db))
    assert found[0] == found[1]


@needs_static
def test_one_big_batch_keeps_no_more_than_the_caps_in_memory(tmp_path):
    caps = {"live_members_max": 150, "near_duplicate_max": 300, "chunk_size": 50}
    records = _records(headlines_file(tmp_path / "a.txt", 600))
    with Store(tmp_path / "s.db") as store:
        engine = Engine(store, preset("fast", commit_records=200, **caps))
        held = []

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "cluster":
                held.append((len(engine.statistics._counts), len(engine._index)))

        engine.ingest_records(records, progress=progress)
        assert store.counts()["copies"] == 600 and store.check() == []
    # The counts cache holds the matched stories' recent members and the chunk's.
    assert max(cached for cached, _ in held) <= caps["live_members_max"] + caps["chunk_size"]
    assert max(signed for _, signed in held) == caps["near_duplicate_max"]


@needs_static
@pytest.mark.slow
def test_kill_past_the_caps_then_rerun_gives_the_clean_runs_stories(tmp_path):
    big = headlines_file(tmp_path / "big.txt", 1_500)
    clean_db = tmp_path / "clean.db"
    _ingest(clean_db, big, commit=300)
    db = tmp_path / "killed.db"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(_ingest_args(db, big, 300), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    stored = 0
    while stored < 900 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            with Store(db) as store:
                stored = sum(b.records for b in store.batches())
        except Exception:  # not created yet, or held by the writer this moment
            stored = 0
    assert proc.poll() is None, "the ingest ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _ingest(db, big, commit=300)
    assert partition(db) == partition(clean_db)


@needs_static
@pytest.mark.slow
def test_peak_rss_does_not_grow_with_the_file(tmp_path):
    """Four times the lines, past the (small) caps: the same peak RSS. Without the caps
    2,500 lines peaked at 144 MB and 10,000 at 210 MB (the members of every story
    of the batch, and every signature)."""
    small = _ingest(tmp_path / "n.db", headlines_file(tmp_path / "n.txt", 2_500), 500)
    large = _ingest(tmp_path / "4n.db", headlines_file(tmp_path / "4n.txt", 10_000), 500)
    assert large - small < max(30, 0.1 * small), (small, large)
