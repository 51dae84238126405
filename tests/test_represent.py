"""Stage 4: the hashed views keep scikit-learn's columns (stored frequencies depend on it)."""

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, HashingVectorizer

from storyline.pipeline.represent import (
    _ENGLISH_STOP_WORDS,
    N_FEATURES,
    TermWeights,
    names,
    words,
)

TEXTS = [
    "South Korea's National Intelligence Service (NIS) confirmed the capture on Sunday.",
    "Über 12.000 nordkoreanische Soldaten — Kursk, 2025; naïve café résumé 東京",
    "",
    "Fed's Plosser: weak data caused by weather, taper should go on",
]


def test_hashed_counts_are_scikit_learns():
    for analyzer in (words, names):
        expected = HashingVectorizer(analyzer=analyzer, n_features=N_FEATURES,
                                     alternate_sign=False, norm=None).transform(TEXTS)
        got = TermWeights(analyzer).counts(TEXTS)
        assert got.shape == expected.shape
        assert abs(got - expected).sum() == 0


def test_stop_words_are_scikit_learns():
    assert _ENGLISH_STOP_WORDS == ENGLISH_STOP_WORDS


def test_term_weights_keep_the_columns_in_use() -> None:
    weights = TermWeights(words)
    weights.learn(weights.counts(["Kursk soldiers captured", "soldiers swap"]))
    assert np.array_equal(weights.columns, np.flatnonzero(weights.df))
    weights.learn(weights.counts(["prisoner swap offer", ""]))
    assert np.array_equal(weights.columns, np.flatnonzero(weights.df))
    reloaded = TermWeights(words, weights.df.copy(), weights.docs)
    assert np.array_equal(reloaded.columns, weights.columns)
