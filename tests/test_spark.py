"""storyline spark: the job's pieces without Spark, then real Spark in local mode.

The Spark tests start a real local Spark (pyspark and a Java runtime, from
``./setup.sh --spark``); they skip with the reason when either is missing.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from storyline.config import preset
from storyline.evaluate import score_clusters
from storyline.pipeline.read import read_file
from tests.conftest import SEEDS, needs_static, run_cli, run_process

try:
    import pyspark  # noqa: F401

    HAVE_PYSPARK = True
except ImportError:
    HAVE_PYSPARK = False
HAVE_JAVA = bool(os.environ.get("JAVA_HOME") or shutil.which("java"))
needs_spark = pytest.mark.skipif(
    not (HAVE_PYSPARK and HAVE_JAVA),
    reason="Spark tests need pyspark and a Java runtime: ./setup.sh --spark "
    "(pip install -e .[spark], apt-get install openjdk-17-jre-headless)")
MASTER = "local[2]"


def seed_records():
    return [r for path in sorted(SEEDS.glob("*.txt")) for r in read_file(path)]


def write_jsonl(records, path: Path, encoding: str | None = None) -> Path:
    """Records as JSONL; in ``encoding`` (its characters as they are, not JSON escapes)
    where one is named."""
    with path.open("w", encoding=encoding or "utf-8") as fh:
        for n, r in enumerate(records, 1):
            fh.write(json.dumps({"id": r.id or f"{r.batch}:{n}", "text": r.text,
                                 "batch": r.batch}, ensure_ascii=encoding is None) + "\n")
    return path


# -- the pieces the executors and the driver run, without Spark ------------------


def test_replay_copies_decides_as_the_engine_in_arrival_order():
    from storyline.spark.windows import replay_copies

    items = pd.DataFrame({"ord": [0, 1, 2, 3, 4], "key": ["a", "b", "a", "c", "b"],
                          "rep": [0, 1, 0, 3, 1]})
    # 1 is near 0; 3 is near 1 only (1 is a copy, so 3 starts its own snippet);
    # 4 has 1's key, which no canonical snippet holds: it is a near copy of the
    # closest canonical snippet 1 was paired with (3, not 0).
    pairs = pd.DataFrame({"a": [0, 1], "b": [1, 3], "jaccard": [0.8, 0.9]})
    out = replay_copies(items, pairs).set_index("ord")
    assert out.loc[0, "kind"] == "original"
    assert (out.loc[1, "kind"], out.loc[1, "canonical"]) == ("near", 0)
    assert (out.loc[2, "kind"], out.loc[2, "canonical"]) == ("exact", 0)
    assert (out.loc[3, "kind"], out.loc[3, "canonical"]) == ("original", 3)
    assert (out.loc[4, "kind"], out.loc[4, "canonical"]) == ("near", 3)


def test_window_widths():
    from storyline.errors import UsageError
    from storyline.spark.job import window_seconds

    assert window_seconds("6h") == 21600
    assert window_seconds("1d") == 86400
    with pytest.raises(UsageError):
        window_seconds("soon")


def _features(texts: list[str], config):
    from storyline.pipeline.represent import TermWeights, names, words
    from storyline.spark.windows import count_columns

    counts = count_columns(texts, config.lead_words)
    tdf = np.zeros(2**20, np.int32)
    ndf = np.zeros(2**20, np.int32)
    for cols in counts["t_cols"]:
        tdf[cols] += 1
    for cols in counts["n_cols"]:
        ndf[cols] += 1
    return counts, TermWeights(words, tdf, len(texts)), TermWeights(names, ndf, len(texts))


def test_windows_linked_in_time_order_continue_a_story():
    """The same event in two windows is one story; another event is another."""
    from storyline.spark.link import Linker, WindowCluster, sparse_row
    from storyline.spark.windows import cluster_window

    config = preset("minilm", model="none")
    config.weights.dense, config.weights.terms, config.weights.threshold = 0.0, 1.0, 0.3
    texts = ["Volcano erupts near Reykjavik, flights grounded in Iceland",
             "Iceland volcano eruption near Reykjavik grounds flights",
             "Central bank raises interest rates by half a point",
             "Reykjavik volcano keeps erupting, Iceland flights still grounded"]
    counts, terms, names_ = _features(texts, config)
    frame = pd.concat([pd.DataFrame({"ord": range(4), "window_rank": [0, 0, 0, 1],
                                     "chunk": 0, "dense": [np.zeros(1, np.float32)] * 4}),
                       counts], axis=1)
    clusters = pd.concat([cluster_window(frame[frame.window_rank == w], config, terms, names_,
                                         None) for w in (0, 1)])
    assert sorted(len(m) for m in clusters["members"]) == [1, 1, 2]
    units = [WindowCluster((r.window_rank, r.chunk), r.local, r.first, r.size, r.dense,
                           sparse_row(r.t_idx, r.t_val), sparse_row(r.n_idx, r.n_val),
                           sparse_row(r.b_idx, r.b_val)) for r in clusters.itertuples()]
    linked = Linker(config, None, {}).run(units)
    story = {m: linked.resolve(linked.assigned[(r.window_rank, r.chunk, r.local)])
             for r in clusters.itertuples() for m in r.members}
    assert story[0] == story[1] == story[3] != story[2]


def test_a_window_s_clusters_carry_the_sums_of_their_members_views():
    """Each cluster row holds its members' summed dense, words, names and name-presence
    views, as the linker reads them (sparse, columns in order, no stored zeros)."""
    from storyline.pipeline.cluster import mentions
    from storyline.pipeline.represent import N_FEATURES
    from storyline.spark.windows import cluster_window, csr

    config = preset("minilm", model="none")
    config.weights.dense, config.weights.terms, config.weights.threshold = 0.0, 1.0, 0.3
    texts = ["Volcano erupts near Reykjavik, flights grounded in Iceland",
             "Iceland volcano eruption near Reykjavik grounds flights",
             "Central bank raises interest rates by half a point",
             "Bank of England raises interest rates by half a point",
             "Reykjavik volcano keeps erupting, Iceland flights still grounded",
             "Storm floods coastal towns in southern Brazil"]
    counts, terms, names_ = _features(texts, config)
    dense = np.arange(6 * 3, dtype=np.float32).reshape(6, 3)
    frame = pd.concat([pd.DataFrame({"ord": [10, 11, 12, 13, 14, 15], "window_rank": 0,
                                     "chunk": 0, "dense": list(dense)}), counts], axis=1)
    clusters = cluster_window(frame, config, terms, names_, None)
    assert sorted(len(m) for m in clusters["members"]) == [1, 2, 3]
    views = {"t": terms.weigh(csr(counts["t_cols"], counts["t_cnt"])),
             "n": names_.weigh(csr(counts["n_cols"], counts["n_cnt"]))}
    views["b"] = mentions(views["n"])
    for row in clusters.itertuples():
        rows = np.asarray(row.members) - 10
        assert np.allclose(row.dense, dense[rows].sum(axis=0))
        for prefix, view in views.items():
            want = np.asarray(view[rows].sum(axis=0)).ravel()
            idx, val = getattr(row, f"{prefix}_idx"), getattr(row, f"{prefix}_val")
            assert list(idx) == sorted(idx) and np.all(val != 0)
            got = np.zeros(N_FEATURES, np.float32)
            got[idx] = val
            assert np.allclose(got, want, rtol=1e-6), prefix


def test_dormant_stories_are_not_continued():
    from storyline.spark.link import Linker, WindowCluster, sparse_row

    config = preset("fast", dormant_after_batches=2, dormant_after_days=None)
    unit = dict(size=1, dense=np.ones(4, np.float32), terms=sparse_row([5], [1.0]),
                names=sparse_row([7], [1.0]), named_by=sparse_row([7], [1.0]))
    clusters = [WindowCluster((0, 0), 0, 0, **unit), WindowCluster((1, 0), 0, 1, **unit),
                WindowCluster((5, 0), 0, 2, **unit)]
    linked = Linker(config, None, {}).run(clusters)
    first, second, late = (linked.resolve(linked.assigned[(w, 0, 0)]) for w in (0, 1, 5))
    assert first == second != late


def test_linking_looks_only_at_stories_that_can_still_be_live():
    """A story dormant at every window still to come leaves the linker's open set (so a
    window's cost does not grow with the archive); one that a later window's earlier
    clock can wake stays, and is continued, as the engine's dormancy rule says."""
    from datetime import UTC, datetime, timedelta

    from storyline.spark.link import Linker, WindowCluster, sparse_row

    config = preset("fast", dormant_after_days=7.0)
    day0 = datetime(2026, 1, 1, tzinfo=UTC)

    def unit(feature: int, slot: int, first: int) -> WindowCluster:
        return WindowCluster((slot, 0), 0, first, 1, np.eye(64, dtype=np.float32)[feature % 64],
                             sparse_row([feature], [1.0]), sparse_row([feature], [1.0]),
                             sparse_row([feature], [1.0]))

    # 40 daily windows, each a story of its own: at most the last week stays open.
    clocks = {seq: day0 + timedelta(days=seq) for seq in range(1, 41)}
    linker = Linker(config, None, clocks)
    linker.run([unit(100 + w, w, w) for w in range(40)])
    assert len(linker.out.stories) == 40 and len(linker._open) <= 9
    # Window 2's clock is ten days on, window 3's back at day five: the story of window
    # 1 is dormant at window 2 but live again at window 3, and continued there.
    clocks = {1: day0, 2: day0 + timedelta(days=10), 3: day0 + timedelta(days=5)}
    linked = Linker(config, None, clocks).run([unit(5, 0, 0), unit(6, 1, 1), unit(5, 2, 2)])
    first, other, third = (linked.resolve(linked.assigned[(w, 0, 0)]) for w in (0, 1, 2))
    assert first == third != other


