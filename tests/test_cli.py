"""The command end to end on the bundled seeds, on real SQLite: in this process (typer's
runner) where the process boundary is not what is tested, in real processes (slow) where it is."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from storyline.api import Storyline
from storyline.store import Store

from .conftest import SEEDS, needs_minilm, needs_static, run_cli, run_process

SWAP = "Zelensky has said he is willing to release North Korean soldiers"
TROOPS = "Over 12,000 North Korean troops"
REPEAT = "Ukraine captured two wounded North Korean soldiers who were fighting"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    db = tmp_path_factory.mktemp("seeds") / "seeds.db"
    run_cli("ingest", "--db", str(db), str(SEEDS))
    return db


@needs_minilm
def test_main_story_holds_the_kursk_lines_and_the_repeats_are_copies(seeded):
    stories = json.loads(run_cli("stories", "--db", str(seeded), "--json").stdout)["stories"]
    main = stories[0]
    assert "North Korean soldiers" in main["headline"]
    detail = json.loads(run_cli("show", str(main["id"]), "--db", str(seeded), "--json").stdout)
    texts = [s["text"] for s in detail["snippets"]]
    assert any(t.startswith(TROOPS) for t in texts)
    assert any(SWAP in t for t in texts)
    repeat = next(s for s in detail["snippets"] if s["text"].startswith(REPEAT))
    assert [(c["batch"], c["kind"]) for c in repeat["copies"]] == [("000", "original"),
                                                                 ("002", "exact")]
    counts = {(t["batch"]): t["snippets"] for t in detail["batches"]}
    assert counts["000"] >= 5 and counts["002"] >= 5
    # 24 lines, two of them copies: 22 snippets in all.
    assert sum(s["size"] for s in stories) == 22


@needs_minilm
def test_changes_of_002_list_the_news_and_not_the_repeat(seeded):
    changes = json.loads(run_cli("changes", "002", "--db", str(seeded), "--json").stdout)[
        "changes"]
    assert json.loads(run_cli("changes", "--batch", "002", "--db", str(seeded),
                              "--json").stdout)["changes"] == changes
    main = next(c for c in changes if any(s["text"].startswith(TROOPS) for s in c["new"]))
    new = [s["text"] for s in main["new"]]
    assert any(SWAP in t for t in new)
    assert not any(t.startswith(REPEAT) for t in new)
    assert any(s["text"].startswith(REPEAT) for s in main["repeated"])


@needs_minilm
def test_search_finds_the_swap(seeded):
    hits = json.loads(run_cli("search", "prisoner swap", "--db", str(seeded), "--json").stdout)[
        "hits"]
    assert hits and "swap" in " ".join(h["text"] for h in hits[:2]).lower()


@needs_minilm
def test_export_markdown_and_json(seeded):
    md = run_cli("export", "--format", "md", "--db", str(seeded)).stdout
    assert md.startswith("# Briefing") and "North Korean" in md
    data = json.loads(run_cli("export", "--format", "json", "--db", str(seeded)).stdout)
    assert data["counts"]["snippets"] == 22 and data["counts"]["copies"] == 24


def test_exports_keep_an_outlet_s_text_as_text(tmp_path):
    """Markdown escapes what it would render (a link, a tag, a heading); CSV starts what a
    spreadsheet would run as a formula with a quote; an empty parquet has the types."""
    import csv
    import io

    db, src = tmp_path / "odd.db", tmp_path / "odd.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in [
        "<script>alert(1)</script> Harbour fire [see](javascript:alert(1)) # not a heading",
        "=HYPERLINK(\"http://evil.example\",\"Click\") harbour fire spreads",
        "-12 degrees forecast for the harbour tonight"]))
    run_cli("ingest", str(src), "--db", str(db), "--model", "none")
    md = run_cli("export", "--format", "md", "--db", str(db)).stdout
    assert "\\<script\\>" in md and "\\[see\\](javascript:" in md and "\\# not" in md
    assert not re.search(r"(?<!\\)[<\[]", md.split("\n", 3)[3])  # none left unescaped
    rows = list(csv.DictReader(io.StringIO(
        run_cli("export", "--format", "csv", "--db", str(db)).stdout)))
    texts = {r["text"] for r in rows}
    assert "'=HYPERLINK(\"http://evil.example\",\"Click\") harbour fire spreads" in texts
    assert "'-12 degrees forecast for the harbour tonight" in texts
    assert all(r["story_id"].isdigit() for r in rows)  # numbers stay numbers
    pq = pytest.importorskip("pyarrow.parquet")
    empty = tmp_path / "empty.db"
    run_cli("ingest", str(SEEDS / "000_4b9f53198da931bc.txt"), "--db", str(db), "--model",
            "none")
    Store(empty).close()
    run_cli("export", "--format", "parquet", "--out", str(tmp_path / "e.parquet"), "--db",
            str(empty))
    run_cli("export", "--format", "parquet", "--out", str(tmp_path / "f.parquet"), "--db",
            str(db))
    assert pq.read_schema(tmp_path / "e.parquet").field("story_id").type == \
        pq.read_schema(tmp_path / "f.parquet").field("story_id").type


@needs_minilm
def test_reingest_is_a_no_op(seeded):
    before = Store(seeded).counts()
    proc = run_cli("ingest", "--db", str(seeded), str(SEEDS), "--json")
    assert all(r["already_ingested"] for r in json.loads(proc.stdout)["batches"])
    assert Store(seeded).counts() == before


@needs_minilm
@pytest.mark.parametrize("args", [["export"], ["stories", "--json"], ["stories"],
                                  ["search", "North Korean soldiers"]])
def test_a_reader_that_closed_the_pipe_ends_the_command_quietly(seeded, args):
    """`storyline export | head -1`: the reader is gone before the command writes (its
    end of a real pipe closed): exit 0 and nothing on standard error, whether the write
    fails in the command (rich, export's stream) or at the last flush (--json)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "storyline.cli", *args, "--db",
                               str(seeded)], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (0, "")


