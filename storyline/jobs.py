"""Whole-file jobs behind the evaluation interface: cluster and summarize.

``cluster`` runs the online engine batch after batch on a store (a fresh
temporary one unless given) and reports, per input item, its final story and
the item it duplicates. ``summarize`` treats its input as one story that
arrives in batches and writes a summary and an update per batch.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from storyline.config import Config
from storyline.engine import Engine, group_batches
from storyline.pipeline import describe
from storyline.store import Store
from storyline.types import Record


def cluster_records(
    records: Sequence[Record], config: Config, db: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[dict]:
    """``{"id", "story", "duplicate_of"}`` per record, in input order.

    Facts are not part of the answer, so they are not read here; a store kept
    with ``db`` reads them on first request. A temporary store is not described
    (headlines, summaries): nobody will read it.
    """
    config = replace(config, extract_facts=False, describe=db is not None)
    with tempfile.TemporaryDirectory(prefix="storyline-") as tmp:
        store = Store(db) if db else Store(Path(tmp) / "cluster.db", durable=False)
        try:
            engine = Engine(store, config)
            engine.ingest_records(records, progress=progress)
            return _assignments(store, records)
        finally:
            store.close()


def _assignments(store: Store, records: Sequence[Record]) -> list[dict]:
    batches = {b.name: b.seq for b in store.batches()}
    # Copies in arrival order: the i-th copy of a batch is the batch's i-th record.
    copies = {(seq, position): (sid, kind, story)
              for seq, position, sid, kind, story in store.copy_stories()}
    first_copy: dict[int, str] = {}
    resolved: dict[int, int] = {}
    out = []
    positions: dict[str, int] = {}
    for n, record in enumerate(records):
        position = positions.get(record.batch, 0)
        positions[record.batch] = position + 1
        sid, kind, story = copies[batches[record.batch], position]
        if story not in resolved:
            resolved[story] = store.resolve(story)
        item_id = record.id if record.id is not None else str(n + 1)
        duplicate_of = None
        if kind == "original":
            first_copy[sid] = item_id
        else:
            duplicate_of = first_copy.get(sid)
            if duplicate_of is None:  # its canonical came from an earlier run on this store
                canonical = store.copies_of([sid])[sid][0]
                duplicate_of = canonical.external_id or f"snippet:{sid}"
        out.append({"id": item_id, "story": resolved[story], "duplicate_of": duplicate_of})
    return out


def summarize_records(
    records: Sequence[Record], config: Config, words: int, query: str | None = None,
) -> list[dict]:
    """Summary (all batches so far) and update (what this batch adds) per batch."""
    from storyline.models.encoders import load_encoder
    from storyline.pipeline.represent import words as content_words

    encoder = load_encoder(config.model) if config.model != "none" else None
    query_vec = encoder.encode([query])[0] if query and encoder is not None else None
    seen_sents: list[str] = []
    seen_pos: list[int] = []
    seen_vecs = np.zeros((0, _dim(encoder)), dtype=np.float32)
    told: list[int] = []  # what the latest summary said (rows of the seen sentences)
    out = []
    for name, batch in group_batches(records).items():
        sents: list[str] = []
        positions: list[int] = []
        for r in batch:
            pos = 0  # the lead is the first sentence after any headline line
            for s in describe.sentences(r.text or r.title or ""):
                if s not in sents and s not in seen_sents:
                    sents.append(s)
                    positions.append(pos)
                if not describe.headline_like(s):
                    pos += 1
        vecs = _encode(encoder, sents)
        if seen_sents and sents:
            # Update: this batch's sentences, on the story's event and away from
            # what the reader was told (the summary before it), and less so from
            # what earlier batches held that no summary gave.
            update = describe.summarize_sentences(
                sents, vecs, words, query_vector=query_vec, query_text=query,
                said=seen_vecs[told], held=seen_vecs,
                said_words={w for i in told for w in content_words(seen_sents[i])},
                story_centre=describe.lead_weighted_centre(np.vstack([seen_vecs, vecs]),
                                                           seen_pos + positions),
                order=list(range(len(sents))), positions=positions, weights=config.summary,
            ).text
        else:
            update = None
        seen_sents += sents
        seen_pos += positions
        seen_vecs = np.vstack([seen_vecs, vecs]) if len(vecs) else seen_vecs
        summary = describe.summarize_sentences(
            seen_sents, seen_vecs, words, query_vector=query_vec, query_text=query,
            order=list(range(len(seen_sents))), positions=seen_pos, weights=config.summary,
        ) if seen_sents else describe.Summary("", [])
        told = summary.sentence_ids
        out.append({"batch": name, "summary": summary.text,
                    "update": summary.text if not out else (update or "")})
    return out


_WORDS_DIM = 4096  # a hashed bag of words stands in where there is no encoder (--model none)


def _dim(encoder) -> int:
    return encoder.dim if encoder is not None else _WORDS_DIM


def _encode(encoder, sents: list[str]) -> np.ndarray:
    if not sents:
        return np.zeros((0, _dim(encoder)), dtype=np.float32)
    if encoder is None:
        from storyline.pipeline.represent import hashed_column, unit_rows, words

        out = np.zeros((len(sents), _WORDS_DIM), dtype=np.float32)
        for i, s in enumerate(sents):
            for w in words(s):
                out[i, hashed_column(w) % _WORDS_DIM] += 1.0
        return unit_rows(out)
    return encoder.encode(sents)
