"""Median milliseconds per read on a given store: the Python API, the CLI (a process each,
its start-up included) and the web pages and JSON API (FastAPI's TestClient).

    python benchmarks/read_speed.py --db STORE [--repeats 5] [--only api,cli,web]
        [--json OUT] [--against PYTHONPATH]

Build a store first, e.g. ``python benchmarks/stream_scale.py --arrivals 100000
--db /tmp/s100k.db``. The reads are those a user makes at the end of a long stream:
the story list (first page, and all of it through the API), the biggest story, a
search for its headline, and what the last batch changed. Each figure is the median
of ``--repeats`` calls after a first one (which warms the operating system's file
cache, and the web server's caches as a running server keeps them warm); the web
figures with ``cold`` are taken with the server's caches emptied before each call,
as after every ingest. Each figure is given in wall-clock and CPU
milliseconds (a CLI row: the child process's CPU): on a shared machine the wall clock
swings with the load, the CPU time much less. The CLI rows also give the start-up alone
(``storyline --help``) and the modules it imports.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

HEAVY = ("numpy", "scipy", "sklearn", "onnxruntime", "torch", "tokenizers", "spacy",
         "fastapi", "datasketch", "psycopg")


Figure = tuple[float, float]  # median milliseconds: wall clock, CPU


def median_ms(call: Callable[[], object], repeats: int,
              before: Callable[[], object] | None = None) -> Figure:
    """Median wall-clock and CPU milliseconds of ``call`` (CPU: this process's, or what
    ``call`` returns, a child's). On a shared machine the CPU time is the steadier."""
    call()  # warms the file cache (and caches a running server keeps warm)
    walls, cpus = [], []
    for _ in range(repeats):
        if before is not None:
            before()
        started, cpu = time.perf_counter(), time.process_time()
        child = call()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append(child * 1000 if isinstance(child, float) else
                    (time.process_time() - cpu) * 1000)
    return round(statistics.median(walls), 1), round(statistics.median(cpus), 1)


def run_child(command: list[str], path: str | None = None) -> float:
    """Run a command (with ``path`` first on PYTHONPATH, else this checkout); its CPU
    seconds (user and system)."""
    # Run from the root: a checkout in the working folder would come before PYTHONPATH.
    child = subprocess.Popen(command, env=_env(path), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, cwd="/")
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise SystemExit(f"{' '.join(command)} failed (status {status})")
    return usage.ru_utime + usage.ru_stime


def in_turn(command: list[str], against: str, repeats: int) -> tuple[Figure, Figure]:
    """Median (wall, CPU) ms of ``command`` here and with ``against`` first on
    PYTHONPATH, run one after the other ``repeats`` times after a first of each."""
    figures: dict[str | None, list[tuple[float, float]]] = {None: [], against: []}
    for turn in range(repeats + 1):
        for path in (against, None):
            started = time.perf_counter()
            cpu = run_child(command, path)
            if turn:
                figures[path].append(((time.perf_counter() - started) * 1000, cpu * 1000))
    ours, theirs = ([round(statistics.median(x[i] for x in figures[p]), 1) for i in (0, 1)]
                    for p in (None, against))
    return (ours[0], ours[1]), (theirs[0], theirs[1])


def targets(db: str) -> dict:
    """The story, query and batch the reads ask for: the biggest story, its headline
    and the last batch."""
    from storyline import Storyline

    with Storyline(db) as sl:
        page = sl.story_page(limit=1)
        biggest = page.stories[0]
        return {"biggest": biggest.id, "query": biggest.headline,
                "last": sl.store.batches()[-1].name, "stories": page.total}


def time_api(db: str, t: dict, repeats: int) -> dict[str, Figure]:
    from storyline import Storyline

    out = {}
    with Storyline(db) as sl:
        out["api stories(limit=50)"] = median_ms(lambda: sl.story_page(limit=50), repeats)
        out["api stories() all"] = median_ms(lambda: sl.stories(), max(1, repeats // 2))
        out["api story(biggest)"] = median_ms(lambda: sl.story(t["biggest"]), repeats)
        out["api search"] = median_ms(lambda: sl.search(t["query"]), repeats)
        out["api changes(last, limit=50)"] = median_ms(
            lambda: sl.changes_page(t["last"], limit=50), repeats)
        out["api changes(last) all"] = median_ms(lambda: sl.changes(t["last"]), repeats)
    return out


def _env(path: str | None = None) -> dict:
    first = path or str(REPO)
    return {**os.environ, "PYTHONPATH": f"{first}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def cli_modules(argv: list[str]) -> list[str]:
    """The heavy modules a CLI command imports (run in a process of its own)."""
    probe = ("import runpy, sys\n"
             f"sys.argv = ['storyline', *{argv!r}]\n"
             "try:\n    runpy.run_module('storyline.cli', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe], env=_env(), capture_output=True,
                          text=True)
    return done.stderr.strip().splitlines()[-1].split() if done.stderr.strip() else []


def time_cli(db: str, t: dict, repeats: int, against: str | None = None
             ) -> dict[str, Figure]:
    """Each CLI read in a process of its own; with ``against`` (a PYTHONPATH: another
    checkout, and the libraries it pins), the same reads there, call for call in turn,
    as ``... (against)`` rows: a ratio from one run on a machine whose speed drifts."""
    import compileall

    # As an install does: without bytecode files (PYTHONDONTWRITEBYTECODE, a fresh
    # checkout) every process compiles the package again, a second of its start-up.
    compileall.compile_dir(REPO / "storyline", quiet=1)
    for folder in (against or "").split(os.pathsep):
        if folder and (Path(folder) / "storyline").is_dir():
            compileall.compile_dir(Path(folder) / "storyline", quiet=1)
    commands = {
        "cli --help": ["--help"],
        "cli stories": ["stories", "--db", db],
        "cli stories --json": ["stories", "--json", "--db", db],
        "cli show biggest": ["show", str(t["biggest"]), "--db", db],
        "cli show biggest --json": ["show", str(t["biggest"]), "--json", "--db", db],
        "cli search": ["search", t["query"], "--db", db],
        "cli changes last": ["changes", t["last"], "--db", db],
        "cli changes last --json": ["changes", t["last"], "--json", "--db", db],
    }
    out = {}
    for name, argv in commands.items():
        command = [sys.executable, "-m", "storyline.cli", *argv]
        if against is None:
            out[name] = median_ms(lambda c=command: run_child(c), repeats)
            continue
        out[name], out[name + " (against)"] = in_turn(command, against, repeats)
    for name in ("--help", "stories", "search"):
        argv = [name] if name == "--help" else [name, *(["x"] if name == "search" else []),
                                                "--db", db]
        print(f"  imports of `storyline {name}`: {' '.join(cli_modules(argv)) or 'none'}",
              file=sys.stderr)
    return out


def time_web(db: str, t: dict, repeats: int) -> dict[str, Figure]:
    from fastapi.testclient import TestClient

    from storyline.web.access import WebSettings
    from storyline.web.app import create_app

    app = create_app(WebSettings(db=db if "://" in str(db) else Path(db), facts=False))
    last = quote(t["last"], safe="")
    urls = {"web /": "/", "web /stories/<biggest>": f"/stories/{t['biggest']}",
            "web /search": f"/search?q={quote(t['query'])}",
            "web /batches/<last>": f"/batches/{last}",
            "web /api/stories": "/api/stories",
            "web /api/stories/<biggest>": f"/api/stories/{t['biggest']}?facts=false",
            "web /api/search": f"/api/search?q={quote(t['query'])}",
            "web /api/batches/<last>": f"/api/batches/{last}"}
    out = {}
    with TestClient(app) as client:
        access = app.state.access
        for name, url in urls.items():
            def get(u: str = url) -> None:
                response = client.get(u)
                if response.status_code != 200:
                    raise SystemExit(f"GET {u}: {response.status_code}")
            out[name] = median_ms(get, repeats)
            if url in ("/", "/api/stories"):
                out[name + " (cold)"] = median_ms(get, repeats, before=access.clear_caches)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the store to read")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="api,cli,web", help="api, cli, web (comma-separated)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--against", help="PYTHONPATH of another checkout: its CLI reads "
                        "beside this one's, in turn (CPU only)")
    args = parser.parse_args()
    t = targets(args.db)
    print(f"store {args.db}: {t['stories']:,} stories; biggest {t['biggest']}, last batch "
          f"{t['last']!r}, query {t['query']!r}", file=sys.stderr)
    out: dict[str, Figure] = {}
    parts = {"api": time_api, "cli": time_cli, "web": time_web}
    print(f"{'read':32} {'wall ms':>9} {'CPU ms':>9}")
    for part in args.only.split(","):
        if part == "cli":
            figures = time_cli(args.db, t, args.repeats, args.against)
        else:
            figures = parts[part](args.db, t, args.repeats)
        for name, (wall, cpu) in figures.items():
            print(f"{name:32} {wall:9.1f} {cpu:9.1f}", flush=True)
        out.update(figures)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