def test_a_story_s_sums_are_those_of_scipy_added_one_after_another():
    """The linker keeps a story's sums as arrays (``sum_rows``) and stacks them itself
    (``stack_rows``): the same float32 values, in the same order of additions, as
    scipy's sparse additions and vstack, zeros dropped alike."""
    from scipy import sparse

    from storyline.pipeline.represent import N_FEATURES
    from storyline.spark.link import EMPTY_ROW, stack_rows, sum_rows

    rng = np.random.default_rng(7)

    def row() -> sparse.csr_matrix:
        cols = np.sort(rng.choice(50, size=int(rng.integers(0, 12)), replace=False))
        vals = rng.normal(size=len(cols)).astype(np.float32)
        vals[rng.random(len(cols)) < 0.2] *= -1  # sums that cancel now and then
        return sparse.csr_matrix((vals, cols, [0, len(cols)]), shape=(1, N_FEATURES))

    for _ in range(200):
        rows = [row() for _ in range(int(rng.integers(1, 6)))]
        rows.append(-rows[0])  # a column that sums to zero exactly
        want = sparse.csr_matrix((1, N_FEATURES), dtype=np.float32)
        for r in rows:
            want = want + r
        got = sum_rows([EMPTY_ROW, *rows])
        assert got.indices.tolist() == want.indices.tolist()
        assert got.data.tobytes() == want.data.astype(np.float32).tobytes()
    rows = [row() for _ in range(30)] + [sparse.csr_matrix((1, N_FEATURES), dtype=np.float32)]
    stacked, want = stack_rows(rows), sparse.vstack(rows).tocsr()
    assert (stacked != want).nnz == 0 and stacked.indptr.tolist() == want.indptr.tolist()


