"""Fact extraction against the hand labels of the seeds (examples/seeds/gold.json).

    python benchmarks/facts_seeds.py

Prints, per gold quantity, on how many of its lines a quantity with the right value, what
(same :func:`what_key`) and qualifier was found; per gold attribution, whether the line has an
attribution with the same source (case, apostrophes and a leading "the" ignored) and cue; and
how many story facts are flagged as contradictions (every one would be false on the seeds).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storyline.pipeline.facts import (  # noqa: E402
    FactExtractor,
    FactInput,
    SnippetFacts,
    _fold,
    group_story_facts,
    new_in_batch,
    what_key,
)

SEEDS = Path(__file__).resolve().parents[1] / "examples" / "seeds"


def norm_source(text: str) -> str:
    text = _fold(text)
    return text[4:] if text.startswith("the ") else text


def load() -> tuple[dict, dict[tuple[str, int], str]]:
    gold = json.loads((SEEDS / "gold.json").read_text())
    lines: dict[tuple[str, int], str] = {}
    for batch, name in gold["batches"].items():
        for i, line in enumerate((SEEDS / name).read_text().splitlines(), 1):
            lines[(batch, i)] = line.strip()
    return gold, lines


def score_quantities(gold: dict, facts: dict[tuple[str, int], SnippetFacts]) -> int:
    found_all = 0
    print("quantities (value, what, qualifier) found per gold line:")
    for g in gold["quantities"]:
        quals = {q.strip() for q in g.get("qualifier", "").split("/") if q.strip()}
        key = what_key(g["what"], g["unit"])
        hits = 0
        for batch, line in g["lines"]:
            for q in facts[(batch, line)].quantities:
                if (
                    q.value == g["value"]
                    and q.key()[:3] == key[:3]
                    and ((q.qualifier in quals) if quals else q.qualifier is None)
                ):
                    hits += 1
                    break
        ok = hits == len(g["lines"])
        found_all += ok
        print(
            f"  {'OK ' if ok else 'MISS'} {g['value']:>6} {g['what']!r:50} "
            f"qualifier={g.get('qualifier')!s:24} lines {hits}/{len(g['lines'])}"
        )
    print(
        f"=> quantities found with right value, what and qualifier on every line: "
        f"{found_all}/{len(gold['quantities'])}"
    )
    return found_all


def score_attributions(gold: dict, facts: dict[tuple[str, int], SnippetFacts]) -> int:
    right_source = right_cue = 0
    print("attributions:")
    for g in gold["attributions"]:
        got = facts[tuple(g["line"])].attributions
        match = next((a for a in got if norm_source(a.source) == norm_source(g["source"])), None)
        right_source += match is not None
        cue_ok = match is not None and _fold(match.cue) == _fold(g["cue"])
        right_cue += cue_ok
        shown = match.source if match else "; ".join(a.source for a in got) or "-"
        print(
            f"  {'OK ' if match else 'MISS'} {g['line']} {g['source']!r:52} got {shown!r}"
            f" cue {'ok' if cue_ok else 'differs'}"
        )
    n = len(gold["attributions"])
    print(
        f"=> attributions with the right source: {right_source}/{n}; "
        f"and the right cue: {right_cue}/{n}"
    )
    return right_source


def score_stories(gold: dict, facts: dict[tuple[str, int], SnippetFacts]) -> int:
    false_contradictions = 0
    stories = dict(gold["stories"])
    # Worst case: every line of both batches in one story.
    stories["(all lines as one story)"] = {"lines": [list(k) for k in facts]}
    for name, story in stories.items():
        lines = [tuple(x) for x in story["lines"]]
        items = [FactInput(k, b, None, facts[(b, i)]) for k, (b, i) in enumerate(lines)]
        story_facts = group_story_facts(items)
        bad = [f for f in story_facts if f.status == "contradicted"]
        false_contradictions += len(bad) if name != "(all lines as one story)" else 0
        if not story_facts:
            continue
        print(f"story {name}: {len(story_facts)} facts, {len(bad)} contradicted")
        for f in story_facts:
            value = int(f.value) if f.value.is_integer() else f.value
            print(
                f"  {f.what:42} {value:>7} {'/'.join(f.qualifiers) or '-':24} "
                f"{'; '.join(f.sources) or '-':60.60} snippets={len(f.snippet_ids)} "
                f"first={f.first_batch} {f.status}"
            )
        new = [f.what for f in new_in_batch(story_facts, "002")]
        print(f"  new in 002: {new}")
    print(f"=> false contradictions on the seed stories: {false_contradictions}")
    return false_contradictions


def main() -> None:
    gold, lines = load()
    extractor = FactExtractor()
    keys = list(lines)
    start = time.perf_counter()
    results = extractor.extract_many([lines[k] for k in keys])
    elapsed = time.perf_counter() - start
    facts = dict(zip(keys, results, strict=True))
    print(f"{len(keys)} seed lines in {elapsed:.2f}s (model load included)\n")
    score_quantities(gold, facts)
    print()
    score_attributions(gold, facts)
    print()
    score_stories(gold, facts)


if __name__ == "__main__":
    main()
