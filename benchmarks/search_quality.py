"""Search quality on UCI News dev: precision@5 and MRR of ``storyline search`` beside
FTS5 alone and the embeddings alone, and how often a nonsense query gets "no match".

    python benchmarks/search_quality.py                  # default preset, both halves
    python benchmarks/search_quality.py --write queries.jsonl

The query set is built here, by rule, from the gold stories of uci-news dev: for
each gold story with at least ``MIN_ITEMS`` headlines, the query is its three most
telling words (frequent in the story's headlines, rare in the others: tf-idf) and
the relevant hits are the story's own headlines. A hit (one per storyline story,
its best snippet) is relevant when that snippet is one of the gold story's. The queries
are split by gold story id, fixed: sorted by id, alternately a tuning half (the ranking
weight and relevance floors in storyline/search.py were chosen on it) and a held-out
half. The store is built once per preset in a temporary folder, batches of 6 hours as
in cluster_quality.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import uci  # noqa: E402
from storyline import views  # noqa: E402
from storyline.api import Storyline  # noqa: E402
from storyline.pipeline.represent import words  # noqa: E402

MIN_ITEMS = 4
K = 5
NONSENSE = ["zzzzqqq", "qwxz vbnm", "asdfgh jkl", "xyzzy plugh", "blorft quazzle",
            "fnord zorp", "glarb", "wibble wobble", "snorkfizz", "kxcd ptqr"]


def build_queries(records, gold: dict[str, str]) -> list[dict]:
    """One query per gold story with MIN_ITEMS or more headlines, tuning/held-out by turns."""
    by_story: dict[str, list[str]] = defaultdict(list)
    for r in records:
        by_story[gold[r.id]].append(r.text)
    df: Counter = Counter()
    for texts in by_story.values():
        df.update({w for t in texts for w in words(t)})
    n = len(by_story)
    queries = []
    for story, texts in sorted(by_story.items()):
        if len(texts) < MIN_ITEMS:
            continue
        tf = Counter(w for t in texts for w in set(words(t)))
        top = sorted(tf, key=lambda w: (-tf[w] * math.log(n / df[w]), w))[:3]
        half = "tune" if len(queries) % 2 == 0 else "held-out"
        queries.append({"query": " ".join(top), "story": story, "half": half})
    return queries


def gold_of_snippets(sl: Storyline) -> dict[int, set[str]]:
    """Snippet id -> the gold stories of its copies (via their external ids)."""
    gold = uci().gold
    ids = sorted({row[2] for row in sl.store.copy_stories()})
    return {sid: {gold.get(str(c.external_id), "") for c in copies}
            for sid, copies in sl.store.copies_of(ids).items()}


def baseline_hits(sl: Storyline, query: str, mode: str) -> list[int]:
    """Snippet ids, one per storyline story, ranked by FTS5 alone or embeddings alone."""
    if mode == "fts5":
        ranked = [sid for sid, _ in sl.store.search_text(query, 200)]
    else:
        encoder = sl.engine.encoder
        ranked = [sid for sid, _ in views.nearest_snippets(
            sl.store, encoder.encode([query])[0], 200)]
    out, seen = [], set()
    for sid in ranked:
        story = sl.store.resolve(sl.store.snippet(sid).story_id)
        if story not in seen:
            seen.add(story)
            out.append(sid)
        if len(out) >= K:
            break
    return out


def score(ranked: list[int], relevant) -> tuple[float, float, float]:
    """precision@K, reciprocal rank of the first relevant hit, and the share of the
    hits returned (K at most) that are relevant (1.0 when none is returned)."""
    flags = [relevant(sid) for sid in ranked[:K]]
    rr = next((1.0 / (i + 1) for i, f in enumerate(flags) if f), 0.0)
    return sum(flags) / K, rr, (sum(flags) / len(flags) if flags else 1.0)


def evaluate(sl: Storyline, queries: list[dict], gold_of) -> dict:
    systems = {
        "storyline": lambda q: [h.snippet_id for h in sl.search(q, K)],
        "fts5 only": lambda q: baseline_hits(sl, q, "fts5"),
        "embedding only": lambda q: baseline_hits(sl, q, "embedding"),
    }
    table = {}
    for name, run in systems.items():
        for half in ("tune", "held-out"):
            chosen = [q for q in queries if q["half"] == half]
            sums = np.zeros(3)
            for q in chosen:
                sums += score(run(q["query"]), lambda sid, s=q["story"]: s in gold_of[sid])
            table[(name, half)] = tuple(sums / len(chosen))
        table[(name, "no match")] = sum(not run(q) for q in NONSENSE) / len(NONSENSE)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--db", type=Path, help="reuse this store (built if absent)")
    parser.add_argument("--write", type=Path, help="write the query set here (jsonl)")
    args = parser.parse_args()
    data = uci()
    if data is None:
        sys.exit("../shared/data/uci-news/dev.csv not found: this benchmark reads UCI News")
    queries = build_queries(data.records, data.gold)
    if args.write:
        args.write.write_text("".join(json.dumps(q) + "\n" for q in queries))
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "uci.db"
        # Facts play no part in search: not reading them saves most of the ingest.
        with Storyline(db, preset_name=args.preset, extract_facts=False) as sl:
            if not sl.store.has_snippets():
                started = time.perf_counter()
                by_batch: dict[str, list] = defaultdict(list)
                for r in data.records:
                    by_batch[r.batch].append(r)
                for name, recs in by_batch.items():
                    sl.ingest_records(recs, batch=name)
                print(f"ingested in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            table = evaluate(sl, queries, gold_of_snippets(sl))
    halves = Counter(q["half"] for q in queries)
    print(f"{len(queries)} queries from uci-news dev gold stories ({halves['tune']} tuning, "
          f"{halves['held-out']} held out), preset {args.preset}; {len(NONSENSE)} nonsense")
    print(f"{'system':<16} {'P@5 tune':>9} {'MRR tune':>9} {'hitp tune':>9} {'P@5 held':>9}"
          f" {'MRR held':>9} {'hitp held':>9} {'nonsense: no match':>19}")
    for name in ("storyline", "fts5 only", "embedding only"):
        cells = table[(name, "tune")] + table[(name, "held-out")]
        print(f"{name:<16} " + " ".join(f"{c:9.3f}" for c in cells)
              + f" {table[(name, 'no match')]:19.0%}")


if __name__ == "__main__":
    main()
