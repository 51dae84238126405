"""Do paraphrases get the same facts? Fact agreement on MSRP train pairs.

    python benchmarks/facts_msrp.py [--limit N]

Reads ../shared/data/msrp/train.tsv (skipped with a message if absent). Both sentences of each
pair go through :class:`FactExtractor`; the pair "gets the same facts" on a facet when every
fact of one sentence has a matching fact in the other, both ways:

* values: quantities with the same unit kind and overlapping value intervals;
* values+what: the same, and the same :func:`what_key` (what is counted and the event);
* sources: attribution sources equal up to case, apostrophes and a leading article;
* entities: canonical entity names (:func:`canonical_entities` over the pair) equal;
* no-conflict: :func:`group_story_facts` over the pair flags no contradiction (pairs where
  both sentences have quantities). Paraphrases should never conflict; for non-paraphrases,
  "different" here means a flagged contradiction, which is rarer than a difference.

Only pairs where at least one sentence has a fact of that facet are counted. Reported:
P(same | paraphrase), P(different | non-paraphrase) and their mean (balanced accuracy).
MSRP non-paraphrases were picked for high word overlap, so they often share numbers and names:
this is a hard setting for "different facts".
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storyline.pipeline.facts import (  # noqa: E402
    FactExtractor,
    FactInput,
    Quantity,
    SnippetFacts,
    _fold,
    _unit_kind,
    canonical_entities,
    compatible,
    group_story_facts,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared/data/msrp/train.tsv"


def read_pairs(path: Path, limit: int | None) -> list[tuple[int, str, str]]:
    pairs = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)  # header
        for row in reader:
            if len(row) >= 5:
                pairs.append((int(row[0]), row[3], row[4]))
            if limit and len(pairs) >= limit:
                break
    return pairs


def _covers(a: list[Quantity], b: list[Quantity], with_what: bool) -> bool:
    return all(
        any(
            _unit_kind(x.unit) == _unit_kind(y.unit)
            and compatible(x, y)
            and (not with_what or x.key() == y.key())
            for y in b
        )
        for x in a
    )


def same_values(a: SnippetFacts, b: SnippetFacts) -> bool | None:
    if not a.quantities and not b.quantities:
        return None
    return _covers(a.quantities, b.quantities, False) and _covers(b.quantities, a.quantities, False)


def same_values_what(a: SnippetFacts, b: SnippetFacts) -> bool | None:
    if not a.quantities and not b.quantities:
        return None
    return _covers(a.quantities, b.quantities, True) and _covers(b.quantities, a.quantities, True)


def _sources(f: SnippetFacts) -> set[str]:
    out = set()
    for a in f.attributions:
        s = _fold(a.source)
        out.add(s[4:] if s.startswith("the ") else s)
    return out


def same_sources(a: SnippetFacts, b: SnippetFacts) -> bool | None:
    if not a.attributions and not b.attributions:
        return None
    return _sources(a) == _sources(b)


def same_entities(a: SnippetFacts, b: SnippetFacts) -> bool | None:
    if not a.entities and not b.entities:
        return None
    names = canonical_entities(a.entities + b.entities)
    return {_fold(names[e.text]) for e in a.entities} == {_fold(names[e.text]) for e in b.entities}


def no_contradiction(a: SnippetFacts, b: SnippetFacts) -> bool | None:
    """Story level: grouping the pair flags no contradiction (both need quantities)."""
    if not a.quantities or not b.quantities:
        return None
    facts = group_story_facts([FactInput(0, "1", "a", a), FactInput(1, "1", "b", b)])
    return all(f.status != "contradicted" for f in facts)


FACETS: dict[str, Callable[[SnippetFacts, SnippetFacts], bool | None]] = {
    "values": same_values,
    "values+what": same_values_what,
    "sources": same_sources,
    "entities": same_entities,
    "no-conflict": no_contradiction,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N pairs only")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} not found")
        return
    pairs = read_pairs(DATA, args.limit)
    extractor = FactExtractor()
    extractor.extract("warm up")
    start = time.perf_counter()
    facts = extractor.extract_many([s for _, a, b in pairs for s in (a, b)])
    elapsed = time.perf_counter() - start
    print(
        f"{len(pairs)} pairs ({sum(p for p, _, _ in pairs)} paraphrases), "
        f"{2 * len(pairs)} sentences in {elapsed:.1f}s"
    )
    print(f"{'facet':12} {'pairs para/non':>15} {'same|para':>10} {'diff|non':>9} {'balanced':>9}")
    for name, fn in FACETS.items():
        para_same = para_n = non_diff = non_n = 0
        for k, (label, _, _) in enumerate(pairs):
            same = fn(facts[2 * k], facts[2 * k + 1])
            if same is None:
                continue
            if label == 1:
                para_n += 1
                para_same += same
            else:
                non_n += 1
                non_diff += not same
        p = para_same / para_n if para_n else 0.0
        n = non_diff / non_n if non_n else 0.0
        print(f"{name:12} {para_n:>7}/{non_n:<7} {p:>10.3f} {n:>9.3f} {(p + n) / 2:>9.3f}")


if __name__ == "__main__":
    main()