@pytest.mark.slow
def test_storyline_spark_help_says_how_to_install(tmp_path: Path):
    """Without pyspark the command line still starts, and says what to install."""
    fake = tmp_path / "pyspark"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('no pyspark here')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).parents[1])])}
    helped = run_process("spark", "--help", env=env)
    assert "storyline[spark]" in helped.stdout
    items = write_jsonl(seed_records(), tmp_path / "in.jsonl")
    failed = run_process("spark", "cluster", str(items), "--out", str(tmp_path / "o.jsonl"),
                         env=env, check=False)
    assert failed.returncode != 0
    assert "pyspark is not installed" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_bad_spark_settings_are_one_line_before_spark_starts(tmp_path: Path, monkeypatch):
    """A bad master, partition count, Java or driver memory, and an --out or --tables
    that cannot be written: one line, exit 2, before the JVM starts (they were Java
    stack traces and exit 3, the unwritable --out only after all the work)."""
    from storyline.errors import UsageError
    from storyline.spark import session

    for good in ("local", "local[2]", "local[*]", "local[4,2]", "spark://h1:7077,h2:7077",
                 "yarn", "k8s://https://k:6443"):
        session.check_master(good)
    for bad in ("bogus", "local[0]", "local[two]", "spark://", "spark:/h:7077", ""):
        with pytest.raises(UsageError, match="--master"):
            session.check_master(bad)
    for bad in (0, -3, session.MAX_PARTITIONS + 1):
        with pytest.raises(UsageError, match="--partitions"):
            session.check_partitions(bad)
    for good, bad in (("2g", "lots"), ("4096m", "1m"), ("6G", "2gb"), ("", "-1g")):
        monkeypatch.setenv(session.MEMORY_ENV, good)
        session.driver_memory()
        monkeypatch.setenv(session.MEMORY_ENV, bad)
        with pytest.raises(UsageError, match=session.MEMORY_ENV):
            session.driver_memory()
    monkeypatch.delenv(session.MEMORY_ENV)
    old_java = tmp_path / "java8"
    (old_java / "bin").mkdir(parents=True)
    (old_java / "bin" / "java").write_text('#!/bin/sh\necho \'java version "1.8.0_402"\' >&2\n')
    (old_java / "bin" / "java").chmod(0o755)
    items = write_jsonl(seed_records()[:2], tmp_path / "in.jsonl")
    out = str(tmp_path / "out.jsonl")
    cases = [
        ({}, ["--out", out, "--master", "bogus"], "--master 'bogus'"),
        ({}, ["--out", out, "--partitions", "0"], "--partitions 0"),
        ({"JAVA_HOME": str(tmp_path / "nowhere")}, ["--out", out], "no bin/java there"),
        ({"JAVA_HOME": str(old_java)}, ["--out", out], "is Java 8; Spark needs Java 17"),
        ({session.MEMORY_ENV: "lots"}, ["--out", out], f"{session.MEMORY_ENV}='lots'"),
        ({}, ["--out", str(tmp_path / "no" / "out.jsonl")], "no folder"),
        ({}, ["--out", str(items / "out.jsonl")], "no folder"),
        ({}, ["--out", str(tmp_path)], "is a folder, not a file"),
        ({}, ["--out", out, "--tables", str(items / "tables")], "--tables"),
        ({}, ["--out", out, "--encoding", "latin-9000"], "--encoding: unknown encoding"),
        ({}, ["--out", out, "--encoding", "base64"], "--encoding: 'base64' is not a text"),
    ]
    for env, args, message in cases:
        got = run_cli("spark", "cluster", str(items), *args, env=env, check=False)
        assert got.returncode == 2, (args, got.stderr)
        assert message in got.stderr and len(got.stderr.strip().splitlines()) == 1, got.stderr
    got = run_cli("spark", "backfill", str(items), "--db", str(tmp_path / "b.db"),
                  "--encoding", "bogus", check=False)
    assert got.returncode == 2 and "--encoding: unknown encoding 'bogus'" in got.stderr
    assert not (tmp_path / "b.db").exists()
    assert not (tmp_path / "out.jsonl").exists()


