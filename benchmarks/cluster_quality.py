"""Story clustering quality and speed, online, one configuration for every set.

    python benchmarks/cluster_quality.py                 # default and fast presets
    python benchmarks/cluster_quality.py --preset fast
    python benchmarks/cluster_quality.py --baselines     # + offline baselines

Each set runs through ``storyline.jobs.cluster_records`` (the code behind
``storyline cluster``) on a fresh store: seeds (2 batches), UCI News dev
(6-hour windows of the timestamp) and ECB+ dev (title + text, one batch).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import all_sets  # noqa: E402
from storyline.config import Config, preset  # noqa: E402
from storyline.evaluate import score_clusters  # noqa: E402
from storyline.jobs import cluster_records  # noqa: E402
from storyline.pipeline.cluster import ClusterWeights  # noqa: E402


def run(preset_name: str, weights: ClusterWeights | None, sets,
        overrides: dict | None = None) -> list[tuple]:
    rows = []
    for data in sets:
        config = preset(preset_name, **(overrides or {}))
        if weights is not None:
            config.weights = weights
        started = time.perf_counter()
        out = cluster_records(data.records, config)
        seconds = time.perf_counter() - started
        scores = score_clusters({o["id"]: o["story"] for o in out}, data.gold)
        rows.append((data.name, preset_name, scores, len(data.records) / seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", help="default and fast unless given")
    parser.add_argument("--weights", help="dense,terms,names,threshold"
                        "[,linkage[,merge_terms,merge_dense,merge_names]] (tuning only)")
    parser.add_argument("--only", help="run only the sets whose name holds this")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a Config field (tuning only), e.g. lead_words=30")
    args = parser.parse_args()
    weights = None
    if args.weights:
        d, t, n, th, link, *merge = args.weights.split(",") + ["average"][: 5 - len(
            args.weights.split(","))]
        weights = ClusterWeights(float(d), float(t), float(n), float(th), link,
                                 *(float(x) for x in merge))
    sets = [s for s in all_sets() if not args.only or args.only in s.name]
    print(f"{'set':<14} {'preset':<8} {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6} {'pair F1':>7} "
          f"{'ARI':>6} {'items/s':>8}")
    for preset_name in args.preset or ["default", "fast"]:
        overrides = {k: type(getattr(Config(), k))(v)
                     for k, v in (item.split("=", 1) for item in args.set)}
        for name, p, s, speed in run(preset_name, weights, sets, overrides):
            print(f"{name:<14} {p:<8} {s.b3_precision:6.3f} {s.b3_recall:6.3f} {s.b3_f1:6.3f} "
                  f"{s.pairwise_f1:7.3f} {s.ari:6.3f} {speed:8.0f}", flush=True)


if __name__ == "__main__":
    main()
