"""Precision of the facts read off headlines, on hand-checked samples of UCI News dev titles.

    python benchmarks/facts_precision.py [--wrong] [--sample dev|heldout|heldout2|heldout3|heldout4]

Labelled samples, one labelled fact a line: ``id`` (the row id of
../shared/data/uci-news/dev.csv), ``kind`` (quantity or attribution), ``fact`` (a quantity as
"value unit | what", an attribution as "source | cue"), ``correct`` (checked by hand, reading
the title) and ``before`` (whether the baseline extractor produced it).

* ``benchmarks/data/facts_sample.jsonl`` -- the development sample: 124 random titles, the
  union of the facts the extractor before the headline rules (commit b9bb258, ``before``) and
  after them read off. Rules are tuned on it.
* ``benchmarks/data/facts_heldout.jsonl`` -- the held-out sample, never tuned on: the 800 titles
  ``heldout_ids()`` draws (seed 15) from the dev rows the development sample does not use,
  with every fact the extractor of commit 83fada5 (``before``) read off them, labelled before
  any rule changed. Facts a later extractor reads on those titles are labelled as they show
  up (``before`` false), so its precision is scored on all it reads.
* ``benchmarks/data/facts_heldout2.jsonl`` -- a second held-out sample (seed 16): the facts the
  extractor of commit f7d79ed read, labelled before rules were written from its errors.
* ``benchmarks/data/facts_heldout3.jsonl`` -- a third held-out sample (seed 17): the facts the
  extractor of commit fbad702 read (rules written from the first three samples), labelled
  before any rule was written from it.
* ``benchmarks/data/facts_heldout4.jsonl`` -- a fourth held-out sample (seed 18): the facts the
  extractor of commit 5561776 read (rules written from the first four samples), labelled
  before any rule was written from it.

A quantity is correct when the headline states that number as a count or amount (not a
listicle count, rank, version, name or date), with the right value, and ``what`` names what
is counted or what happened to it in the headline's own words. An attribution is correct when
the source is who says, claims, reports or thinks the rest of the headline, and the cue is
the word that says so.

Per sample, prints the facts read, precision and recall before (from the labels) and now
(running the extractor on the sample's titles). Recall is of the facts labelled correct in
the sample (the union of what the extractors read), so it shows what a stricter extractor
gave up. Facts read now that the sample has no label for are counted and listed.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storyline.pipeline.facts import FactExtractor, SnippetFacts  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared/data/uci-news/dev.csv"
SAMPLES = {
    "dev": ROOT / "benchmarks/data/facts_sample.jsonl",
    "heldout": ROOT / "benchmarks/data/facts_heldout.jsonl",
    "heldout2": ROOT / "benchmarks/data/facts_heldout2.jsonl",
    "heldout3": ROOT / "benchmarks/data/facts_heldout3.jsonl",
    "heldout4": ROOT / "benchmarks/data/facts_heldout4.jsonl",
}
HELDOUT_SEEDS = {"heldout": 15, "heldout2": 16, "heldout3": 17, "heldout4": 18}
HELDOUT_TITLES = 800
Key = tuple[str, str, str]  # (id, kind, fact)


def fact_keys(facts: SnippetFacts) -> list[tuple[str, str]]:
    """(kind, fact) of each quantity and attribution, as the samples write them."""
    data = facts.to_json()
    out = [("quantity", f"{q['value']} {q['unit']} | {q['what']}") for q in data["quantities"]]
    out += [("attribution", f"{a['source']} | {a['cue']}") for a in data["attributions"]]
    return out


def heldout_ids(all_ids: list[str], name: str = "heldout") -> list[str]:
    """A held-out sample's titles: a seeded draw from the rows no earlier sample used."""
    used = {json.loads(line)["id"] for line in SAMPLES["dev"].open(encoding="utf-8")}
    for earlier in HELDOUT_SEEDS:
        if earlier == name:
            break
        used |= set(heldout_ids(all_ids, earlier))
    pool = sorted((i for i in all_ids if i not in used), key=int)
    return sorted(random.Random(HELDOUT_SEEDS[name]).sample(pool, HELDOUT_TITLES), key=int)


def ratio(hits: int, n: int) -> str:
    return f"{hits / n:.3f} ({hits}/{n})" if n else "-"


def score(name: str, read: list[Key], label: dict[Key, bool]) -> str:
    """One table row: facts read, then precision and recall for all, quantities, attributions."""
    cells = [str(len(read))]
    for kinds in (("quantity", "attribution"), ("quantity",), ("attribution",)):
        mine = [k for k in read if k[1] in kinds and k in label]
        true = [k for k, v in label.items() if v and k[1] in kinds]
        hits = sum(label[k] for k in mine)
        cells += [ratio(hits, len(mine)), ratio(len(set(mine) & set(true)), len(true))]
    return f"{name:<7}" + "".join(f"{c:>17}" for c in cells)


def run_sample(name: str, titles: dict[str, str], wrong: bool) -> None:
    path = SAMPLES[name]
    sample = [json.loads(line) for line in path.open(encoding="utf-8")] if path.exists() else []
    label = {(r["id"], r["kind"], r["fact"]): r["correct"] for r in sample}
    before = [(r["id"], r["kind"], r["fact"]) for r in sample if r["before"]]
    if name in HELDOUT_SEEDS:
        ids = heldout_ids(list(titles), name)
    else:
        ids = sorted({r["id"] for r in sample}, key=int)
    extracted = FactExtractor().extract_many([titles[i] for i in ids])
    now: list[Key] = []
    for i, facts in zip(ids, extracted, strict=True):
        now += [(i, kind, fact) for kind, fact in dict.fromkeys(fact_keys(facts))]
    unlabelled = [k for k in now if k not in label]
    print(f"{name}: {len(ids)} titles, {len(sample)} labelled facts")
    head = ["read", "P all", "R all", "P quantities", "R quantities", "P attrib.", "R attrib."]
    print(" " * 7 + "".join(f"{h:>17}" for h in head))
    print(score("before", before, label))
    print(score("now", now, label))
    if wrong:
        print("labelled wrong, read now:")
        for k in now:
            if label.get(k) is False:
                print(f"   {k[0]:>5} {k[1]:<11} {k[2]}  <- {titles[k[0]]}")
        print("labelled right, not read now:")
        for k, v in label.items():
            if v and k not in set(now):
                print(f"   {k[0]:>5} {k[1]:<11} {k[2]}  <- {titles[k[0]]}")
    print(f"unlabelled facts now: {len(unlabelled)}")
    for k in unlabelled:
        print("  ", json.dumps({"id": k[0], "kind": k[1], "fact": k[2]}, ensure_ascii=False))


def main() -> None:
    if not DATA.exists():
        print(f"skipped: {DATA} not found")
        return
    with DATA.open(encoding="utf-8", newline="") as fh:
        titles = {row["id"]: row["title"] for row in csv.DictReader(fh)}
    names = list(SAMPLES)
    if "--sample" in sys.argv:
        names = [sys.argv[sys.argv.index("--sample") + 1]]
    for name in names:
        run_sample(name, titles, "--wrong" in sys.argv)


if __name__ == "__main__":
    main()
