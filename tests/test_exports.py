"""storyline export: streamed a story at a time, the same text as built whole, and a
file replaced only once it is written whole."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from storyline import exports
from storyline.api import Storyline
from storyline.shapes import dumps
from tests.conftest import SEEDS, run_cli

WORDS_ONLY = {"model": "none", "extract_facts": False}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db = tmp_path_factory.mktemp("exports") / "seeds.db"
    with Storyline(db, **WORDS_ONLY) as sl:
        sl.ingest(SEEDS)
    return db


def test_streamed_json_is_the_document_built_whole(store):
    with Storyline(store, **WORDS_ONLY) as sl:
        whole = dumps({"counts": sl.store.counts(),
                       "stories": [sl.story(s.id) for s in sl.stories()]})
        streamed = "".join(exports.json_chunks(sl))
        assert len(sl.stories()) > 2
    assert streamed == whole
    assert run_cli("export", "--format", "json", "--db", str(store)).stdout == whole + "\n"


def test_csv_has_a_row_per_snippet_and_markdown_a_section_per_story(store):
    with Storyline(store, **WORDS_ONLY) as sl:
        stories = sl.stories()
        snippets = sum(s.size for s in stories)
    rows = list(csv.DictReader(io.StringIO(
        run_cli("export", "--format", "csv", "--db", str(store)).stdout)))
    assert len(rows) == snippets and len({r["story_id"] for r in rows}) == len(stories)
    md = run_cli("export", "--format", "md", "--db", str(store)).stdout
    assert md.startswith("# Briefing\n\n") and md.count("\n## ") == len(stories)
    assert md.endswith("\n") and not md.endswith("\n\n")


def test_an_export_that_fails_leaves_the_file_as_it_was(store, tmp_path, monkeypatch):
    target = tmp_path / "briefing.md"
    target.write_text("yesterday's briefing\n", encoding="utf-8")
    seen = []
    story = Storyline.story

    def fail_on_the_third(self, story_id):
        seen.append(story_id)
        if len(seen) == 3:
            raise OSError(28, "No space left on device")
        return story(self, story_id)

    monkeypatch.setattr(Storyline, "story", fail_on_the_third)
    for fmt in ("md", "csv", "json"):
        seen.clear()
        failed = run_cli("export", "--format", fmt, "--db", str(store), "--out", str(target),
                         check=False)
        assert failed.returncode == 1 and "No space left" in failed.stderr
        assert target.read_text(encoding="utf-8") == "yesterday's briefing\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["briefing.md"]
    monkeypatch.undo()
    done = run_cli("export", "--format", "md", "--db", str(store), "--out", str(target))
    assert target.read_text(encoding="utf-8").startswith("# Briefing")
    stories = target.read_text(encoding="utf-8").count("\n## ")
    assert f"export: {stories}/{stories}" in done.stderr  # progress, for a log


def test_parquet_is_written_in_row_groups_with_the_csv_rows(store, tmp_path):
    pytest.importorskip("pyarrow")
    # pyarrow in a process of its own (see test_cli's export test).
    script = f"""
import csv, io, json, sys
import pyarrow.parquet as pq
from storyline import exports
from storyline.api import Storyline
exports.PARQUET_ROWS = 5
with Storyline({str(store)!r}, model="none", extract_facts=False) as sl:
    exports.export(sl, "parquet", __import__("pathlib").Path({str(tmp_path / "t.parquet")!r}),
                   sys.stdout)
    buffer = io.StringIO()
    exports.export(sl, "csv", None, buffer)
table = pq.ParquetFile({str(tmp_path / "t.parquet")!r})
rows = table.read().to_pylist()
from_csv = list(csv.DictReader(io.StringIO(buffer.getvalue())))
same = [{{k: "" if v is None else str(v) for k, v in r.items()}} for r in rows]
# the CSV quotes a formula-like text; the seeds have none
print(json.dumps([table.num_row_groups, len(rows), same == from_csv]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    groups, count, same = json.loads(done.stdout.strip().splitlines()[-1])
    assert count > 10 and groups >= count // 5 and same