# -- real Spark, local mode -------------------------------------------------------


@pytest.fixture(scope="module")
def spark():
    if not (HAVE_PYSPARK and HAVE_JAVA):
        pytest.skip("no pyspark or Java runtime: ./setup.sh --spark")
    from storyline.spark.session import spark_session

    session = spark_session(MASTER)
    yield session
    session.stop()


def _stream(tmp_path: Path) -> tuple[Path, list]:
    """The seeds with copies mixed in: an exact repost and a near copy."""
    records = seed_records()
    original = records[1]
    extra = [type(original)(text=original.text, batch=records[-1].batch),
             type(original)(text=original.text.replace(".", " today.", 1),
                            batch=records[-1].batch)]
    records = records + extra
    return write_jsonl(records, tmp_path / "stream.jsonl"), records


@pytest.mark.slow
@needs_spark
@needs_static
def test_spark_cluster_agrees_with_storyline_cluster(spark, tmp_path: Path):
    from storyline.jobs import cluster_records
    from storyline.spark.job import cluster_archive
    from storyline.spark.outputs import write_assignments

    path, _ = _stream(tmp_path)
    config = preset("fast")
    run = cluster_archive(spark, path, config)
    out = tmp_path / "spark.jsonl"
    counts = write_assignments(run, out)
    rows = [json.loads(line) for line in out.open()]
    items = [r for r in read_file(path, fmt="jsonl")]
    single = cluster_records(items, config)
    assert [r["id"] for r in rows] == [r["id"] for r in single]  # input order
    assert [r["duplicate_of"] for r in rows] == [r["duplicate_of"] for r in single]
    assert counts["duplicates"] >= 2
    assert all(type(r["story"]) is int for r in rows + single)  # as storyline cluster writes
    agreement = score_clusters({r["id"]: r["story"] for r in rows},
                               {r["id"]: r["story"] for r in single})
    assert agreement.b3_f1 >= 0.95
    parquet = tmp_path / "spark.parquet"
    write_assignments(run, parquet)
    back = spark.read.parquet(str(parquet)).orderBy("ord").collect()
    assert dict(spark.read.parquet(str(parquet)).dtypes)["story"] == "bigint"
    assert [r["story"] for r in back] == [r["story"] for r in rows]


@pytest.mark.slow
@needs_spark
@needs_static
def test_a_utf16_file_and_one_named_by_encoding_cluster_as_storyline_cluster_does(
        spark, tmp_path: Path):
    """A UTF-16 file (its byte order mark) and a cp1252 one with --encoding: the stories
    of their UTF-8 copy, those of `storyline cluster` (the same ids and copies), and a
    backfill's batches the digests `storyline ingest --encoding` gives them (Spark
    refused the UTF-16 file and had no --encoding)."""
    from storyline.spark.backfill import backfill
    from storyline.spark.job import cluster_archive
    from storyline.spark.outputs import write_assignments
    from storyline.store import open_store

    path, records = _stream(tmp_path)
    config = preset("fast")
    assert any(ord(c) > 127 for r in records for c in r.text)  # ’ “ ”: cp1252's own bytes
    write_assignments(cluster_archive(spark, path, config), tmp_path / "utf8.out")
    for encoding, named in (("utf-16", None), ("cp1252", "cp1252")):
        source = write_jsonl(records, tmp_path / f"{encoding}.jsonl", encoding)
        run = cluster_archive(spark, source, config, encoding=named)
        out = tmp_path / f"{encoding}.out"
        write_assignments(run, out)
        assert out.read_text() == (tmp_path / "utf8.out").read_text(), encoding
        local = tmp_path / f"{encoding}.local"
        run_cli("cluster", str(source), "--out", str(local), "--fast",
                *(["--encoding", named] if named else []))
        rows, single = ([json.loads(line) for line in f.open()] for f in (out, local))
        assert [(r["id"], r["duplicate_of"]) for r in rows] == \
            [(r["id"], r["duplicate_of"]) for r in single]
        assert score_clusters({r["id"]: r["story"] for r in rows},
                              {r["id"]: r["story"] for r in single}).b3_f1 >= 0.95
        with open_store(tmp_path / f"{encoding}-spark.db") as store:
            backfill(run, store, config)
        run_cli("ingest", "--db", str(tmp_path / f"{encoding}-local.db"), str(source), "--fast",
                *(["--encoding", named] if named else []))
        spark_batches, local_batches = (
            [row[:4] for row in _store_rows(tmp_path / f"{encoding}-{how}.db")["batches"]]
            for how in ("spark", "local"))
        assert spark_batches == local_batches and len(local_batches) == 2, encoding