@pytest.mark.parametrize("args", [["--help"], ["ingest", "--help"]])
def test_help_into_a_closed_pipe_ends_quietly(args):
    """`storyline --help | head -1`: typer answers a closed pipe during the help with
    exit 1; the command's answer is its own (exit 0, nothing on standard error)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "storyline.cli", *args],
                              stdout=write_end, stderr=subprocess.PIPE, text=True,
                              timeout=60)
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (0, "")


def test_a_broken_pipe_other_than_standard_output_is_an_error(monkeypatch):
    """Only standard output's reader going away is a quiet end: a broken pipe to a worker
    while standard output is open is reported (exit 1, one line)."""
    from storyline import cli_support

    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as stdout, os.fdopen(read_end):
        monkeypatch.setattr(sys, "stdout", stdout)
        assert not cli_support.reader_gone(BrokenPipeError(32, "Broken pipe"))
        assert cli_support.error_report(BrokenPipeError(32, "Broken pipe")) == (1, "Broken pipe")


@needs_static
def test_same_batch_name_with_other_content_is_refused(tmp_path):
    db = tmp_path / "s.db"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "001.txt").write_text("one thing happened\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "001.txt").write_text("another thing happened\n")
    run_cli("ingest", "--fast", "--db", str(db), str(tmp_path / "a"))
    proc = run_cli("ingest", "--fast", "--db", str(db), str(tmp_path / "b"), check=False)
    assert proc.returncode == 3 and "already in" in proc.stderr


@needs_static
def test_ingest_reads_a_file_in_the_encoding_it_is_told(tmp_path):
    """A Latin-1 file is refused with a hint at --encoding, read with it, a no-op read
    again; the digest is of the decoded records, so the same text in UTF-8 is the same
    batch; a name that is no encoding is a usage error naming the option."""
    db = tmp_path / "s.db"
    latin = tmp_path / "001.txt"
    text = "Caf\u00e9 owners in Li\u00e8ge protest the new tax\nThe tax takes effect in May\n"
    latin.write_bytes(text.encode("latin-1"))
    refused = run_cli("ingest", "--fast", "--db", str(db), str(latin), check=False)
    assert refused.returncode == 1 and "001.txt:1: not valid UTF-8" in refused.stderr
    assert "--encoding" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    done = run_cli("ingest", "--fast", "--db", str(db), str(latin), "--encoding", "latin-1")
    assert "batch 001: 2 records" in done.stdout
    with Store(db) as store:
        assert [c.raw_text for c in store.batch_copies(1)] == text.splitlines()
    again = run_cli("ingest", "--db", str(db), str(latin), "--encoding", "latin-1")
    assert "already in the store" in again.stdout
    (tmp_path / "utf8").mkdir()
    (tmp_path / "utf8" / "001.txt").write_text(text, encoding="utf-8")
    assert "already in the store" in run_cli("ingest", "--db", str(db),
                                             str(tmp_path / "utf8" / "001.txt")).stdout
    # The UTF-8 copy read as cp1252: other text from the same bytes; the error says so.
    misread = run_cli("ingest", "--db", str(db), str(tmp_path / "utf8" / "001.txt"),
                      "--encoding", "cp1252", check=False)
    assert misread.returncode == 3 and "with other content" in misread.stderr
    assert "read it in the encoding it was read in then (here: --encoding cp1252)" in \
        misread.stderr and len(misread.stderr.strip().splitlines()) == 1
    for wrong in ("nope", "base64"):
        bad = run_cli("ingest", "--db", str(db), str(latin), "--encoding", wrong, check=False)
        assert bad.returncode == 2 and bad.stderr.startswith("error: --encoding: ")
        assert len(bad.stderr.strip().splitlines()) == 1
    with Storyline(db) as sl:
        assert sl.ingest(latin, encoding="latin-1")[0].already_ingested
    assert Store(db).counts()["copies"] == 2


@needs_static
def test_bad_line_stops_the_batch_whole_and_names_it(tmp_path):
    db = tmp_path / "s.db"
    bad = tmp_path / "001.jsonl"
    bad.write_text('{"text": "Fed holds rates"}\n{"text": oops}\n')
    proc = run_cli("ingest", "--fast", "--db", str(db), str(bad), check=False)
    assert proc.returncode == 1
    assert "001.jsonl:2: bad JSON" in proc.stderr
    assert Store(db).counts()["copies"] == 0
    proc = run_cli("ingest", "--fast", "--skip-bad", "--db", str(db), str(bad))
    assert "skipped" in proc.stderr and Store(db).counts()["copies"] == 1


@needs_static
def test_db_from_environment(tmp_path):
    db = tmp_path / "env.db"
    run_cli("ingest", "--fast", str(SEEDS / "000_4b9f53198da931bc.txt"),
            env={"STORYLINE_DB": str(db)})
    assert Store(db).counts()["copies"] == 12


def test_reading_a_missing_store_is_an_error(tmp_path):
    proc = run_cli("stories", "--db", str(tmp_path / "none.db"), check=False)
    assert proc.returncode == 1 and "no store" in proc.stderr


@pytest.mark.slow
@needs_static
def test_kill_mid_ingest_then_rerun_completes_once(tmp_path):
    db = tmp_path / "kill.db"
    batch = tmp_path / "001_big.txt"
    batch.write_text("\n".join(f"Item {i} about topic {i % 97} with words w{i % 13} and "
                               f"x{i % 7}" for i in range(6_000)) + "\n")
    env = {**os.environ}
    proc = subprocess.Popen([sys.executable, "-m", "storyline.cli", "ingest", "--fast", "--db",
                             str(db), str(batch)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(3)  # start-up takes about one second, the batch several
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Store(db) as store:
        assert store.check() == []
        counts = store.counts()
        # All or nothing: the batch is one transaction (the kill may, rarely, come
        # after its commit).
        assert counts == {"batches": 0, "snippets": 0, "copies": 0, "stories": 0,
                          "merges": 0} or (counts["batches"], counts["copies"]) == (1, 6_000)
    run_process("ingest", "--fast", "--db", str(db), str(batch))
    run_process("ingest", "--fast", "--db", str(db), str(batch))
    with Store(db) as store:
        assert store.check() == []
        assert store.counts()["batches"] == 1 and store.counts()["copies"] == 6_000


@needs_static
def test_cluster_interface_keeps_input_order_and_names_duplicates(tmp_path):
    items = [
        {"id": "a", "text": "Fed official says weak data caused by weather", "batch": "2"},
        {"id": "b", "text": "Apple releases iOS 7.1 with CarPlay", "batch": "2"},
        {"id": "c", "text": "Fed official says weak data caused by weather", "batch": "1"},
        {"id": "d", "text": "Fed's Plosser: weak data caused by weather, taper should go on",
         "batch": "1"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(i) for i in items))
    dst = tmp_path / "out.jsonl"
    run_cli("cluster", str(src), "--out", str(dst), "--fast")
    rows = [json.loads(line) for line in dst.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c", "d"]
    # Batch "2" appears first, so it is processed first: "a" is the canonical copy.
    assert rows[2]["duplicate_of"] == "a" and rows[0]["duplicate_of"] is None
    assert rows[0]["story"] == rows[2]["story"] != rows[1]["story"]
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps({"id": i, "story": s})
                              for i, s in zip("abcd", ["fed", "apple", "fed", "fed"])))
    scores = json.loads(run_cli("eval", "clusters", str(dst), "--gold", str(gold),
                                "--json").stdout)
    assert 0 < scores["b3_f1"] <= 1


def test_quiet_leaves_out_the_progress_lines_too(tmp_path):
    src = SEEDS / "000_4b9f53198da931bc.txt"
    loud = run_cli("ingest", str(src), "--db", str(tmp_path / "a.db"), "--model", "none")
    quiet = run_cli("-q", "ingest", str(src), "--db", str(tmp_path / "b.db"), "--model", "none")
    assert "read:" in loud.stderr and quiet.stderr == ""
    assert "batch 000: 12 records" in quiet.stdout


def test_models_list_names_only_finished_builds(tmp_path, monkeypatch):
    (tmp_path / "junk").mkdir()
    (tmp_path / "static-minilm").mkdir()  # a build stopped before its manifest
    monkeypatch.setenv("STORYLINE_MODELS", str(tmp_path))
    assert "no models in" in run_cli("models", "list").stdout


def test_items_without_ids_are_numbered_around_the_ids_given(tmp_path):
    from storyline.cli_support import read_items
    from storyline.errors import InputError

    src = tmp_path / "mixed.jsonl"
    src.write_text('{"text": "one"}\n{"id": "1", "text": "two"}\n{"text": "three"}\n')
    assert [r.id for r in read_items(src)] == ["line-1-1", "1", "3"]
    src.write_text('{"id": "x", "text": "one"}\n{"id": "x", "text": "two"}\n')
    with pytest.raises(InputError, match=r"mixed.jsonl:2: duplicate id 'x'"):
        read_items(src)


@needs_static
def test_cluster_on_a_kept_store_names_canonicals_of_earlier_runs(tmp_path):
    db = tmp_path / "kept.db"
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(json.dumps({"id": "x1", "batch": "1",
                                 "text": "Fed official says weak data caused by weather"}))
    second.write_text("\n".join(json.dumps(i) for i in [
        {"id": "y1", "batch": "2", "text": "Apple releases iOS 7.1 with CarPlay"},
        {"id": "y2", "batch": "2", "text": "Fed official says weak data caused by weather"},
    ]))
    run_cli("cluster", str(first), "--out", str(tmp_path / "o1.jsonl"), "--db", str(db),
            "--fast")
    run_cli("cluster", str(second), "--out", str(tmp_path / "o2.jsonl"), "--db", str(db),
            "--fast")
    (x1,) = [json.loads(line) for line in (tmp_path / "o1.jsonl").read_text().splitlines()]
    y1, y2 = [json.loads(line) for line in (tmp_path / "o2.jsonl").read_text().splitlines()]
    # y2 repeats x1, stored by the first run: it names x1 and joins x1's story.
    assert y2 == {"id": "y2", "story": x1["story"], "duplicate_of": "x1"}
    assert y1["duplicate_of"] is None and y1["story"] != x1["story"]


QUAKE = [
    {"id": "1", "batch": "1", "text": "An earthquake of magnitude 6.1 struck northern Chile "
     "on Monday. Buildings shook in the capital. No damage was reported at first."},
    {"id": "2", "batch": "2", "text": "Rescue teams reached remote villages in northern "
     "Chile on Tuesday. Three people died and dozens were injured, officials said."},
    {"id": "3", "batch": "3", "text": "Chile's government declared a state of emergency "
     "in the region. Aid arrived from neighbouring Peru."},
]


def summarize_cli(tmp_path, items: list[dict], *options: str) -> list[dict]:
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.json"
    src.write_text("\n".join(json.dumps(i) for i in items))
    run_cli("summarize", str(src), "--out", str(dst), *options)
    return json.loads(dst.read_text())["batches"]


def test_summarize_reads_text_without_spaces_between_words(tmp_path):
    items = [{"id": "1", "batch": "1", "text": "东京电力公司周一表示，福岛核电站的处理水将于下周"
              "开始排放。日本政府已批准该计划。"},
             {"id": "2", "batch": "2", "text": "福岛核电站处理水的第一轮排放已于周四开始，"
              "中国宣布暂停进口日本水产品。"}]
    batches = summarize_cli(tmp_path, items, "--words", "30", "--model", "none")
    assert "处理水将于下周开始排放。" in batches[0]["summary"]
    assert batches[1]["update"].startswith("福岛核电站处理水的第一轮排放")
    assert "。." not in batches[1]["summary"]


@needs_static
def test_summarize_interface(tmp_path):
    batches = summarize_cli(tmp_path, QUAKE, "--words", "25", "--preset", "fast")
    assert [b["batch"] for b in batches] == ["1", "2", "3"]
    assert batches[0]["summary"] == batches[0]["update"]
    for b in batches:
        assert 0 < len(b["summary"].split()) <= 25 and len(b["update"].split()) <= 25
    assert "Peru" in batches[2]["update"] or "emergency" in batches[2]["update"]
    assert "earthquake" not in batches[2]["update"]


def test_summarize_runs_without_an_encoder(tmp_path):
    first, second, third = summarize_cli(tmp_path, QUAKE, "--words", "30", "--model", "none")
    assert "earthquake" in first["summary"] and "earthquake" not in second["update"]
    assert "Rescue teams" in second["update"] and len(second["summary"].split()) <= 30
    assert "emergency" in third["update"]


# Two events of one kind in one input: a query asks about one of them.
TWO_FIRES = [
    {"id": "1", "batch": "1", "text": "A fire destroyed a dairy warehouse in Palmer, Alaska, "
     "on Tuesday morning. Firefighters from three towns fought the blaze for hours."},
    {"id": "2", "batch": "1", "text": "A fire gutted a supermarket in Wellington, Somerset, "
     "overnight. Police charged a 24-year-old man with arson on Friday."},
    {"id": "3", "batch": "1", "text": "The Palmer warehouse, built in 1935, was on the "
     "national register of historic places. Its owners had planned to restore it."},
    {"id": "4", "batch": "1", "text": "The Somerset supermarket will stay closed for months, "
     "its owners said. Dozens of staff were moved to other stores in the county."},
]


@pytest.mark.parametrize("model", [
    pytest.param("static", marks=needs_static),
    "none",  # words alone
])
def test_summarize_focuses_on_the_query(tmp_path, model):
    (only,) = summarize_cli(tmp_path, TWO_FIRES, "--words", "40", "--model", model,
                            "--query", "the fire at the Somerset supermarket")
    assert "Somerset" in only["summary"] and "Palmer" not in only["summary"]
    (other,) = summarize_cli(tmp_path, TWO_FIRES, "--words", "40", "--model", model,
                             "--query", "Palmer dairy warehouse fire in Alaska")
    assert "Palmer" in other["summary"] and "Somerset" not in other["summary"]


@needs_static
def test_summaries_of_wire_articles_start_from_their_leads(tmp_path):
    articles = [
        {"id": "1", "text": "Quake Hits Northern Japan\nBy JANE DOE, Associated Press Writer\n"
         "TOKYO (AP) _ A strong earthquake of magnitude 6.8 shook northern Japan on Friday, "
         "officials said.\nHouses collapsed in two coastal towns, and power was cut to "
         "thousands of homes across the region for hours.\nThe weather agency said more "
         "aftershocks could follow, and urged people to stay away from the coast."},
        {"id": "2", "text": "Strong Quake Rattles Japan\nTOKYO _ Rescuers searched collapsed "
         "houses on Saturday after a magnitude 6.8 earthquake hit northern Japan.\nThe prime "
         "minister promised help for the towns, which many older residents had never seen "
         "so badly damaged."},
    ]
    (only,) = summarize_cli(tmp_path, articles, "--words", "40", "--model", "static")
    assert only["summary"].startswith("A strong earthquake of magnitude 6.8 shook")
    assert "Rescuers searched collapsed houses" in only["summary"]
    for furniture in ("TOKYO", "(AP)", "JANE DOE", "Quake Hits", "Rattles"):
        assert furniture not in only["summary"]


def test_help_documents_every_command():
    text = run_cli("--help").stdout
    for command in ("ingest", "stories", "show", "changes", "search", "export", "cluster",
                    "summarize", "eval", "models", "check", "batches", "facts", "serve",
                    "watch"):
        assert command in text


@needs_minilm
def test_story_facts_on_the_seeds(seeded):
    main = json.loads(run_cli("stories", "--db", str(seeded), "--json").stdout)["stories"][0]
    rows = json.loads(run_cli("facts", str(main["id"]), "--db", str(seeded), "--json").stdout)[
        "facts"]
    with Store(seeded) as store:  # the default preset reads facts at ingest
        assert len(store.facts_of(list(range(1, 23)))) == 22
    by_value = {r["value"]: r for r in rows}
    # The seeds name no outlets: two snippets back the fact, none corroborates it.
    assert by_value[300]["status"] == "single-source" and len(by_value[300]["snippet_ids"]) == 2
    assert by_value[300]["outlets"] == [] and by_value[300]["independent"] == 0
    assert by_value[12000]["first_batch"] == "002"
    assert not any(r["status"] == "contradicted" for r in rows)


def test_per_snippet_facts_interface(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "x", "text": "Over 12,000 North Korean troops are "
                              "estimated to be fighting in Russia's Kursk region."}) + "\n"
                   + json.dumps({"id": "y", "text": ""}) .replace('""', '"  "') + "\n")
    dst = tmp_path / "out.jsonl"
    run_cli("facts", str(src), "--out", str(dst))
    row, empty = [json.loads(line) for line in dst.read_text().splitlines()]
    assert empty == {"id": "y", "quantities": [], "attributions": [], "entities": []}
    assert row["id"] == "x" and row["quantities"][0]["value"] == 12000
    assert row["quantities"][0]["qualifier"] == "over"
    src.write_text('{"id": "z", "text": "ok"}\n{broken\n')
    proc = run_cli("facts", str(src), check=False)
    assert proc.returncode == 1 and "in.jsonl:2: bad JSON" in proc.stderr
    src.write_text('{"id": "z", "text": "ok", "x": ' + "[" * 5000 + "]" * 5000 + "}\n")
    proc = run_cli("facts", str(src), check=False)
    assert proc.returncode == 1 and "in.jsonl:1: bad JSON: nested too deep" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
@needs_static
def test_a_later_batch_in_a_new_process_continues_the_store(tmp_path):
    db = tmp_path / "s.db"
    run_process("ingest", "--fast", "--db", str(db), str(SEEDS / "000_4b9f53198da931bc.txt"))
    # A new process: the duplicate index is rebuilt from the stored signatures.
    run_process("ingest", "--fast", "--db", str(db), str(SEEDS / "002_f7d9a4acb61229ed.txt"))
    with Store(db) as store:
        assert store.check() == []
        assert store.counts()["copies"] == 24 and store.counts()["snippets"] == 22


@needs_minilm
def test_a_store_refuses_a_different_model(tmp_path):
    db = tmp_path / "s.db"
    run_cli("ingest", "--fast", "--db", str(db), str(SEEDS / "000_4b9f53198da931bc.txt"))
    proc = run_cli("ingest", "--preset", "default", "--db", str(db),
                   str(SEEDS / "002_f7d9a4acb61229ed.txt"), check=False)
    assert proc.returncode == 3 and "--model static" in proc.stderr
    assert Store(db).counts()["batches"] == 1


def test_a_store_that_is_not_there_is_not_made_by_a_read(tmp_path):
    from storyline.errors import NotFoundError

    missing = tmp_path / "none.db"
    with pytest.raises(NotFoundError, match="no store at"):
        Storyline(missing, create=False)
    assert run_cli("stories", "--db", str(missing), check=False).returncode == 1
    assert not missing.exists()


@pytest.mark.slow
def test_a_sentence_transformers_folder_that_is_not_there_is_a_model_error(tmp_path):
    proc = run_cli("ingest", "--db", str(tmp_path / "s.db"), "--model",
                   f"st:{tmp_path / 'no-model'}", str(SEEDS / "000_4b9f53198da931bc.txt"),
                   check=False)
    assert proc.returncode == 4 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args,code,says", [
    (["stories", "--limit", "-1"], 2, "not in the range"),
    (["stories", "--offset", "-5"], 2, "not in the range"),
    (["stories", "--offset", "99999999999999999999"], 2, "not in the range"),
    (["show", "1", "--limit", "-1"], 2, "not in the range"),
    (["show", "9223372036854775808"], 2, "not in the range"),
    (["changes", "000", "--offset", "-1"], 2, "not in the range"),
    (["search", "quake", "--limit", "0"], 2, "not in the range"),
    (["facts", "99999999999999999999"], 1, "no story 99999999999999999999"),
    (["facts", "²"], 1, "²: no such file"),  # a digit to str.isdigit, no story id
    (["export", "--format", "md", "--out", "{tmp}/no-folder/x.md"], 1,
     "no-folder/x.md: No such file or directory"),
    (["export", "--format", "json", "--out", "{tmp}"], 1, "Is a directory"),
])
def test_numbers_and_paths_out_of_bounds_are_one_line(seeded, tmp_path, args, code, says):
    """As the HTTP API answers 422 for them: no traceback, no overflow, no negative page."""
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = run_cli(*args, "--db", str(seeded), check=False)
    assert proc.returncode == code and says in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


@needs_static
def test_a_store_goes_on_with_the_preset_it_was_built_with(tmp_path):
    # Built with --fast; every later command, without the flag, reads and writes it so.
    db = tmp_path / "s.db"
    run_cli("ingest", "--fast", "--db", str(db), str(SEEDS / "000_4b9f53198da931bc.txt"))
    run_cli("ingest", "--db", str(db), str(SEEDS / "002_f7d9a4acb61229ed.txt"))
    hits = json.loads(run_cli("search", "prisoner swap", "--db", str(db), "--json").stdout)[
        "hits"]
    assert hits and "North Korean" in hits[0]["headline"] + hits[0]["text"]
    with Store(db) as store:
        assert store.counts()["batches"] == 2
        assert store.get_state("preset") in ("fast", b"fast")
    # A model that is not there is one line and exit 4, not a traceback.
    proc = run_cli("search", "swap", "--db", str(db), check=False,
                   env={"STORYLINE_MODELS": str(tmp_path / "no-models")})
    assert proc.returncode == 4 and "storyline models build" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("args", "code", "says"), [
    (["stories", "--db", "{tmp}/none.db"], 1, "no store at"),
    (["ingest", "--preset", "nope", "--db", "{tmp}/s.db", "{tmp}"], 2, "unknown preset"),
    (["eval", "clusters", "{tmp}/none.jsonl", "--gold", "{tmp}/none.jsonl"], 1, "none.jsonl"),
])
def test_errors_reach_a_user_in_one_line_with_their_exit_code(tmp_path, args, code, says):
    proc = run_process(*(a.format(tmp=tmp_path) for a in args), check=False)
    assert proc.returncode == code and says in proc.stderr
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1


# -- the command's niceties (issue 15) --------------------------------------------------


def test_version_and_python_dash_m():
    assert run_cli("--version").stdout.startswith("storyline ")
    proc = subprocess.run([sys.executable, "-m", "storyline", "--version"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("storyline ")
    assert "--install-completion" in run_cli("--help").stdout


def test_help_has_no_type_noise():
    for command in ("ingest", "export", "facts", "serve", "stories", "changes"):
        text = run_cli(command, "--help").stdout
        for noise in ("<bool>", "<list[", "<str>", "{paths}", " .\n"):
            assert noise not in text, (command, noise)
    assert "File to write [default:" in run_cli("export", "--help").stdout
    assert "[default: 0]" not in run_cli("--help").stdout


@needs_minilm
def test_db_before_the_command_and_changes_positional(seeded):
    first = run_cli("--db", str(seeded), "stories", "--json").stdout
    assert first == run_cli("stories", "--db", str(seeded), "--json").stdout
    assert "changed" not in run_cli("--db", str(seeded), "changes", "002").stderr
    proc = run_cli("--db", str(seeded), "changes", check=False)
    assert proc.returncode == 2 and "which batch" in proc.stderr


@needs_minilm
def test_unknown_status_is_a_usage_error(seeded):
    proc = run_cli("stories", "--status", "foo", "--db", str(seeded), check=False)
    assert proc.returncode == 2 and "unknown status 'foo'" in proc.stderr


@needs_minilm
def test_facts_out_writes_the_file(seeded, tmp_path):
    main = json.loads(run_cli("stories", "--db", str(seeded), "--json").stdout)["stories"][0]
    out = tmp_path / "facts.jsonl"
    proc = run_cli("facts", str(main["id"]), "--db", str(seeded), "--out", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and proc.stdout == "" and f"wrote {out}" in proc.stderr
    shown = json.loads(run_cli("facts", str(main["id"]), "--db", str(seeded), "--json").stdout)
    assert shown == {"story_id": main["id"], "facts": rows}


@needs_minilm
def test_check_json(seeded):
    body = json.loads(run_cli("check", "--json", "--db", str(seeded)).stdout)
    assert body["consistent"] is True and body["problems"] == []
    assert body["counts"]["snippets"] == 22


@pytest.mark.slow
@needs_minilm
def test_export_csv_parquet_svg_png(seeded, tmp_path):
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(run_cli("export", "--format", "csv", "--db",
                                                   str(seeded)).stdout)))
    assert len(rows) == 22 and {"story_id", "snippet_id", "text"} <= set(rows[0])
    svg = run_cli("export", "--format", "svg", "--db", str(seeded)).stdout
    total = json.loads(run_cli("stories", "--db", str(seeded), "--json").stdout)["total"]
    assert svg.startswith("<svg") and svg.count('class="series"') == min(total, 8)
    proc = run_cli("export", "--format", "parquet", "--db", str(seeded), check=False)
    assert proc.returncode == 2 and "--out" in proc.stderr
    # pyarrow and cairosvg run in a process of their own: loaded into the test process
    # beside onnxruntime and torch they crashed it now and then (a native thread).
    has_pyarrow = importlib.util.find_spec("pyarrow") is not None
    out = tmp_path / "s.parquet"
    proc = run_process("export", "--format", "parquet", "--db", str(seeded), "--out", str(out),
                       check=False)
    if not has_pyarrow:
        assert proc.returncode == 2 and "pyarrow" in proc.stderr
    else:
        data = out.read_bytes()
        assert proc.returncode == 0 and data[:4] == data[-4:] == b"PAR1"
    png = tmp_path / "s.png"
    proc = run_process("export", "--format", "png", "--db", str(seeded), "--out", str(png),
                       check=False)
    assert (proc.returncode == 0 and png.read_bytes()[:4] == b"\x89PNG") or (
        proc.returncode == 2 and "cairosvg" in proc.stderr)
    assert run_cli("export", "--format", "doc", "--db", str(seeded), check=False
                   ).returncode == 2


def test_cluster_writes_story_ids_as_numbers(tmp_path):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(json.dumps({"id": str(n), "text": t, "batch": "1"}) for n, t in
                             enumerate(["Fed holds rates steady", "Apple ships iOS 7.1"])))
    run_cli("cluster", str(src), "--out", str(dst), "--model", "none")
    rows = [json.loads(line) for line in dst.read_text().splitlines()]
    assert all(isinstance(r["story"], int) for r in rows)


def test_cluster_reads_a_file_in_the_encoding_named(tmp_path):
    """`cluster --encoding` (its error said to name the encoding, and it had no option):
    a cp1252 file clusters as its UTF-8 copy; without the option, an error at its line."""
    texts = ["Fed holds rates steady at 5\u20ac", "\u2018Caf\xe9\u2019 chain closes stores"]
    lines = [json.dumps({"id": str(n), "text": t, "batch": "1"}, ensure_ascii=False)
             for n, t in enumerate(texts)]
    utf8, cp1252 = tmp_path / "utf8.jsonl", tmp_path / "cp1252.jsonl"
    utf8.write_text("\n".join(lines), encoding="utf-8")
    cp1252.write_text("\n".join(lines), encoding="cp1252")
    for src, encoding in ((utf8, "utf-8"), (cp1252, "cp1252")):
        run_cli("cluster", str(src), "--out", str(tmp_path / f"{encoding}.out"), "--model",
                "none", "--encoding", encoding)
    assert (tmp_path / "cp1252.out").read_text() == (tmp_path / "utf-8.out").read_text()
    refused = run_cli("cluster", str(cp1252), "--out", str(tmp_path / "o"), "--model", "none",
                      check=False)
    assert refused.returncode == 1 and "cp1252.jsonl:1: not valid UTF-8" in refused.stderr
    assert run_cli("cluster", str(cp1252), "--out", str(tmp_path / "o"), "--encoding", "nope",
                   check=False).returncode == 2


def test_model_names_accept_the_old_ones():
    from storyline.options import model_name

    assert model_name("minilm-onnx-int8") == model_name("minilm-onnx") == "minilm"
    assert model_name("minilm-onnx-fp32") == "minilm-fp32"
    assert model_name("static-minilm") == "static" and model_name("none") == "none"


@pytest.mark.slow
def test_ingest_outside_a_terminal_says_how_far_it_is(tmp_path):
    proc = run_process("ingest", "--fast", "--db", str(tmp_path / "s.db"), str(SEEDS))
    lines = proc.stderr.splitlines()
    assert any(line.startswith("read: ") for line in lines), proc.stderr
    assert any(line.startswith("cluster: ") for line in lines), proc.stderr


def test_cli_reference_is_current():
    """docs/cli-reference.md is the commands' --help: regenerate it after changing one."""
    import importlib.util

    from .conftest import ROOT

    spec = importlib.util.spec_from_file_location("cli_reference",
                                                  ROOT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (ROOT / "docs" / "cli-reference.md").read_text(encoding="utf-8")
    assert current == module.reference(), "run: python scripts/cli_reference.py"


def test_a_long_lived_story_keeps_its_row_readable():
    from types import SimpleNamespace

    from storyline.cli_support import batch_span as _batch_span

    few = [SimpleNamespace(batch=b, snippets=n) for b, n in (("000", 10), ("002", 8))]
    assert _batch_span(few) == "000:10 002:8"
    many = [SimpleNamespace(batch=f"b{i:06d}", snippets=1) for i in (151, 152, 153, 287, 930)]
    assert _batch_span(many) == "b000151–b000930 (5)"


def test_an_error_raised_while_ctrl_c_unwinds_is_ctrl_c_and_others_are_one_line():
    from storyline.cli_support import error_report

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("server closed the connection\nunexpectedly") from None
    except RuntimeError as exc:
        with pytest.raises(KeyboardInterrupt):
            error_report(exc)
    code, message = error_report(RuntimeError("server closed the connection\nunexpectedly"))
    assert code == 3 and "\n" not in message and "connection unexpectedly" in message


@pytest.mark.parametrize("name, value", [("STORYLINE_COMMIT_RECORDS", "abc"),
                                         ("STORYLINE_COMMIT_RECORDS", "0"),
                                         ("STORYLINE_BUSY_TIMEOUT", "abc"),
                                         ("STORYLINE_BUSY_TIMEOUT", "-1"),
                                         ("STORYLINE_BUSY_TIMEOUT", "inf")])
def test_a_setting_that_is_no_number_is_said_not_ignored(tmp_path, name, value):
    batch = tmp_path / "001.txt"
    batch.write_text("Floods close the valley road.\n")
    done = run_cli("ingest", "--db", str(tmp_path / "s.db"), "--model", "none", str(batch),
                   env={name: value}, check=False)
    assert done.returncode == 2 and f"{name}={value!r}" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
