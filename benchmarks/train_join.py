"""Train the learned join decision (storyline/pipeline/join.py) on labelled sets.

    python benchmarks/train_join.py --sets uci,ecbplus --out storyline/pipeline/story_model.json
    python benchmarks/train_join.py --sets uci,ecbplus --half 0 --out /tmp/join-h0.json

The engine runs online over each set (default preset) with the clustering
threshold lowered to ``--floor``; every merge average linkage proposes there
is recorded with its features and labelled by the gold stories (one story
when most pairs across the two clusters share a gold story). While recording,
the stream follows today's rule (``--roll-in rule``: threshold, veto and
split) or the labels (``oracle``). An L2-regularised logistic regression over
the records, each set weighing the same, is the model. The defaults are the
shipped model's settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cluster_transfer import half, use_cache  # noqa: E402
from benchmarks.datasets import Dataset, ecbplus, seeds, uci  # noqa: E402
from storyline.config import preset  # noqa: E402
from storyline.engine import Engine  # noqa: E402
from storyline.pipeline import cluster as clustering  # noqa: E402
from storyline.pipeline.join import FEATURES, LearnedJoin  # noqa: E402
from storyline.pipeline.normalize import normalize  # noqa: E402

SETS = {"uci": uci, "ecbplus": ecbplus, "seeds": seeds}


class Recorder(LearnedJoin):
    """Records each proposed merge with its gold label and follows the label."""

    rows: list[tuple[np.ndarray, int, float]] = []
    unit_gold: list[Counter] = []

    def __call__(self, a: list[int], b: list[int], similarity: float | None = None) -> bool:
        if self.veto is not None and self.veto(a, b):
            return True
        ga, gb = Counter(), Counter()
        for u in a:
            ga.update(self.unit_gold[u])
        for u in b:
            gb.update(self.unit_gold[u])
        n_a, n_b = sum(ga.values()), sum(gb.values())
        if not n_a or not n_b:
            return False  # unlabelled: no evidence either way
        purity = sum(c * gb[g] for g, c in ga.items()) / (n_a * n_b)
        same = int(purity >= 0.5)
        x = self.features(a, b)
        Recorder.rows.append((x, same, 1.0))
        rule = self.model.get("rule")
        if rule is None:
            return not same
        # Roll in with today's rule (its veto is self.veto, with --keep-rules):
        # record the states the rule leads to.
        return bool(x[0] < rule.threshold)


def record(data: Dataset, preset_name: str, floor: float, roll_in: str,
           keep_rules: bool) -> None:
    """Run the engine over ``data`` with the recorder as the join decision."""
    from storyline.jobs import cluster_records

    gold_by_text = {}
    for r in data.records:
        if r.id in data.gold:
            gold_by_text.setdefault(normalize(r).text, data.gold[r.id])
    gold_of_snippet: dict[int, str | None] = {}
    chunk_ids: list[int] = []
    current: dict = {}

    original_chunk = Engine._cluster_chunk
    original_batch = clustering.cluster_batch

    def chunk(self, seq, rows, texts, *rest):
        current["engine"] = self
        ids = [row.id for row in rows]
        for sid, text in zip(ids, texts):
            gold_of_snippet[sid] = gold_by_text.get(text)
        chunk_ids[:] = ids
        return original_chunk(self, seq, rows, texts, *rest)

    def batch(stories, feats, w, join=None):
        store = current["engine"].store
        story_gold = {s: Counter() for s in stories.ids}
        for sid, story in store.members_of_stories(stories.ids) if stories.ids else []:
            if gold_of_snippet.get(sid) is not None:
                story_gold[story][gold_of_snippet[sid]] += 1
        Recorder.unit_gold = [story_gold[s] for s in stories.ids] + [
            Counter([gold_of_snippet[s]]) if gold_of_snippet.get(s) else Counter()
            for s in chunk_ids]
        model = {"floor": floor, "rule": rule if roll_in == "rule" else None,
                 "keep_rules": keep_rules}
        return original_batch(stories, feats, w, join=Recorder.factory(model))

    rule = replace(preset(preset_name).weights, join_model="")
    Engine._cluster_chunk = chunk
    clustering.cluster_batch = batch
    try:
        config = preset(preset_name)
        config = replace(config, weights=replace(config.weights, threshold=floor,
                                                 join_model=""))
        cluster_records(data.records, config)
    finally:
        Engine._cluster_chunk = original_chunk
        clustering.cluster_batch = original_batch


def fit(rows, floor: float, c: float = 1.0, drop: tuple[str, ...] = ()) -> dict:
    """Logistic regression on standardised features; dropped features get 0."""
    from sklearn.linear_model import LogisticRegression

    x = np.stack([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    weight = np.array([r[2] for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    used = np.array([f not in drop for f in FEATURES])
    lr = LogisticRegression(C=c, max_iter=2000)
    lr.fit(((x - mean) / scale)[:, used], y, sample_weight=weight)
    coef = np.zeros(len(FEATURES))
    coef[used] = lr.coef_[0]
    return {"features": list(FEATURES), "mean": mean.tolist(), "scale": scale.tolist(),
            "coef": coef.tolist(), "intercept": float(lr.intercept_[0]),
            "floor": floor, "sure": 0.3, "cut": 0.0, "trained_on_rows": len(rows),
            "positive_rows": int(y.sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="uci,ecbplus")
    parser.add_argument("--half", type=int, choices=(0, 1), help="train on one half by story")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--floor", type=float, default=0.15)
    parser.add_argument("--c", type=float, default=0.05, help="inverse L2 strength")
    parser.add_argument("--roll-in", choices=("oracle", "rule"), default="rule",
                        help="whose decisions the stream follows while recording")
    parser.add_argument("--keep-rules", action=argparse.BooleanOptionalAction, default=True,
                        help="keep today's veto and split; the model decides the rest")
    parser.add_argument("--drop", default="", help="features left out, comma-separated")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    use_cache()
    Recorder.rows = []
    names = []
    for key in args.sets.split(","):
        data = SETS[key]()
        if data is None:
            sys.exit(f"{key}: data not found")
        if args.half is not None:
            data = half(data, args.half)
        before = len(Recorder.rows)
        record(data, args.preset, args.floor, args.roll_in, args.keep_rules)
        added = len(Recorder.rows) - before
        # Each set weighs the same, whatever its number of proposals.
        Recorder.rows[before:] = [(x, y, 1000.0 / added) for x, y, _ in Recorder.rows[before:]]
        names.append(f"{data.name} ({added} proposals)")
    drop = tuple(d for d in args.drop.split(",") if d)
    model = fit(Recorder.rows, args.floor, args.c, drop)
    model["trained_on"] = names
    model["preset"] = args.preset
    model["keep_rules"] = args.keep_rules
    Path(args.out).write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"{args.out}: {', '.join(names)}")
    for name, coef in zip(FEATURES, model["coef"]):
        print(f"  {name:<8} {coef:+.3f}")
    print(f"  intercept {model['intercept']:+.3f}")


if __name__ == "__main__":
    main()