@pytest.mark.slow
@needs_spark
@needs_static
def test_near_copies_are_looked_for_within_the_engine_s_horizon(spark, tmp_path: Path):
    # As the engine: a near copy two days later is a copy, one ten days later is not
    # (near copies are looked for in the last near_duplicate_days).
    from storyline.spark.job import cluster_archive
    from storyline.spark.outputs import write_assignments

    text = "Fire destroys dairy warehouse in Palmer, Alaska, officials said on Monday"
    rows = [("a", text, "2024-03-01T08:00:00Z"),
            ("b", text.replace("Monday", "Monday night"), "2024-03-03T08:00:00Z"),
            ("c", text.replace("Monday", "Monday evening"), "2024-03-11T08:00:00Z"),
            ("d", "Central bank holds interest rates steady", "2024-03-11T09:00:00Z")]
    path = tmp_path / "timed.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t, "published_at": p}) + "\n"
                            for i, t, p in rows))
    out = tmp_path / "out.jsonl"
    write_assignments(cluster_archive(spark, path, preset("fast"), window="1d"), out)
    copies = {r["id"]: r["duplicate_of"] for r in map(json.loads, out.open())}
    assert copies == {"a": None, "b": "a", "c": None, "d": None}


@pytest.mark.slow
@needs_spark
def test_components_of_a_long_chain_and_a_random_graph(spark):
    # A chain of near copies in time order (300 links, where label propagation alone
    # needs 300 rounds) and a random graph, against a union-find on the driver.
    import random

    from storyline.spark.copies import components

    rng = random.Random(4)
    edges = [(i, i + 1) for i in range(300)]
    edges += [(rng.randrange(1000, 1200), rng.randrange(1000, 1200)) for _ in range(150)]
    edges = [(min(a, b), max(a, b)) for a, b in edges if a != b]
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    df = spark.createDataFrame(edges, "a long, b long")
    got = {r["node"]: r["comp"] for r in components(df, max_rounds=40).collect()}
    assert got == {node: root(node) for node in parent}


@pytest.mark.slow
@needs_spark
def test_bad_line_is_named_by_file_and_line(spark, tmp_path: Path):
    from storyline.errors import InputError
    from storyline.spark.job import cluster_archive

    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "fine"}\n\n{"id": "b", "text": \n')
    with pytest.raises(InputError, match=r"bad\.jsonl:3: bad JSON"):
        cluster_archive(spark, path, preset("fast", model="none"))


def _quiet(stderr: str) -> list[str]:
    """The lines of standard error other than the JVM's one warning that no setting
    silences (an incubator module Spark adds)."""
    return [line for line in stderr.splitlines()
            if line.strip() and not line.startswith("WARNING: Using incubator modules")]


@pytest.mark.slow
@needs_spark
def test_a_bad_file_is_one_line_and_what_a_folder_skips_is_named(tmp_path: Path):
    """The command line as a user runs it: a folder's other files named as not read, a
    file that is not UTF-8 one line naming file and line (exit 1, as `storyline ingest`),
    and nothing from the JVM or py4j."""
    folder = tmp_path / "archive"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("not an archive file\n")
    (folder / "_SUCCESS").write_text("")
    (folder / "a.jsonl").write_bytes(_READS["tab_line"] + _READS["latin1"])
    got = run_process("spark", "cluster", str(folder), "--out", str(tmp_path / "o.jsonl"),
                      "--master", MASTER, check=False)
    assert got.returncode == 1, got.stderr
    advice = "name the file's encoding with --encoding (latin-1, cp1252...) or convert it " \
        "to UTF-8"
    assert _quiet(got.stderr) == [
        f"not read: {folder / 'notes.txt'}: not a .jsonl, .ndjson or .parquet file",
        f"not read: {folder / 'sub'}: a folder (folders are not read recursively)",
        f"error: {folder / 'a.jsonl'}:5: not valid UTF-8 (byte 24); {advice}"]
    # --encoding reaches the executors: a byte cp1252 has no character for is its line.
    (folder / "a.jsonl").write_bytes(_READS["latin1"] + b'{"text": "x\x81"}\n')
    got = run_process("spark", "cluster", str(folder), "--out", str(tmp_path / "o.jsonl"),
                      "--master", MASTER, "--encoding", "cp1252", check=False)
    assert got.returncode == 1, got.stderr
    assert _quiet(got.stderr)[-1] == \
        f"error: {folder / 'a.jsonl'}:2: not valid cp1252 (byte 11); {advice}"


@pytest.mark.slow
@needs_spark
def test_ctrl_c_stops_a_spark_run_quietly(tmp_path: Path):
    """Ctrl-C (SIGINT to the terminal's process group) once the JVM runs: 'stopped', exit
    130 as `watch --once`, no py4j traceback, no JVM left behind."""
    import signal
    import subprocess
    import time

    items = write_jsonl(seed_records(), tmp_path / "in.jsonl")
    proc = subprocess.Popen([sys.executable, "-m", "storyline.cli", "spark", "cluster",
                             str(items), "--out", str(tmp_path / "o.jsonl"), "--fast",
                             "--master", MASTER], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)

    def jvms() -> list[str]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                cmd = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[2]) == proc.pid and b"java" in cmd:  # same process group
                found.append(stat.parent.name)
        return found

    deadline = time.monotonic() + 120
    while not jvms() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(4)  # the JVM up, the job under way
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert _quiet(stderr) == ["stopped"]
    time.sleep(2)
    assert not jvms()


