"""Does one clustering configuration transfer across data sets?

    python benchmarks/cluster_transfer.py                   # today's rule, every set and half
    python benchmarks/cluster_transfer.py --learned         # + the learned join decision,
                                                            #   leave-one-set-out and by halves
    python benchmarks/cluster_transfer.py --preset fast

Every set is scored whole and in two halves split by story (a hash of the gold
label), so a half is a set of stories never seen by a model trained on the
other. The learned join decision (storyline/pipeline/story_model.json, trained
by benchmarks/train_join.py) is scored leave-one-set-out: trained on every set
but the one scored, and on the other half of the same set. Embeddings are
cached under /tmp/storyline-embcache so repeated runs only cluster.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import Dataset, all_sets  # noqa: E402
from storyline.config import preset  # noqa: E402
from storyline.evaluate import score_clusters  # noqa: E402

CACHE = Path("/tmp/storyline-embcache")


class CachedEncoder:
    """An encoder whose vectors are kept on disk by text hash (benchmarks only)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.path = CACHE / f"{inner.name.replace('/', '_').replace(':', '_')}.npz"
        self.vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            data = np.load(self.path)
            self.vectors = dict(zip(data["keys"].tolist(), data["vectors"]))
        self.dirty = False

    def encode(self, texts):
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self.vectors]
        if missing:
            fresh = self.inner.encode([texts[i] for i in missing])
            for i, v in zip(missing, fresh):
                self.vectors[keys[i]] = v
            self.save()
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        CACHE.mkdir(exist_ok=True)
        keys = list(self.vectors)
        np.savez(self.path, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))


def use_cache() -> None:
    """Route storyline.models.encoders.load_encoder through the disk cache."""
    from storyline.models import encoders

    original = encoders.load_encoder
    loaded: dict[str, CachedEncoder] = {}

    def load(name: str = "static"):
        if name not in loaded:
            loaded[name] = CachedEncoder(original(name))
        return loaded[name]

    encoders.load_encoder = load


def half(data: Dataset, which: int) -> Dataset:
    """The records whose gold story hashes to ``which`` (0 or 1); unlabelled ones stay
    with half 0 (the seeds' unlabelled lines)."""
    def side(record) -> int:
        label = data.gold.get(record.id)
        if label is None:
            return 0
        return hashlib.md5(str(label).encode()).digest()[0] % 2

    records = [r for r in data.records if side(r) == which]
    ids = {r.id for r in records}
    return Dataset(f"{data.name} h{which}", records,
                   {k: v for k, v in data.gold.items() if k in ids})


def score(data: Dataset, config) -> tuple:
    from storyline.jobs import cluster_records

    started = time.perf_counter()
    out = cluster_records(data.records, config)
    seconds = time.perf_counter() - started
    s = score_clusters({o["id"]: o["story"] for o in out}, data.gold)
    return s, seconds, out


def seeds_check(data: Dataset, out: list[dict]) -> str:
    """The seeds' target: every gold line of the main story in one story, and at
    most one foreign line in it."""
    story_of = {o["id"]: o["story"] for o in out}
    main = [i for i, g in data.gold.items() if g == "nk-troops-in-kursk"]
    stories = {story_of[i] for i in main if i in story_of}
    biggest = max(stories, key=lambda s: sum(story_of[i] == s for i in main))
    held = sum(story_of[i] == biggest for i in main)
    foreign = sum(1 for i, s in story_of.items() if s == biggest and data.gold.get(i)
                  != "nk-troops-in-kursk")
    return f"main {held}/{len(main)}, foreign {foreign}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                        help="a learned join model to score beside today's rule "
                        "(PATH 'default': the shipped one)")
    parser.add_argument("--threshold", type=float, action="append", default=[],
                        help="also today's rule at this threshold")
    parser.add_argument("--only", help="only the sets whose name holds this")
    parser.add_argument("--no-halves", action="store_true")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    if not args.no_cache:
        use_cache()
    sets = [d for d in all_sets() if not args.only or args.only in d.name]
    units = []
    for d in sets:
        units.append(d)
        if not args.no_halves and d.name != "seeds":
            units += [half(d, 0), half(d, 1)]
    rule = preset(args.preset)
    rule.weights = replace(rule.weights, join_model="")
    configs = [("rule", rule)]
    for t in args.threshold:
        config = preset(args.preset)
        config.weights = replace(config.weights, threshold=t, join_model="")
        configs.append((f"rule@{t:g}", config))
    for item in args.model:
        name, path = item.split("=", 1)
        config = preset(args.preset)
        config.weights = replace(config.weights, join_model=path)
        configs.append((name, config))
    print(f"{'set':<18} {'config':<14} {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6} {'sec':>6}")
    for d in units:
        for name, config in configs:
            s, seconds, out = score(d, config)
            extra = seeds_check(d, out) if d.name == "seeds" else ""
            print(f"{d.name:<18} {name:<14} {s.b3_precision:6.3f} {s.b3_recall:6.3f} "
                  f"{s.b3_f1:6.3f} {seconds:6.1f} {extra}", flush=True)


if __name__ == "__main__":
    main()
