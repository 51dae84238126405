"""Attribution sources ("who said it") on PolNeAR political news sentences.

    python benchmarks/attribution_polnear.py [--limit N] [--misses N]

Reads ../shared/data/polnear/dev.jsonl (skipped with a message if absent): sentences with the
gold source spans of their attributions. Scores the sources storyline's extractor returns per
sentence (:meth:`FactExtractor.extract_many`, the source as written in the text: a pronoun
stays a pronoun, as in the gold) and, beside it, a plain spaCy rule (the subject of a
reporting verb, the object of "according to").

Scoring (../shared/data/README.md): a predicted source matches a gold one when it holds at
least half of the gold source's words, case-insensitive; each gold and each predicted source
is matched at most once, within its sentence; P/R/F1 over sources. Articles (the part of
``id`` before the colon) are sorted: the first half is where the rules were developed, the
second half is held out; both halves and the whole set are reported.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storyline.pipeline.facts import FactExtractor  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared/data/polnear/dev.jsonl"

# The baseline's reporting verbs: the common ones a 30-line rule would list.
RULE_VERBS = frozenset(
    "say tell report claim state announce add note explain write argue insist warn ask "
    "reply respond suggest declare".split()
)


def rule_sources(doc: Any) -> list[str]:
    """Baseline: the nsubj subtree of a reporting verb, the pobj subtree of "according to"."""
    out = []
    for tok in doc:
        if tok.pos_ in ("VERB", "AUX") and tok.lemma_.lower() in RULE_VERBS:
            for child in tok.children:
                if child.dep_ == "nsubj":
                    out.append(doc[child.left_edge.i : child.right_edge.i + 1].text)
        if tok.lower_ == "according" and tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "to":
            for child in doc[tok.i + 1].children:
                if child.dep_ == "pobj":
                    out.append(doc[child.left_edge.i : child.right_edge.i + 1].text)
    return out


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def matches(predicted: str, gold: str) -> bool:
    """The predicted source holds at least half of the gold source's words."""
    gold_words = words(gold)
    if not gold_words:
        return False
    have = set(words(predicted))
    return sum(w in have for w in gold_words) * 2 >= len(gold_words)


def match_counts(predicted: Sequence[str], gold: Sequence[str]) -> int:
    """Matched pairs, each gold and each predicted source used once (greedy, in order)."""
    used: set[int] = set()
    hits = 0
    for g in gold:
        for k, p in enumerate(predicted):
            if k not in used and matches(p, g):
                used.add(k)
                hits += 1
                break
    return hits


def score(pairs: Iterable[tuple[Sequence[str], Sequence[str]]]) -> dict[str, float]:
    n_pred = n_gold = hits = 0
    for predicted, gold in pairs:
        n_pred += len(predicted)
        n_gold += len(gold)
        hits += match_counts(predicted, gold)
    p = hits / n_pred if n_pred else 0.0
    r = hits / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"P": p, "R": r, "F1": f, "predicted": n_pred, "gold": n_gold, "matched": hits}


def halves(rows: Sequence[dict]) -> tuple[set[str], set[str]]:
    articles = sorted({r["id"].rsplit(":", 1)[0] for r in rows})
    cut = len(articles) // 2
    return set(articles[:cut]), set(articles[cut:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--misses", type=int, default=0, help="print N disagreements (dev half)")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} not found")
        return
    rows = [json.loads(line) for line in DATA.open(encoding="utf-8")][: args.limit]
    texts = [r["text"] for r in rows]
    extractor = FactExtractor()
    facts = extractor.extract_many(texts)
    ours = [[a.mention or a.source for a in f.attributions] for f in facts]
    rule = [rule_sources(doc) for doc in extractor.nlp.pipe(texts, batch_size=128)]
    dev, held = halves(rows)
    print(f"{len(rows)} sentences, {sum(len(r['sources']) for r in rows)} gold sources; "
          f"{len(dev)} development articles, {len(held)} held-out articles")
    print(f"{'part':<10} {'method':<10} {'P':>6} {'R':>6} {'F1':>6}  matched/pred/gold")
    for part, keep in (("dev half", dev), ("held-out", held), ("all", dev | held)):
        for name, predicted in (("storyline", ours), ("rule", rule)):
            s = score((predicted[i], r["sources"]) for i, r in enumerate(rows)
                      if r["id"].rsplit(":", 1)[0] in keep)
            print(f"{part:<10} {name:<10} {s['P']:6.3f} {s['R']:6.3f} {s['F1']:6.3f}  "
                  f"{s['matched']}/{s['predicted']}/{s['gold']}")
    shown = 0
    for i, r in enumerate(rows):
        if shown >= args.misses or r["id"].rsplit(":", 1)[0] not in dev:
            continue
        hits = match_counts(ours[i], r["sources"])
        if hits < len(r["sources"]) or hits < len(ours[i]):
            shown += 1
            print(f"\n{r['id']}: {r['text']}\n  gold: {r['sources']}\n  ours: {ours[i]}")


if __name__ == "__main__":
    main()