def _local_read(path: Path, encoding: str | None = None) -> list | str:
    """What `storyline cluster` reads of ``path``: its records, or its one-line error."""
    from storyline.cli_support import read_items as local_items
    from storyline.errors import InputError

    try:
        return [(r.id, r.line, r.text) for r in local_items(path, encoding)]
    except InputError as exc:
        return str(exc)


def _spark_read(spark, path: Path, encoding: str | None = None) -> list | str:
    from storyline.errors import InputError
    from storyline.spark.job import read_items

    try:
        rows = read_items(spark, path, None, encoding).orderBy("ord") \
            .select("id", "line", "text").collect()
    except InputError as exc:
        return str(exc)
    return [(r["id"], r["line"], r["text"]) for r in rows]


# Bytes of a JSONL file, each read by Spark as `storyline cluster` reads it.
_READS = {
    "latin1": '{"id": "a", "text": "caf\xe9 au lait"}\n'.encode("latin-1"),
    "utf16": '{"id": "a", "text": "hello there"}\n'.encode("utf-16"),
    "utf16_be": codecs.BOM_UTF16_BE + '{"id": "a", "text": "caf\xe9 \u2019one\u2019"}\r\n\r\n'
                '{"text": "two \U0001f600"}\r{"id": "c", "text": "three"}'.encode("utf-16-be"),
    "utf16_odd_byte": codecs.BOM_UTF16_LE + '{"text": "fine"}\n{"text": "x"}\n'.encode(
        "utf-16-le")[:-1],
    "utf16_long": codecs.BOM_UTF16_LE + ('{"text": "fine"}\n{"text": "' + "\u20ac" * 1_000_000
                                         + '"}\n{"text": "after"}\n').encode("utf-16-le"),
    "raw_surrogate": b'{"id": "a", "text": "fine"}\n{"id": "b", "text": "x \xed\xa0\x80"}\n',
    "escaped_surrogate": b'{"id": "a", "text": "ok \\ud800 bad"}\n',
    "long_field": json.dumps({"id": "a", "text": "x" * 100_001}).encode() + b"\n",
    "long_other_field": json.dumps({"text": "fine", "url": "u" * 100_001}).encode() + b"\n",
    "empty": b"",
    "blank_only": b"\t\n  \r\n\n",
    "tab_line": b'{"id": "a", "text": "fine text"}\n\t\n \xc2\xa0\n{"id": "b", "text": "more"}\n',
    "utf8_bom": b'\xef\xbb\xbf{"id": "a", "text": "first"}\r{"id": "b", "text": "second"}\n',
    "duplicate_id": b'{"id": "a", "text": "one"}\n\n{"id": "b", "text": "two"}\n'
                    b'{"id": "a", "text": "three"}\n',
    "taken_ids": b'{"text": "no id, first"}\n{"id": "1", "text": "takes 1"}\n'
                 b'{"id": "line-1-1", "text": "takes line-1-1"}\n{"text": "no id, fourth"}\n',
}


@pytest.mark.slow
@needs_spark
def test_spark_reads_a_file_as_storyline_cluster_does(spark, tmp_path: Path):
    """Bad bytes, UTF-16, surrogates, fields over the limit, empty files, blank lines,
    duplicate and missing ids: the same records, or the same one-line error (file and
    line), as the single-machine reader (no traceback from an executor)."""
    for name, data in _READS.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(data)
        want, got = _local_read(path), _spark_read(spark, path)
        assert got == want, name
        assert isinstance(want, str) == (name not in ("tab_line", "utf8_bom", "taken_ids",
                                                      "utf16", "utf16_be"))
    assert _local_read(tmp_path / "utf16.jsonl") == [("a", 1, "hello there")]  # was refused
    assert [line for _, line, _ in _local_read(tmp_path / "utf16_be.jsonl")] == [1, 3, 4]
    assert _local_read(tmp_path / "utf16_long.jsonl").endswith(":2: line longer than "
                                                               "601000 characters")
    assert [i for i, _, _ in _local_read(tmp_path / "taken_ids.jsonl")] == \
        ["line-1-2", "1", "line-1-1", "4"]
    # A folder: the first file at fault is named, an empty one before a bad line.
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(_READS["tab_line"])
    (folder / "b.jsonl").write_bytes(b"\n")
    (folder / "c.jsonl").write_bytes(_READS["latin1"])
    assert _spark_read(spark, folder) == f"{folder / 'b.jsonl'}: empty file: no snippets"
    (folder / "b.jsonl").write_bytes(b'{"id": "z", "text": "fine"}\n')
    assert _spark_read(spark, folder) == _local_read(folder / "c.jsonl")
    assert "c.jsonl:1: not valid UTF-8" in _local_read(folder / "c.jsonl")


