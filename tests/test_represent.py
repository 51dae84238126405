"""Stage 4: the hashed views keep scikit-learn's columns (stored frequencies depend on it)."""

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
