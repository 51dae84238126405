"""What ``storyline check`` verifies beyond the tables: the stream's statistics.

The document frequencies of words and names are counters kept across batches in the
store's state; a lost update (two writers each saving what they loaded) leaves them
counting fewer snippets than the store holds, which no table constraint sees. They are
counted again here from the snippets themselves and compared.
"""

from __future__ import annotations

import io

import numpy as np

from storyline.config import Config
from storyline.pipeline.represent import N_FEATURES, TermWeights, leads, names, words
from storyline.store import Store


class _Unreadable(Exception):
    """A stored statistic that is not what this version writes (damaged)."""


def _stored(store: Store, name: str) -> tuple[np.ndarray, int] | None:
    blob = store.get_state(f"df:{name}")
    if blob is None:
        return None
    try:
        data = np.load(io.BytesIO(blob))
        df = np.zeros(data["size"].item(), dtype=np.int64)
        df[data["index"]] = data["count"]
        return df, int(data["docs"])
    except (ValueError, KeyError, TypeError, IndexError, OSError, EOFError):
        raise _Unreadable(name) from None


def _recount(store: Store, config: Config) -> dict[str, tuple[np.ndarray, int]]:
    out = {}
    analyzers = {"terms": words, "names": names}
    counters = {key: TermWeights(analyzer) for key, analyzer in analyzers.items()}
    totals = {key: (np.zeros(N_FEATURES, dtype=np.int64), 0) for key in analyzers}
    for texts in store.snippet_text_chunks():
        lead_texts = leads(texts, config.lead_words)
        for key, counter in counters.items():
            counts = counter.counts(lead_texts)  # summed: a column once per snippet
            df, docs = totals[key]
            totals[key] = (df + np.bincount(counts.indices, minlength=N_FEATURES),
                           docs + counts.shape[0])
    out.update(totals)
    return out


def statistics_problems(store: Store, config: Config) -> list[str]:
    """Where the stored document frequencies disagree with the snippets."""
    snippets = store.counts()["snippets"]
    try:
        stored = {key: _stored(store, key) for key in ("terms", "names")}
    except _Unreadable as exc:
        return [f"the stored document frequencies of {exc} cannot be read (damaged)"]
    if all(value is None for value in stored.values()):
        return [f"the stream statistics are missing ({snippets} snippets stored)"]
    recounted = _recount(store, config)
    problems = []
    for key, label in (("terms", "words"), ("names", "names")):
        value = stored[key]
        df, docs = recounted[key]
        if value is None:
            problems.append(f"the document frequencies of {label} are missing")
            continue
        stored_df, stored_docs = value
        wrong = int(np.count_nonzero(stored_df[:N_FEATURES] != df))
        if stored_docs != docs or wrong:
            problems.append(f"the document frequencies of {label} count {stored_docs:,} "
                            f"snippets, the store holds {docs:,} ({wrong:,} counters differ): "
                            "a lost update")
    dense_docs = store.get_text_state("dense_docs")
    if dense_docs is not None and not dense_docs.strip().isdigit():
        problems.append(f"the embedding mean's count {dense_docs[:40]!r} is no number (damaged)")
    elif dense_docs is not None and int(dense_docs) != snippets:
        problems.append(f"the embedding mean counts {int(dense_docs):,} snippets, the store "
                        f"holds {snippets:,}")
    return problems