# Bytes of a JSONL file and the --encoding it is read in: the same records or error.
_ENCODED = {
    "latin1": ('{"id": "a", "text": "caf\xe9 au lait \xbd"}\r\n\n{"text": "na\xefve"}\r'
               .encode("latin-1"), "latin-1"),
    "cp1252_bad": ('{"text": "\u2019quoted\u2019 \u20ac5"}\n'.encode("cp1252")
                   + b'{"text": "x\x81y"}\n', "cp1252"),
    "utf16_named": ('{"id": "a", "text": "\u4e2d\u6587"}\n{"text": "b"}\n'.encode("utf-16-le"),
                    "utf-16-le"),
    "utf8_named": ('{"text": "caf\xe9"}\n'.encode("utf-16"), "UTF8"),  # BOM: UTF-16
    "latin1_folder": (b"", "latin-1"),  # a folder: each file in the encoding
    "utf8_mark_as_latin1": (codecs.BOM_UTF8 + '{"text": "caf\xe9"}\n'.encode(), "latin-1"),
    "utf16_without_mark": ('{"text": "b"}\n'.encode("utf-16-le"), "utf-16"),
}


@pytest.mark.slow
@needs_spark
def test_spark_reads_a_file_in_its_encoding_as_storyline_cluster_does(spark, tmp_path: Path):
    """--encoding: lines cut by Spark and decoded in the encoding named (latin-1, cp1252),
    or the file read whole where it cannot be cut before decoding (UTF-16): the records,
    or the error naming file and line, of `storyline cluster --encoding`."""
    for name, (data, encoding) in _ENCODED.items():
        path = tmp_path / f"{name}.jsonl"
        if name == "latin1_folder":
            path = tmp_path / "folder"
            path.mkdir()
            (path / "a.jsonl").write_bytes(_ENCODED["latin1"][0])
            (path / "b.jsonl").write_bytes(_ENCODED["cp1252_bad"][0])
            want = [(line, text) for f in ("a.jsonl", "b.jsonl")
                    for _, line, text in _local_read(path / f, encoding)]
            got = [(line, text) for _, line, text in _spark_read(spark, path, encoding)]
            assert got == want and len(want) == 4, name  # ids: numbered across the files
            continue
        path.write_bytes(data)
        assert _spark_read(spark, path, encoding) == _local_read(path, encoding), name
    assert _local_read(tmp_path / "latin1.jsonl", "latin-1") == [
        ("a", 1, "caf\xe9 au lait \xbd"), ("2", 3, "na\xefve")]
    assert _local_read(tmp_path / "cp1252_bad.jsonl", "cp1252").endswith(
        "cp1252_bad.jsonl:2: not valid cp1252 (byte 11); name the file's encoding with "
        "--encoding (latin-1, cp1252...) or convert it to UTF-8")
    assert _local_read(tmp_path / "utf16_named.jsonl", "utf-16-le")[0] == ("a", 1, "\u4e2d\u6587")
    assert "utf8_mark_as_latin1.jsonl:1: the file starts with the byte order mark of UTF-8" \
        in _local_read(tmp_path / "utf8_mark_as_latin1.jsonl", "latin-1")


@pytest.mark.slow
@needs_spark
def test_time_windows_are_cut_and_named_as_storyline_cluster_cuts_them(spark, tmp_path: Path):
    """--window: a late record and one without a date join the current window, those
    before the first date its window (Spark refused an undated record, and put a late
    one in a window of its own), named as `storyline cluster --window` names them."""
    from storyline.cli_support import read_items as local_items
    from storyline.pipeline.window import parse_window, windowed
    from storyline.spark.job import read_items

    dates = [None, "2024-03-01T08:00:00Z", "2024-03-02T09:00:00Z", "2024-03-01T23:00:00Z",
             None, "2024-03-04T00:30:00Z", "2024-03-04T07:00:00+02:00"]
    path = tmp_path / "timed.jsonl"
    path.write_text("".join(json.dumps({"text": f"snippet {n}", "published_at": d}) + "\n"
                            for n, d in enumerate(dates)))
    for width in ("1d", "6h"):
        want = [r.batch for r in windowed(local_items(path), parse_window(width), "w")]
        got = [r["window"] for r in read_items(spark, path, width).orderBy("ord").collect()]
        assert got == want, width
    assert want[:4] == ["w-2024-03-01T0600"] * 2 + ["w-2024-03-02T0600"] * 2


