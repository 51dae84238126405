"""Encoding speed and agreement of storyline's encoders on the uci-news dev headlines.

Run from anywhere: ``python benchmarks/encoders_speed.py [--encoders static minilm ...]``.
Reports, per encoder: headlines/s; mean and minimum cosine to the sentence-transformers (torch)
embeddings when the encoder shares their space; Spearman correlation of pairwise similarities
with the reference (comparable across spaces); and same-story nearest-neighbour accuracy.
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


def main() -> int:
    """Encode the dev headlines with each encoder and print a table."""
    from storyline.models.encoders import ModelNotBuiltError, load_encoder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", nargs="+", default=DEFAULT_ENCODERS)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per encoder (best)")
    args = parser.parse_args()
    if not DATA.is_file():
        print(f"skipped: {DATA} not found (the shared uci-news dev set)")
        return 0
    texts, labels = read_headlines(DATA)
    pairs = np.random.default_rng(0).integers(0, len(texts), size=(20_000, 2))
    print(f"{len(texts)} headlines, {os.cpu_count()} CPU cores")

    results: dict[str, tuple[np.ndarray, float]] = {}
    for name in args.encoders:
        try:
            encoder = load_encoder(name)
        except (ModelNotBuiltError, ImportError, OSError, ValueError) as exc:
            print(f"{name}: skipped ({exc})")
            continue
        # torch is ~10x slower than the rest: one timed run is plenty.
        repeats = 1 if name.startswith("st:") else args.repeats
        vectors, seconds = time_encode(encoder, texts, repeats)
        results[name] = (vectors, seconds)
        print(f"{name}: {encoder.name}, dim {encoder.dim}, {len(texts) / seconds:,.0f} headlines/s")

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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
