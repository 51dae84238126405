"""Real feeds, real files, several writers: the robustness matrix of issue 12.

    python benchmarks/robustness.py [--only bad,dates,kill,writers,rss] [--rounds 20]
                                    [--kills 20] [--rss-lines 3000000]

Every case runs the real ``storyline`` command in real processes on real SQLite:

- bad inputs (over 30 kinds): exit code and one-line message without and with
  ``--skip-bad``, never a traceback, the store consistent (``storyline check``);
- dates (over 10 forms) through ``ingest`` and the batch clock they give;
- kill -9 at random moments of an ingest (committed in chunks), then the same command
  again: every record stored once and the partition identical to a clean run's;
- 2-4 concurrent writers on one new store, 20 rounds each, against a serial run;
- the peak RSS of ``storyline ingest --fast`` on a file of many lines.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.datasets import uci  # noqa: E402
from storyline.store import Store  # noqa: E402

HEADLINES = ["Fire destroys dairy warehouse in Palmer, Alaska",
             "Flood waters rise downtown as river breaks its banks",
             "Central bank holds interest rates steady",
             "Earthquake of magnitude 6.1 strikes northern Chile"]


def cli(*args: str, stdin: bytes | None = None, env: dict | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess:
    full = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "storyline.cli", *args], input=stdin,
                          capture_output=True, env=full, timeout=timeout)


def first_line(data: bytes) -> str:
    lines = [line for line in data.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1][:110] if lines else ""


# -- bad inputs ---------------------------------------------------------------------

def _jl(*objs) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


GOOD = {"text": HEADLINES[0]}
DEEP = b'{"text": "a", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}\n"
BAD_INPUTS: list[tuple] = [  # (case, file name, bytes[, ingest options])
    ("bad JSON", "b.jsonl", _jl(GOOD) + b'{"text": "broken\n'),
    ("JSON list, not object", "b.jsonl", _jl(GOOD, ["a list"])),
    ("JSON top-level string", "b.jsonl", _jl(GOOD, "just text")),
    ("missing text", "b.jsonl", _jl(GOOD, {"id": "1"})),
    ("blank text", "b.jsonl", _jl(GOOD, {"text": "   "})),
    ("text a number", "b.jsonl", _jl(GOOD, {"text": 12})),
    ("id an object", "b.jsonl", _jl(GOOD, {"text": HEADLINES[1], "id": {"a": 1}})),
    ("source a list", "b.jsonl", _jl(GOOD, {"text": HEADLINES[1], "source": ["AP"]})),
    ("id true", "b.jsonl", _jl(GOOD, {"text": HEADLINES[1], "id": True})),
    ("lone surrogate", "b.jsonl", _jl(GOOD) + b'{"text": "bad \\ud800 text"}\n'),
    ("JSON nested 5,000 deep", "b.jsonl", _jl(GOOD) + DEEP),
    ("JSON text of NUL and ZWSP", "b.jsonl", _jl(GOOD) + b'{"text": "\\u0000\\u200b"}\n'),
    ("text line of NULs", "b.txt", HEADLINES[0].encode() + b"\n\x00\x00\x00\n"),
    ("text line of zero-width spaces", "b.txt",
     HEADLINES[0].encode() + b"\n" + "\u200b\u200b".encode() + b"\n"),
    ("Latin-1 bytes", "b.txt", HEADLINES[0].encode() + b"\ncaf\xe9 cr\xe8me\n"),
    ("UTF-16 file with its BOM (fine)", "b.txt", "\n".join(HEADLINES).encode("utf-16")),
    ("binary data", "b.txt", random.Random(1).randbytes(4000)),
    ("line of 1M characters", "b.txt", HEADLINES[0].encode() + b"\n" + b"x" * 1_000_000 + b"\n"),
    ("empty file", "b.txt", b""),
    ("only blank lines", "b.txt", b"\n \n\t\n"),
    ("CSV unterminated quote", "b.csv",
     b'id,text\n1,"' + HEADLINES[0].encode() + b"\n2," + HEADLINES[1].encode() + b"\n"),
    ("CSV stray quote", "b.csv",
     b'id,text\n1,"Fire" destroys a warehouse\n2,' + HEADLINES[1].encode() + b"\n"),
    ("CSV more fields than header", "b.csv",
     b"id,text\n1," + HEADLINES[0].encode() + b",extra\n2," + HEADLINES[1].encode() + b"\n"),
    ("CSV no text column", "b.csv", b"id,body\n1,x\n"),
    ("CSV unquoted comma in the text", "b.csv", b"id,text\n1," + HEADLINES[0].encode() + b"\n"),
    ("unreadable date (kept)", "b.jsonl",
     _jl({"text": HEADLINES[0], "published_at": "yesterday"},
         {"text": HEADLINES[1], "published_at": "1998-14-06 14:27:00"})),
    ("batches not together", "b.jsonl",
     _jl({"text": HEADLINES[0], "batch": "a"}, {"text": HEADLINES[1], "batch": "b"},
         {"text": HEADLINES[2], "batch": "a"})),
    ("unknown extension .json", "gold.json", _jl(GOOD)),
    ("unknown extension .tsv", "b.tsv", b"id\ttext\n1\tx\n"),
    ("no such file", "missing.txt", b""),
    ("newline inside CSV quotes (fine)", "b.csv",
     b'id,text\n1,"Fire destroys\ndairy warehouse"\n'),
    ("CR-only line endings (fine)", "b.txt", "\r".join(HEADLINES).encode()),
    ("CRLF and BOM (fine)", "b.txt", b"\xef\xbb\xbf" + "\r\n".join(HEADLINES).encode()),
    ("title only (fine)", "b.jsonl", _jl({"title": HEADLINES[0]})),
    ("JSON array, not JSON Lines", "b.jsonl",
     json.dumps([{"text": h} for h in HEADLINES]).encode()),
    ("CSV with semicolons (fine)", "b.csv",
     b"id;text\n1;" + HEADLINES[0].encode() + b"\n2;" + HEADLINES[1].encode() + b"\n"),
    ("CSV of Excel's =\"00123\" (fine)", "b.csv",
     b'id,text\n="00123","' + HEADLINES[0].encode() + b'"\n'),
    ("Latin-1 bytes, --encoding latin-1 (fine)", "b.txt",
     HEADLINES[0].encode() + b"\ncaf\xe9 cr\xe8me\n", ["--encoding", "latin-1"]),
    ("--encoding no codec", "b.txt", HEADLINES[0].encode() + b"\n", ["--encoding", "base64"]),
]


def bad_inputs() -> list[str]:
    rows = [f"{'case':40} {'exit':>4} {'skip':>4} {'kept':>4} {'tb':>3} check  message"]
    kinds = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, filename, data, *extra) in enumerate(BAD_INPUTS):
            options = extra[0] if extra else []
            folder = Path(tmp) / f"case{n}"
            folder.mkdir()
            path = folder / filename
            if filename != "missing.txt":
                path.write_bytes(data)
            db = folder / "s.db"
            plain = cli("ingest", "--fast", *options, "--db", str(db), str(path))
            skip = cli("ingest", "--fast", "--skip-bad", *options, "--db", str(folder / "k.db"),
                       str(path))
            traceback = any(b"Traceback" in p.stderr for p in (plain, skip))
            kept, check = _stored(folder / "k.db")
            rows.append(f"{name:40} {plain.returncode:>4} {skip.returncode:>4} {kept:>4} "
                        f"{'YES' if traceback else 'no':>3} {check:6} {first_line(plain.stderr)}")
            kinds += 1
    rows.append(f"{kinds} kinds of input")
    return rows


def _stored(db: Path) -> tuple[int, str]:
    if not db.exists():
        return 0, "-"
    check = cli("check", "--db", str(db))
    with Store(db) as store:
        copies = store.counts()["copies"]
    return copies, "ok" if check.returncode == 0 else "FAIL"


# -- dates --------------------------------------------------------------------------

DATE_FORMS = [
    "2025-01-13T06:00:00Z", "2025-01-13T06:00:00+02:00", "2025-01-13 06:00", "2025-01-13",
    "Tue, 10 Jun 2003 04:00:00 GMT", "Mon, 13 Jan 2025 10:00:00 EST",
    "Wed, 02 Oct 2002 13:00:00 -0400", "13 Jan 2025", "July 23, 2008", "Jan 13 2025 6:00PM",
    "13.01.2025", "20250113T0600Z", "1394470370", "1394470370698",
    "Mon Jan 13 2025 10:00:00 GMT+0200 (Central European Standard Time)",
    "Mon, 13 Jan 2025 10:00:00 JST", "Mon, 13 Jan 2025 10:00:00 IST",
    "yesterday", "1998-14-06 14:27:00", "9999-12-31T23:59:00-14:00",
]


def dates() -> list[str]:
    rows = [f"{'published_at as given':34} {'exit':>4}  batch clock (UTC)"]
    with tempfile.TemporaryDirectory() as tmp:
        for n, form in enumerate(DATE_FORMS):
            path = Path(tmp) / f"d{n:02d}.jsonl"
            path.write_bytes(_jl({"text": HEADLINES[n % 4], "published_at": form}))
            db = Path(tmp) / f"d{n}.db"
            proc = cli("ingest", "--fast", "--db", str(db), str(path))
            with Store(db) as store:
                clock = store.batches()[0].clock if store.batches() else "-"
            rows.append(f"{form:34} {proc.returncode:>4}  {clock or 'none (warned)'}")
    return rows


# -- kill -9 ------------------------------------------------------------------------

def _uci_file(folder: Path, limit: int | None = None) -> Path | None:
    data = uci()
    if data is None:
        return None
    path = folder / "uci.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for r in data.records[:limit]:
            fh.write(json.dumps({"id": r.id, "text": r.text, "source": r.source}) + "\n")
    return path


def partition(db: Path) -> tuple[frozenset, int]:
    """The stored partition of records (by external id) and the number of copies."""
    with Store(db) as store:
        groups: dict[int, set] = {}
        resolved: dict[int, int] = {}
        for seq, position, _, _, story in store.copy_stories():
            if story not in resolved:
                resolved[story] = store.resolve(story)
            groups.setdefault(resolved[story], set()).add((seq, position))
        copies = store.counts()["copies"]
    return frozenset(frozenset(g) for g in groups.values()), copies


def kills(runs: int, commit: int) -> list[str]:
    env = {"STORYLINE_COMMIT_RECORDS": str(commit)}
    with tempfile.TemporaryDirectory() as tmp:
        path = _uci_file(Path(tmp))
        if path is None:
            return ["skipped: ../shared/data/uci-news/dev.csv is not there"]
        n = sum(1 for _ in path.open())
        clean_db = Path(tmp) / "clean.db"
        started = time.perf_counter()
        proc = cli("ingest", "--fast", "--db", str(clean_db), str(path), env=env)
        clean_seconds = time.perf_counter() - started
        assert proc.returncode == 0, proc.stderr.decode()
        clean, _ = partition(clean_db)
        rng = random.Random(12)
        same = once = consistent = 0
        for run in range(runs):
            db = Path(tmp) / f"kill{run}.db"
            moment = rng.uniform(1.0, clean_seconds)
            full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
            proc = subprocess.Popen([sys.executable, "-m", "storyline.cli", "ingest", "--fast",
                                     "--db", str(db), str(path)], env=full,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(moment)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            again = cli("ingest", "--fast", "--db", str(db), str(path), env=env)
            got, copies = partition(db)
            same += got == clean and again.returncode == 0
            once += copies == n
            consistent += cli("check", "--db", str(db)).returncode == 0
        return [f"{n} records, commits of {commit}; clean run {clean_seconds:.1f} s",
                f"{runs} kill -9 runs at random moments, then the same command:",
                f"  every record stored once: {once}/{runs}",
                f"  partition identical to the clean run: {same}/{runs}",
                f"  storyline check consistent: {consistent}/{runs}"]


# -- concurrent writers -------------------------------------------------------------

def _serial(files: list[Path], order: tuple[str, ...], folder: Path,
            done: dict[tuple[str, ...], tuple[frozenset, int]]) -> tuple[frozenset, int]:
    """The partition of one process ingesting ``files`` in ``order`` (batch names)."""
    if order not in done:
        db = folder / f"serial{len(done)}_{len(order)}.db"
        by_name = {p.stem: p for p in files}
        for name in order:
            cli("ingest", "--fast", "--db", str(db), str(by_name[name]))
        done[order] = partition(db)
    return done[order]


def writers(rounds: int, sizes: tuple[int, ...] = (2, 3, 4), per_writer: int = 300
            ) -> list[str]:
    """Each round's store against one writer ingesting the same batches in the order
    the concurrent writers committed them (near-copy decisions depend on that order)."""
    rows = [f"{'writers':>7} {'rounds':>6} {'all exit 0':>10} {'consistent':>10} "
            f"{'stored once':>11} {'= serial, same order':>20} {'orders':>6}"]
    data = uci()
    if data is None:
        return ["skipped: ../shared/data/uci-news/dev.csv is not there"]
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            files = []
            (Path(tmp) / str(size)).mkdir()
            for w in range(size):
                path = Path(tmp) / str(size) / f"{w:03d}.jsonl"  # batch names 000, 001...
                part = data.records[w * per_writer:(w + 1) * per_writer]
                path.write_text("".join(json.dumps({"id": r.id, "text": r.text}) + "\n"
                                        for r in part))
                files.append(path)
            serial: dict[tuple[str, ...], tuple[frozenset, int]] = {}
            ok = consistent = once = same = 0
            for r in range(rounds):
                db = Path(tmp) / f"race{size}_{r}.db"
                full = {**os.environ, "PYTHONPATH": str(ROOT)}
                procs = [subprocess.Popen([sys.executable, "-m", "storyline.cli", "ingest",
                                           "--fast", "--db", str(db), str(p)], env=full,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                         for p in files]
                codes = [p.wait(600) for p in procs]
                for p in procs:
                    p.stderr.close()
                ok += all(c == 0 for c in codes)
                consistent += cli("check", "--db", str(db)).returncode == 0
                with Store(db) as store:
                    order = tuple(b.name for b in sorted(store.batches(), key=lambda b: b.seq))
                got, copies = partition(db)
                once += copies == size * per_writer
                same += (got, copies) == _serial(files, order, Path(tmp), serial)
            rows.append(f"{size:>7} {rounds:>6} {ok:>10} {consistent:>10} {once:>11} "
                        f"{same:>20} {len(serial):>6}")
    return rows


# -- peak RSS -----------------------------------------------------------------------

def synthetic_lines(path: Path, count: int) -> None:
    """Headline-like lines, mostly distinct (words of real headlines recombined)."""
    data = uci()
    words = sorted({w for r in (data.records if data else []) for w in r.text.split()}) or [
        w for h in HEADLINES for w in h.split()]
    rng = random.Random(3)
    with path.open("w", encoding="utf-8") as fh:
        for _ in range(count):
            fh.write(" ".join(rng.choices(words, k=rng.randint(6, 12))) + "\n")


def _memory_mb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) of a running process in MB, from /proc; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    try:
        return (int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024)
    except (KeyError, ValueError):
        return None


def _records_stored(db: Path) -> int:
    """Records the store holds so far (committed chunks), read beside the writer."""
    if not db.exists():
        return 0
    try:
        with Store(db) as store:
            return sum(b.records for b in store.batches())
    except Exception:  # the writer holds the store this moment: ask again later
        return -1


def peak_rss(lines: int, every: int = 100_000, poll: float = 10.0) -> list[str]:
    """Ingest ``lines`` synthetic lines with ``--fast`` (one batch: nothing goes dormant
    within it); print the writer's RSS and peak RSS (VmHWM) each ``every`` records stored."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.txt"
        synthetic_lines(path, lines)
        size = path.stat().st_size
        db = Path(tmp) / "big.db"
        env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
        errors = (Path(tmp) / "stderr").open("w+b")  # a file: a full pipe would stall it
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "storyline.cli", "ingest", "--fast",
                                 "--db", str(db), str(path)], stdout=subprocess.DEVNULL,
                                stderr=errors, env=env)
        print(f"{'records stored':>14} {'seconds':>8} {'RSS MB':>7} {'peak RSS MB':>11}",
              flush=True)
        mark = every
        while proc.poll() is None:
            time.sleep(poll)
            memory, stored = _memory_mb(proc.pid), _records_stored(db)
            if memory is not None and stored >= mark:
                print(f"{stored:>14,} {time.perf_counter() - started:>8,.0f} "
                      f"{memory[0]:>7,} {memory[1]:>11,}", flush=True)
                mark = (stored // every + 1) * every
        errors.seek(0)
        stderr = errors.read()
        errors.close()
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        rows.append(f"{lines:,} lines ({size / 1e6:.0f} MB): exit {proc.returncode}, "
                    f"peak RSS {peak / 1024:,.0f} MB, {seconds:,.0f} s "
                    f"({lines / seconds:,.0f} lines/s)")
        rows.append(first_line(stderr))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="bad,dates,kill,writers,rss")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--commit", type=int, default=500,
                        help="records per commit in the kill runs")
    parser.add_argument("--rss-lines", type=int, default=3_000_000)
    parser.add_argument("--rss-every", type=int, default=100_000,
                        help="print the RSS each this many records stored")
    args = parser.parse_args()
    parts = args.only.split(",")
    sections = [("bad inputs", "bad", bad_inputs), ("dates", "dates", dates),
                ("kill -9", "kill", lambda: kills(args.kills, args.commit)),
                ("concurrent writers", "writers", lambda: writers(args.rounds)),
                ("peak RSS", "rss", lambda: peak_rss(args.rss_lines, args.rss_every))]
    for title, key, run in sections:
        if key in parts:
            print(f"== {title}", flush=True)
            for row in run():
                print(row, flush=True)


if __name__ == "__main__":
    main()
