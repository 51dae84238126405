"""How fast the web server answers the story list on a store of 50,000 snippets.

Run from anywhere: ``python benchmarks/web_speed.py [--db PATH] [--snippets 50000]``.

Builds (once; an existing store at ``--db`` is reused) a store of synthetic snippets with
the ``fast`` preset: topics of Zipf-distributed sizes, each with its own names and words
over a shared vocabulary, from 40 outlets, in batches, with one arrival in ten a copy of an
earlier snippet. Then starts the server (a real uvicorn on a free loopback port) and times
``GET /`` and ``GET /api/stories``: the very first call (the server's one-off start-up
costs included), then the median and 95th percentile of ``--repeats`` calls each with
the server's caches emptied first (as after every ingest), and with them warm; and, for
comparison, ``views.list_stories`` over the whole store.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run as a plain script from a checkout

DEFAULT_DB = Path("/tmp/storyline-web-50k.db")

_SYLLABLES = ["ka", "lo", "mir", "ten", "sa", "vor", "del", "ri", "an", "bel", "cor", "du",
              "fen", "gra", "hal", "is", "jun", "ker", "lan", "mo", "nor", "pe", "quin", "ros"]
_COMMON = (
    "officials said the government announced on monday that talks would continue after a "
    "week of protests while markets fell and analysts warned of new risks to the economy as "
    "police confirmed arrests in the capital and ministers met to discuss a plan for aid "
    "with leaders from the region who called for calm ahead of the vote next month amid "
    "reports of fighting near the border where troops moved overnight according to sources "
    "familiar with the matter prices rose sharply shares closed lower company reported "
    "quarterly profit investors expect court ruled judge appeal lawmakers passed bill "
    "president visited city residents evacuated storm damage rescue teams searched"
).split()
_OUTLETS = [f"Outlet {chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(40)]


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts))


def synthetic_batches(snippets: int, batches: int, story_size: int = 12, seed: int = 7
                      ) -> list[list[dict]]:
    """``snippets`` distinct snippets (plus copies) spread over ``batches`` batches, from
    topics of ``story_size`` snippets on average."""
    rng = random.Random(seed)
    topics = max(1, snippets // story_size)
    # Zipf-like sizes: a few big stories, many small ones (as news is).
    weights = [1.0 / (k + 1) ** 0.9 for k in range(topics)]
    vocab = [
        ([_word(rng, 3).capitalize() for _ in range(3)], [_word(rng, 2) for _ in range(5)])
        for _ in range(topics)
    ]
    chosen = rng.choices(range(topics), weights=weights, k=snippets)
    out: list[list[dict]] = [[] for _ in range(batches)]
    seen: list[dict] = []
    for n, topic in enumerate(chosen):
        names, words = vocab[topic]
        parts = rng.sample(names, 2) + rng.sample(words, 3) + rng.sample(_COMMON, 9)
        rng.shuffle(parts)
        text = " ".join(parts).capitalize() + f" ({n})."
        outlet = rng.choice(_OUTLETS)
        record = {"text": text, "source": outlet, "id": f"s{n}",
                  "url": f"https://{outlet.split()[1].lower()}.example/{n}"}
        batch = out[n * batches // snippets]
        batch.append(record)
        seen.append(record)
        if rng.random() < 0.1 and len(seen) > 10:  # a copy of an earlier line, elsewhere
            copy = dict(rng.choice(seen[:-1]))
            copy["source"] = rng.choice(_OUTLETS)
            copy["id"] = f"c{n}"
            batch.append(copy)
    return out


def build(db: Path, snippets: int, batches: int, story_size: int) -> None:
    from storyline import Storyline

    start = time.perf_counter()
    with Storyline(db, preset_name="fast") as sl:
        for number, records in enumerate(synthetic_batches(snippets, batches, story_size)):
            sl.ingest_records(records, batch=f"{number:03d}")
            counts = sl.store.counts()
            print(f"  batch {number:03d}: {counts['snippets']} snippets, {counts['stories']} "
                  f"stories ({time.perf_counter() - start:.0f} s)", flush=True)


def _time(fn, repeats: int, before=None) -> tuple[float, float]:
    """Median and 95th percentile of ``repeats`` calls, in milliseconds."""
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95 + 0.5) - 1)]


def measure(db: Path, repeats: int) -> None:
    import httpx

    from storyline import views
    from storyline.store import Store
    from storyline.web.app import WebSettings, create_app
    from storyline.web.server import BackgroundServer

    with Store(db) as store:
        counts = store.counts()
    print(f"store {db}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    app = create_app(WebSettings(db=db))
    access = app.state.access
    print(f"{'':44} {'uncached':>18} {'cached':>18}")
    print(f"{'':44} {'median':>8} {'p95':>9} {'median':>8} {'p95':>9}")
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        start = time.perf_counter()
        http.get("/").raise_for_status()
        print(f"first GET / after start-up: {(time.perf_counter() - start) * 1000:.0f} ms")
        for path in ("/", "/api/stories", "/api/stories?limit=50&offset=2500",
                     "/?status=active&min_size=2", "/?text=officials"):
            def get(path: str = path) -> None:
                http.get(path).raise_for_status()

            cold = _time(get, repeats, before=access.clear_caches)
            warm = _time(get, repeats)
            print(f"GET {path:<40} {cold[0]:6.1f} ms {cold[1]:6.1f} ms "
                  f"{warm[0]:6.1f} ms {warm[1]:6.1f} ms")
        for path in ("/api/search?q=officials%20said", "/search?q=officials%20said"):
            def get(path: str = path) -> None:
                http.get(path).raise_for_status()

            median, p95 = _time(get, max(3, repeats // 4))
            print(f"GET {path:<40} {median:6.1f} ms {p95:6.1f} ms   (not cached)")
    with Store(db) as store:
        median, _ = _time(lambda: views.list_stories(store, limit=50), 3)
        print(f"views.list_stories(limit=50) (whole store, for comparison): {median:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"store [{DEFAULT_DB}]")
    parser.add_argument("--snippets", type=int, default=50_000)
    parser.add_argument("--batches", type=int, default=25)
    parser.add_argument("--story-size", type=int, default=12,
                        help="mean snippets per synthetic topic (smaller: more stories)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    if not args.db.exists():
        print(f"building {args.db}: {args.snippets} snippets in {args.batches} batches "
              "(preset fast)", flush=True)
        build(args.db, args.snippets, args.batches, args.story_size)
    if not args.build_only:
        measure(args.db, args.repeats)


if __name__ == "__main__":
    main()