@pytest.mark.slow
@needs_spark
def test_parquet_rows_are_checked_as_json_lines_are(spark, tmp_path: Path):
    """A Parquet row goes through the checks a JSON line does, named by file and row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from storyline.errors import InputError
    from storyline.spark.job import read_items

    cases = {
        "long_field": ({"id": [1, 2], "text": ["fine", "x" * 100_001]}, 2,
                       "field 'text' longer than 100000 characters"),
        "blank_text": ({"id": [1, 2], "text": ["fine", "  "]}, 2, "field 'text' is empty"),
        "struct": ({"text": ["fine", "more"], "source": [{"a": 1}, {"a": 2}]}, 1,
                   "field 'source' must be a string, not an object"),
        "control_only": ({"text": ["fine", "\u200b\u200b"]}, 2,
                         "no text left after cleaning (only control or invisible characters)"),
    }
    for name, (columns, line, message) in cases.items():
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table(columns), path)
        with pytest.raises(InputError) as caught:
            read_items(spark, path, None)
        assert (caught.value.origin, caught.value.line, caught.value.message) == \
            (str(path), line, message), name
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), empty)
    assert _spark_read(spark, empty) == f"{empty}: no records"
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"id": [7, 8], "text": ["one", "two"],
                             "published_at": pa.array([1_700_000_000_000, None],
                                                      pa.timestamp("ms"))}), good)
    rows = read_items(spark, good, None).orderBy("ord").collect()
    assert [(r["id"], r["line"], r["epoch"]) for r in rows] == \
        [("7", 1, 1_700_000_000.0), ("8", 2, None)]


def _store_rows(db: Path) -> dict[str, list]:
    """Every row of a SQLite store, but the time a batch was written."""
    import sqlite3

    with sqlite3.connect(db) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = "
                                            "'table' AND name NOT LIKE 'snippets_fts%'")]
        rows = {}
        for table in tables:
            columns = [c[1] for c in con.execute(f"PRAGMA table_info({table})")
                       if c[1] != "ingested_at"]
            rows[table] = sorted(con.execute(f"SELECT {', '.join(columns)} FROM {table}"),
                                 key=repr)
    return rows


@pytest.mark.slow
@needs_spark
@needs_static
def test_a_backfill_stopped_before_its_headlines_is_finished_by_running_it_again(
        spark, tmp_path: Path, monkeypatch):
    """Stopped at the last step (headlines and summaries; it was a second transaction,
    and a rerun refused the store that the first had left with snippets), the store
    holds nothing, and the same backfill again writes what a clean run writes."""
    import storyline.pipeline.describe as describe
    from storyline.spark.backfill import backfill
    from storyline.spark.job import cluster_archive
    from storyline.store import open_store

    config = preset("fast")
    run = cluster_archive(spark, _stream(tmp_path)[0], config)
    real = describe.describe_stories

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # as a Ctrl-C or a kill there

    monkeypatch.setattr(describe, "describe_stories", stopped)
    with open_store(tmp_path / "stopped.db") as store:
        with pytest.raises(KeyboardInterrupt):
            backfill(run, store, config)
        assert not store.has_snippets()
    monkeypatch.setattr(describe, "describe_stories", real)
    with open_store(tmp_path / "stopped.db") as store:
        again = backfill(run, store, config)
    with open_store(tmp_path / "clean.db") as store:
        clean = backfill(run, store, config)
    assert again == clean
    stopped_rows, clean_rows = _store_rows(tmp_path / "stopped.db"), _store_rows(
        tmp_path / "clean.db")
    assert stopped_rows == clean_rows
    assert any(row[-1] for row in clean_rows["stories"])  # headlines written


@pytest.mark.slow
@needs_spark
@needs_static
def test_backfill_then_ingest_goes_on_online(tmp_path: Path):
    """The first batch backfilled on Spark, the second ingested online: the stories
    of a single-machine run over both, and a consistent store."""
    from storyline.jobs import cluster_records

    records = seed_records()
    first = [r for r in records if r.batch == records[0].batch]
    archive = write_jsonl(first, tmp_path / "archive.jsonl")
    db = tmp_path / "hand.db"
    run_process("spark", "backfill", str(archive), "--db", str(db), "--fast", "--master", MASTER,
                timeout=900)
    later = sorted(SEEDS.glob("*.txt"))[1]
    run_cli("ingest", "--db", str(db), str(later))
    assert "consistent" in run_cli("check", "--db", str(db)).stdout
    listed = json.loads(run_cli("stories", "--db", str(db), "--json").stdout)["stories"]
    assert listed and all(s.get("headline") for s in listed)
    from storyline.store import Store

    with Store(db) as store:
        got = {f"{seq}:{pos}": str(store.resolve(story))
               for seq, pos, _, _, story in store.copy_stories()}
    whole = cluster_records(records, preset("fast"))
    positions: dict[str, int] = {}
    want = {}
    for r, row in zip(records, whole):
        seq = 1 if r.batch == records[0].batch else 2
        pos = positions.get(r.batch, 0)
        positions[r.batch] = pos + 1
        want[f"{seq}:{pos}"] = row["story"]
    assert score_clusters(got, want).b3_f1 >= 0.95


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
