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


@pytest.mark.slow
def test_a_line_that_grows_past_the_limit_as_json_goes_as_it_would_here(server, tmp_path):
    quotes = tmp_path / "quotes.txt"
    quotes.write_text('He said "no" ' * 7000 + "\n")  # 91,000 characters, 105,000 as JSON
    assert "batch quotes: 1 records" in _ingest(server, str(quotes)).stdout


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


class _OddServer:
    """A loopback server that answers every request with the raw bytes it is given (a
    proxy, another program, a server of another version): what the client must turn into
    one line and an exit code."""

    def __init__(self) -> None:
        import socket
        import threading

        self.answer = b""
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length")), b"0"))
                while len(body) < length:
                    body += conn.recv(65536)
                conn.sendall(self.answer)


def _http(status: str, body: bytes, *headers: str, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Connection: close",
             f"Content-Length: {len(body) if length is None else length}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.mark.parametrize("answer,code,says", [
    (_http("200 OK", b'{"ok": true}'), 7, "without the batches it ingested"),
    (_http("200 OK", b"[1, 2]"), 7, "without the batches it ingested"),
    (_http("200 OK", b"<html>hello</html>"), 7, "something other than JSON"),
    (_http("200 OK", b'{"batches": []}', length=500), 7, "a broken answer"),
    (b"HELLO THERE\r\n\r\n", 7, "a broken answer"),
    (_http("302 Found", b"", "Location: https://news.example/"), 7,
     "a redirect to https://news.example/: give that address as --server"),
    (_http("409 Conflict", b'{"detail": "no"}', "X-Storyline-Exit-Code: 4"), 4, "(409): no"),
    (_http("413 Payload Too Large", b'{"detail": "too big"}'), 2, "(413): too big"),
    (_http("502 Bad Gateway", b"<html>proxy</html>"), 7, "(502): Bad Gateway"),
])
def test_an_answer_no_storyline_server_gives_is_one_line(answer, code, says):
    odd = _OddServer()
    odd.answer = answer
    proc = run_cli("ingest", str(SEEDS / "000_4b9f53198da931bc.txt"), "--server", odd.url,
                   check=False)
    odd.sock.close()
    assert proc.returncode == code, proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr


def test_a_newer_server_s_report_fields_are_left_out():
    odd = _OddServer()
    odd.answer = _http("200 OK", json.dumps({"batches": [
        {"batch": "000", "records": 12, "new_snippets": 10, "from_the_future": 1}]}).encode())
    proc = run_cli("ingest", str(SEEDS / "000_4b9f53198da931bc.txt"), "--server", odd.url)
    odd.sock.close()
    assert "batch 000: 12 records" in proc.stdout


@pytest.mark.parametrize("url,says", [
    ("http://[::1", "Invalid IPv6 URL"),
    ("http://127.0.0.1:abc", "Port could not be cast"),
    ("ftp://news.example", "not an http:// or https:// URL"),
    ("http://me:secret9@127.0.0.1:9", "is `storyline serve` running there?"),
])
def test_a_bad_server_address_is_one_line_without_its_password(url, says):
    proc = run_cli("ingest", str(SEEDS), "--server", url, check=False)
    assert proc.returncode in (2, 7) and says in proc.stderr, proc.stderr
    assert "secret9" not in proc.stderr and "Traceback" not in proc.stderr
