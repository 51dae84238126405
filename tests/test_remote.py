"""``storyline ingest --server``: batch files read by the command, ingested by a running
server (a real uvicorn on a free loopback port, over real SQLite), with what a local
ingest of the same files would have given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storyline import Storyline
from storyline.web.access import WebSettings
from storyline.web.app import create_app
from storyline.web.server import BackgroundServer

from .conftest import SEEDS, run_cli, run_process

TOKEN = "remote-token-0123"


@pytest.fixture
def server(tmp_path):
    """A server over an empty store (words and names only: no model to build)."""
    app = create_app(WebSettings(db=tmp_path / "served.db", token=TOKEN, model="none",
                                 facts=False))
    with BackgroundServer(app) as running:
        running.db = tmp_path / "served.db"
        yield running


def _ingest(server, *args: str, token: str = TOKEN, check: bool = True):
    return run_cli("ingest", *args, "--server", server.url, env={"STORYLINE_TOKEN": token},
                   check=check)


def _stories(db: Path) -> list:
    with Storyline(db) as sl:
        return [(s.headline, s.size, s.copies, s.first_batch, s.last_batch)
                for s in sl.stories()]


def test_the_server_stores_what_a_local_ingest_would(server, tmp_path):
    result = _ingest(server, str(SEEDS), "--json")
    local = tmp_path / "local.db"
    here = run_cli("ingest", str(SEEDS), "--db", str(local), "--model", "none", "--json")
    assert json.loads(result.stdout) == json.loads(here.stdout)  # the same reports
    assert [b["batch"] for b in json.loads(result.stdout)["batches"]] == ["000", "002"]
    assert _stories(server.db) == _stories(local)
    # The same records make the same digests: a local ingest of them is a no-op, and so
    # is the same command again.
    again = run_cli("ingest", str(SEEDS), "--db", str(server.db))
    assert again.stdout.count("already in the store") == 2
    assert _ingest(server, str(SEEDS)).stdout.count("already in the store") == 2


def test_a_bad_line_is_named_here_and_nothing_of_its_batch_is_sent(server, tmp_path):
    good = tmp_path / "monday.jsonl"
    good.write_text('{"text": "A quake struck off the coast of Chile on Monday."}\n')
    bad = tmp_path / "tuesday.jsonl"
    bad.write_text('{"text": "Rescuers reached the town."}\n{"text": 12}\n')
    result = _ingest(server, str(good), str(bad), check=False)
    assert result.returncode == 1
    assert f"{bad}:2:" in result.stderr and "fix it and run the same command" in result.stderr
    with Storyline(server.db) as sl:
        assert [b.name for b in sl.store.batches()] == ["monday"]
    skipped = _ingest(server, str(bad), "--skip-bad")
    assert "batch tuesday: 1 records" in skipped.stdout
    assert "skipped 1 bad record" in skipped.stderr


def test_a_refusal_or_no_server_is_one_line_with_its_exit_code(server, tmp_path):
    wrong = _ingest(server, str(SEEDS), token="not-the-token", check=False)
    assert wrong.returncode == 2 and "refused the batch (401)" in wrong.stderr
    with Storyline(server.db) as sl:
        assert sl.store.batches() == []
    gone = run_cli("ingest", str(SEEDS), "--server", "http://127.0.0.1:9", check=False)
    assert gone.returncode == 7 and "is `storyline serve` running there?" in gone.stderr
    both = run_cli("ingest", str(SEEDS), "--server", server.url, "--db", "x.db", check=False)
    assert both.returncode == 2 and "the server's store" in both.stderr
    spaced = tmp_path / "my file.txt"
    spaced.write_text("A line.\n")
    named = _ingest(server, str(spaced), check=False)
    assert named.returncode == 2 and "give one with --batch" in named.stderr
    assert "batch mine: 1 records" in _ingest(server, str(spaced), "--batch", "mine").stdout
    big = tmp_path / "big.txt"
    big.write_text("A long line about the markets and the weather today.\n" * 100)
    over = _ingest(server, str(big), "--max-body-mb", "0.001", check=False)
    assert over.returncode == 2 and "is over 0.001 MiB" in over.stderr


def test_windows_cut_here_become_batches_there(server, tmp_path):
    feed = tmp_path / "wire.jsonl"
    feed.write_text("".join(json.dumps({"text": t, "published_at": d}) + "\n" for t, d in [
        ("Storm makes landfall in Florida.", "2025-01-13T08:00:00Z"),
        ("Storm weakens over Georgia.", "2025-01-13T20:00:00Z"),
        ("Flights resume in Atlanta after the storm.", "2025-01-14T09:00:00Z")]))
    result = json.loads(_ingest(server, str(feed), "--window", "1d", "--json").stdout)
    assert [(b["batch"], b["records"]) for b in result["batches"]] == [
        ("wire-2025-01-13", 2), ("wire-2025-01-14", 1)]


@pytest.mark.slow
def test_a_process_per_batch_reaches_the_server(server):
    """The command as cron runs it: a real process, the token from the environment."""
    proc = run_process("ingest", str(SEEDS / "000_4b9f53198da931bc.txt"), "--server",
                       server.url, env={"STORYLINE_TOKEN": TOKEN})
    assert "batch 000: 12 records" in proc.stdout
    assert "Traceback" not in proc.stderr
