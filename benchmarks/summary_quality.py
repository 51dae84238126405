"""Summary quality by proxy: ROUGE-2 against the leads of held-out articles.

    python benchmarks/summary_quality.py             # default preset (MiniLM), 100 words
    python benchmarks/summary_quality.py --preset fast --words 50
    python benchmarks/summary_quality.py --query     # query focus

No reference summaries ship here (the held-back benchmark has them), so this is a
proxy. Each ECB+ dev event with at least 9 articles is taken as a story arriving in
three batches (its articles in order, cut in thirds); every fourth article is held
out. A held-out article's first sentence (ECB+ keeps it as ``title``) is another
journalist's one-line account of the same event: a summary that states the event's
core facts shares its bigrams. ``storyline summarize``'s code summarises the other
articles' text; ROUGE-2 recall (rouge-score, Porter stemming) is taken per batch,
for the summary (against the held-out leads of that batch and earlier ones) and the
update (against those of that batch), then averaged over events, beside LEAD: the
first N words of the batch's latest article, the baseline of the DUC/TAC update
tasks. With ``--query``, each ECB+ topic's two events (two of one kind: two
earthquakes) arrive mixed, the query is the first sentence of event A's first
article, and summaries are scored against event A's held-out leads, with the
query and without it. Needs rouge-score (pip install -e .[bench]).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import SHARED  # noqa: E402
from storyline.config import preset  # noqa: E402
from storyline.jobs import summarize_records  # noqa: E402
from storyline.pipeline import describe  # noqa: E402
from storyline.types import Record  # noqa: E402

BATCHES = 3


def events(min_articles: int = 9) -> list[tuple[list[Record], list[list[str]], int]]:
    """Per event: the records to summarise, per batch the held-out leads, and its topic."""
    path = SHARED / "ecbplus" / "dev.jsonl"
    if not path.exists():
        sys.exit(f"{path} not found: this benchmark reads ECB+ from ../shared/data")
    by_event: dict[str, list[dict]] = defaultdict(list)
    for line in path.open(encoding="utf-8"):
        row = json.loads(line)
        by_event[row["event"]].append(row)
    out = []
    for rows in by_event.values():
        if len(rows) < min_articles:
            continue
        records, leads = [], [[] for _ in range(BATCHES)]
        for i, row in enumerate(rows):
            batch = i * BATCHES // len(rows)
            if i % 4 == 3:
                leads[batch].append(row["title"])
            else:
                records.append(Record(text=row["text"] or "", batch=f"b{batch}",
                                      id=row["doc_id"]))
        out.append((records, leads, int(rows[0]["topic"])))
    return out


def new_bigram_recall(tokenize, earlier: list[str], references: list[str], summary: str) -> float:
    """Update proxy: recall of the bigrams of later held-out leads that no earlier
    held-out lead nor earlier input held (what is new for a reader of the earlier
    batches), by the update summary; stemmed as rouge-score does."""
    def bigrams(texts: list[str]) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for t in texts:
            tokens = tokenize(t)
            out.update(zip(tokens, tokens[1:]))
        return out
    new = bigrams(references) - bigrams(earlier)
    return len(new & bigrams([summary])) / len(new) if new else float("nan")


def mixed_events(min_articles: int = 6) -> list[tuple[list[Record], list[list[str]], str]]:
    """Query focus: per ECB+ topic, its two events (two of one kind) mixed in one
    input, the query the first sentence of event A's first article, and per batch
    the held-out leads of event A only."""
    path = SHARED / "ecbplus" / "dev.jsonl"
    by_event: dict[str, list[dict]] = defaultdict(list)
    for line in path.open(encoding="utf-8"):
        row = json.loads(line)
        by_event[row["event"]].append(row)
    out = []
    for event, rows in sorted(by_event.items()):
        if not event.endswith("_ecb"):
            continue
        other = by_event.get(event.removesuffix("_ecb") + "_ecbplus", [])
        if len(rows) < min_articles or len(other) < min_articles:
            continue
        records, leads = [], [[] for _ in range(BATCHES)]
        query = None
        for own, group in ((True, rows), (False, other)):
            for i, row in enumerate(group):
                batch = i * BATCHES // len(group)
                if i % 4 == 3:
                    if own:
                        leads[batch].append(row["title"])
                    continue
                query = query or (row["title"] if own else None)
                records.append(Record(text=row["text"] or "", batch=f"b{batch}",
                                      id=row["doc_id"]))
        records.sort(key=lambda r: r.batch)  # the two events arrive side by side
        out.append((records, leads, query))
    return out


def lead_baseline(records: list[Record], words: int) -> list[dict]:
    """The first ``words`` words of each batch's latest article, whole sentences."""
    out = []
    for name in dict.fromkeys(r.batch for r in records):
        latest = [r for r in records if r.batch == name][-1]
        text, used = [], 0
        for s in describe.sentences(latest.text):
            if used + len(s.split()) > words:
                break
            text.append(s)
            used += len(s.split())
        summary = " ".join(text)
        out.append({"batch": name, "summary": summary, "update": summary})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--words", type=int, default=100)
    parser.add_argument("--topics", choices=("all", "odd", "even"), default="all",
                        help="ECB+ topics scored: tune on odd, report even as held out")
    parser.add_argument("--query", action="store_true",
                        help="query focus: two events mixed, summaries asked about one")
    args = parser.parse_args()
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=True)
    config = preset(args.preset)
    if args.query:
        data = mixed_events()
        systems = {
            "query": lambda recs, q: summarize_records(recs, config, args.words, q),
            "no query": lambda recs, q: summarize_records(recs, config, args.words),
        }
        print(f"{len(data)} ECB+ topics, two events mixed in {BATCHES} batches, "
              f"{args.words}-word summaries asked about one of them, preset {args.preset}; "
              "ROUGE-2 recall against its held-out leads")
    else:
        parity = {"all": None, "odd": 1, "even": 0}[args.topics]
        data = [(records, leads, None) for records, leads, topic in events()
                if parity is None or topic % 2 == parity]
        systems = {
            "storyline": lambda recs, q: summarize_records(recs, config, args.words),
            "lead": lambda recs, q: lead_baseline(recs, args.words),
        }
        print(f"{len(data)} ECB+ events in {BATCHES} batches, {args.words}-word summaries, "
              f"preset {args.preset}; ROUGE-2 recall against held-out leads")
    print(f"{'system':<10} " + " ".join(f"{'sum ' + str(b + 1):>7}" for b in range(BATCHES))
          + " " + " ".join(f"{'upd ' + str(b + 1):>7}" for b in range(1, BATCHES))
          + f" {'mean':>7} " + " ".join(f"{'new ' + str(b + 1):>7}" for b in range(1, BATCHES))
          + f" {'s/event':>8}")
    tokenize = scorer._tokenizer.tokenize
    for name, run in systems.items():
        totals = defaultdict(float)
        counts = defaultdict(int)
        started = time.perf_counter()
        for records, leads, query in data:
            for b, result in enumerate(run(records, query)):
                seen = [lead for batch in leads[: b + 1] for lead in batch]
                if seen:
                    totals[f"sum{b}"] += scorer.score("\n".join(seen),
                                                      result["summary"])["rouge2"].recall
                    counts[f"sum{b}"] += 1
                if b and leads[b]:
                    totals[f"upd{b}"] += scorer.score("\n".join(leads[b]),
                                                      result["update"])["rouge2"].recall
                    counts[f"upd{b}"] += 1
                    earlier = [lead for batch in leads[:b] for lead in batch] + [
                        r.text for r in records if int(r.batch[1:]) < b]
                    fresh = new_bigram_recall(tokenize, earlier, leads[b], result["update"])
                    if fresh == fresh:
                        totals[f"new{b}"] += fresh
                        counts[f"new{b}"] += 1
        seconds = (time.perf_counter() - started) / len(data)
        means = {k: totals[k] / counts[k] for k in totals}
        cells = [means.get(f"sum{b}", float("nan")) for b in range(BATCHES)]
        cells += [means.get(f"upd{b}", float("nan")) for b in range(1, BATCHES)]
        fresh = [means.get(f"new{b}", float("nan")) for b in range(1, BATCHES)]
        print(f"{name:<10} " + " ".join(f"{c:7.4f}" for c in cells)
              + f" {sum(cells) / len(cells):7.4f} " + " ".join(f"{c:7.4f}" for c in fresh)
              + f" {seconds:8.2f}", flush=True)


if __name__ == "__main__":
    main()
