"""Near-duplicate detection on MSRP sentence pairs: how often a pair is called a copy,
and how often such a pair is not even a paraphrase.

    python benchmarks/dedupe_msrp.py

A near copy (estimated Jaccard of character 5-grams >= the threshold, and the same
figures) should be the same sentence lightly edited; MSRP pairs are different
sentences, some paraphrases, so few should be called copies, and almost all of those
should be paraphrases.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import SHARED  # noqa: E402
from storyline.config import Config  # noqa: E402
from storyline.pipeline.dedupe import numbers, shingles, signatures  # noqa: E402
from storyline.pipeline.normalize import clean_text  # noqa: E402


def main() -> None:
    path = SHARED / "msrp" / "train.tsv"
    if not path.exists():
        print(f"skipped: {path} is not there")
        return
    lines = path.read_text(encoding="utf-8-sig").splitlines()[1:]
    rows = [line.split("\t") for line in lines if line.strip()]
    left = [clean_text(r[3]) for r in rows]
    right = [clean_text(r[4]) for r in rows]
    threshold = Config().near_duplicate_jaccard
    estimated = [a.jaccard(b) for a, b in zip(signatures(left), signatures(right))]
    exact = []
    for a, b in zip(left, right):
        sa, sb = set(shingles(a)), set(shingles(b))
        exact.append(len(sa & sb) / len(sa | sb))
    same_figures = [numbers(a) == numbers(b) for a, b in zip(left, right)]
    called = [e >= threshold and f for e, f in zip(estimated, same_figures)]
    paraphrase = [r[0] == "1" for r in rows]
    n_called = sum(called)
    print(f"{len(rows)} MSRP pairs, near-copy threshold {threshold}")
    print(f"called near copies:        {n_called} ({n_called / len(rows):.1%})")
    print(f"  of which paraphrases:    {sum(c and p for c, p in zip(called, paraphrase))}")
    print(f"  of which non-paraphrase: {sum(c and not p for c, p in zip(called, paraphrase))}")
    agree = sum((e >= threshold and f) == c
                for e, f, c in zip(exact, same_figures, called)) / len(rows)
    print(f"MinHash decision = exact-Jaccard decision: {agree:.1%}")


if __name__ == "__main__":
    main()
