"""Files a command is told to write (--out): never over what it reads, never half written."""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from storyline.outfile import replacing

from .conftest import SEEDS, run_cli


def _items(path: Path, n: int = 60) -> Path:
    path.write_text("".join(json.dumps({
        "id": f"a{i}", "batch": str(i // 20),
        "text": f"Acme said on Monday its sales rose {i} % to $ {i + 3} million in item {i}, "
                "the chief executive told reporters."}) + "\n" for i in range(n)),
        encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("outputs") / "news.db"
    run_cli("ingest", "--db", str(db), "--model", "none", str(SEEDS))
    return db


@pytest.mark.parametrize("command", [
    ["cluster", "IN", "--model", "none", "--out", "IN"],
    ["summarize", "IN", "--model", "none", "--out", "IN"],
    ["facts", "IN", "--out", "IN"],
])
def test_out_onto_the_input_is_refused_and_the_input_kept(tmp_path, command):
    items = _items(tmp_path / "items.jsonl")
    before = items.read_bytes()
    link = tmp_path / "link.jsonl"
    link.symlink_to(items)
    for out in (items, link):  # the same file by another name too
        args = [str(items) if a == "IN" else a for a in command]
        args[-1] = str(out)
        result = run_cli(*args, check=False)
        assert result.returncode == 2, result.stderr
        assert "is a file this command reads" in result.stderr
        assert items.read_bytes() == before


@pytest.mark.parametrize("command", [
    ["export", "--db", "DB", "--out", "DB"],
    ["facts", "1", "--db", "DB", "--out", "DB"],
    ["cluster", "ITEMS", "--db", "DB", "--out", "DB"],
])
def test_out_onto_the_store_is_refused_and_the_store_kept(tmp_path, store, command):
    db = tmp_path / "copy.db"
    shutil.copy(store, db)
    before = db.read_bytes()
    items = _items(tmp_path / "items.jsonl", 5)
    args = [str(db) if a == "DB" else str(items) if a == "ITEMS" else a for a in command]
    result = run_cli(*args, check=False)
    assert result.returncode == 2, result.stderr
    assert db.read_bytes() == before
    assert run_cli("stories", "--db", str(db)).returncode == 0


def _limited(size: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


@pytest.mark.parametrize("command", [
    ["facts", "IN"],
    ["summarize", "IN", "--model", "none", "--words", "300"],
])
@pytest.mark.slow
def test_no_room_for_the_out_file_leaves_the_old_one_whole(tmp_path, command):
    """A write past the file-size limit (as a full disk): exit 1 naming the file, the
    target as it was, no part file left beside it, no traceback."""
    items = _items(tmp_path / "items.jsonl")
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    args = [str(items) if a == "IN" else a for a in command] + ["--out", str(out)]
    proc = subprocess.run([sys.executable, "-m", "storyline.cli", *args], capture_output=True,
                          text=True, preexec_fn=_limited(1024), timeout=300,
                          env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {out}: File too large"]
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.jsonl", "out.jsonl"]


def test_replacing_names_the_target_of_a_failed_write(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(OSError) as caught:
        with replacing(target) as fh:
            fh.write("x")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert caught.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["md", "json", "csv"])
def test_an_export_to_a_reader_gone_leaves_no_traceback(store, monkeypatch, fmt):
    """`storyline export | head -1`: the pipe closes mid-export; the chunks' generator is
    closed while the store is open, not by the garbage collector after it closed (which
    printed "Exception ignored ... Cannot operate on a closed database")."""
    import gc

    from storyline.api import Storyline
    from storyline.exports import export

    ignored = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)

    class GoneReader:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(BrokenPipeError):
        with Storyline(store) as sl:
            export(sl, fmt, None, GoneReader())
    gc.collect()
    assert ignored == []
