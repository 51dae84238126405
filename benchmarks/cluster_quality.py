"""Story clustering quality and speed, online, one configuration for every set.

    python benchmarks/cluster_quality.py                 # default and fast presets
    python benchmarks/cluster_quality.py --preset fast
    python benchmarks/cluster_quality.py --baselines     # + MiniLM agglomerative baseline
                                                         #   and BERTopic (the bench extra)

Each set runs through ``storyline.jobs.cluster_records`` (the code behind
``storyline cluster``) on a fresh store: seeds (2 batches), UCI News dev
(6-hour windows of the timestamp) and ECB+ dev (title + text, one batch).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import all_sets, item_text  # noqa: E402
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


def minilm_agglomerative(sets) -> list[tuple]:
    """Offline baseline: MiniLM (ONNX) + average-link agglomerative clustering,
    the threshold picked on the labels (best of a grid), as in shared/data/README.md."""
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    from storyline.models.encoders import load_encoder

    encoder = load_encoder("minilm")
    rows = []
    for data in sets:
        started = time.perf_counter()
        texts = [" ".join(item_text(r).split()[:60]) for r in data.records]
        vectors = encoder.encode(texts)
        distance = 1 - vectors @ vectors.T
        np.clip(distance, 0, 2, out=distance)
        encode_seconds = time.perf_counter() - started
        best = None
        for threshold in np.arange(0.2, 0.75, 0.05):
            labels = AgglomerativeClustering(
                n_clusters=None, metric="precomputed", linkage="average",
                distance_threshold=1 - threshold,
            ).fit_predict(distance)
            scores = score_clusters({r.id: int(lab) for r, lab in zip(data.records, labels)},
                                    data.gold)
            if best is None or scores.b3_f1 > best.b3_f1:
                best = scores
        rows.append((data.name, "minilm-agglo*", best, len(texts) / encode_seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", help="default and fast unless given")
    parser.add_argument("--weights", help="dense,terms,names,threshold"
                        "[,merge_terms,merge_dense,merge_names] (tuning only)")
    parser.add_argument("--only", help="run only the sets whose name holds this")
    parser.add_argument("--baselines", action="store_true",
                        help="also MiniLM + agglomerative, threshold picked on the labels (*), "
                        "and BERTopic where installed (pip install -e .[bench])")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a Config field (tuning only), e.g. lead_words=30")
    args = parser.parse_args()
    weights = None
    if args.weights:
        values = [float(x) for x in args.weights.split(",")]
        weights = ClusterWeights(*values)
    sets = [s for s in all_sets() if not args.only or args.only in s.name]
    print(f"{'set':<14} {'preset':<8} {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6} {'pair F1':>7} "
          f"{'ARI':>6} {'items/s':>8}")
    for preset_name in args.preset or ["default", "fast"]:
        overrides = {}
        for key, value in (item.split("=", 1) for item in args.set):
            if key.startswith("weights."):  # weights.conflict_penalty=0.1
                field = key.split(".", 1)[1]
                base = weights or preset(preset_name).weights
                weights = replace(base, **{field: type(getattr(base, field))(value)})
            else:
                overrides[key] = type(getattr(Config(), key))(value)
        for row in run(preset_name, weights, sets, overrides):
            _print(row)
    if args.baselines:
        for row in minilm_agglomerative(sets):
            _print(row)
        print("* offline, threshold picked on the labels; items/s counts encoding only")
        try:
            import bertopic  # noqa: F401
        except ImportError:
            print("BERTopic skipped: not installed (pip install -e .[bench])")
        else:
            from benchmarks.baseline_bertopic import NOTE, bertopic_baseline

            for row in bertopic_baseline(sets):
                _print(row)
            print(NOTE)


def _print(row: tuple) -> None:
    name, p, s, speed = row
    print(f"{name:<14} {p:<8} {s.b3_precision:6.3f} {s.b3_recall:6.3f} {s.b3_f1:6.3f} "
          f"{s.pairwise_f1:7.3f} {s.ari:6.3f} {speed:8.0f}", flush=True)


if __name__ == "__main__":
    main()
