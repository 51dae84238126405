"""Precision of the facts read off headlines, on a hand-checked sample of UCI News dev titles.

    python benchmarks/facts_precision.py [--wrong]

benchmarks/data/facts_sample.jsonl holds one labelled fact a line: ``id`` (the row id of
../shared/data/uci-news/dev.csv), ``kind`` (quantity or attribution), ``fact`` (a quantity as
"value unit | what", an attribution as "source | cue"), ``correct`` (checked by hand, reading
the title) and ``before`` (whether the extractor before the headline rules, commit b9bb258,
produced it). The sample is the union of the facts the old and the new extractor read off a
random set of titles, so both are scored on the same titles.

A quantity is correct when the headline states that number as a count or amount (not a
listicle count, rank, version, name or date), with the right value, and ``what`` names what
is counted or what happened to it in the headline's own words. An attribution is correct when
the source is who says, claims, reports or thinks the rest of the headline, and the cue is
the word that says so.

Prints precision before (from the labels) and now (running the extractor on the sampled
titles); facts the extractor reads now that the sample has no label for are counted and
listed, so a changed extractor shows what is left to label.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storyline.pipeline.facts import FactExtractor, SnippetFacts  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared/data/uci-news/dev.csv"
SAMPLE = ROOT / "benchmarks/data/facts_sample.jsonl"


def fact_keys(facts: SnippetFacts) -> list[tuple[str, str]]:
    """(kind, fact) of each quantity and attribution, as the sample writes them."""
    data = facts.to_json()
    out = [("quantity", f"{q['value']} {q['unit']} | {q['what']}") for q in data["quantities"]]
    out += [("attribution", f"{a['source']} | {a['cue']}") for a in data["attributions"]]
    return out


def precision(labels: list[bool]) -> str:
    return f"{sum(labels) / len(labels):.3f} ({sum(labels)}/{len(labels)})" if labels else "-"


def main() -> None:
    if not DATA.exists():
        print(f"skipped: {DATA} not found")
        return
    sample = [json.loads(line) for line in SAMPLE.open(encoding="utf-8")]
    label = {(r["id"], r["kind"], r["fact"]): r["correct"] for r in sample}
    before = {(r["id"], r["kind"], r["fact"]) for r in sample if r["before"]}
    ids = sorted({r["id"] for r in sample}, key=int)
    with DATA.open(encoding="utf-8", newline="") as fh:
        titles = {row["id"]: row["title"] for row in csv.DictReader(fh)}
    extracted = FactExtractor().extract_many([titles[i] for i in ids])
    now: list[tuple[str, str, str]] = []
    for i, facts in zip(ids, extracted, strict=True):
        now += [(i, kind, fact) for kind, fact in dict.fromkeys(fact_keys(facts))]
    unlabelled = [k for k in now if k not in label]
    print(f"{len(ids)} titles, {len(sample)} labelled facts")
    print(f"{'':<8} {'all':>16} {'quantities':>16} {'attributions':>16}")
    for name, rows in (
        ("before", [(k[1], v) for k, v in label.items() if k in before]),
        ("now", [(k[1], label[k]) for k in now if k in label]),
    ):
        cells = [precision([v for kind, v in rows if kind in kinds])
                 for kinds in (("quantity", "attribution"), ("quantity",), ("attribution",))]
        print(f"{name:<8} {cells[0]:>16} {cells[1]:>16} {cells[2]:>16}")
    if "--wrong" in sys.argv:
        print("labelled wrong, read now:")
        for k in now:
            if label.get(k) is False:
                print(f"   {k[0]:>5} {k[1]:<11} {k[2]}  <- {titles[k[0]]}")
    print(f"unlabelled facts now: {len(unlabelled)}")
    for k in unlabelled:
        print("  ", json.dumps({"id": k[0], "kind": k[1], "fact": k[2]}, ensure_ascii=False))


if __name__ == "__main__":
    main()
