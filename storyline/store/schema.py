"""The store's schema, as numbered migrations.

A store records the version it is at in ``schema_version``; opening a store
applies the migrations it has not seen yet, each in its own transaction.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: batches, canonical snippets and their copies, stories and merges.
    """
    CREATE TABLE batches (
        name        TEXT PRIMARY KEY,
        seq         INTEGER NOT NULL UNIQUE,       -- order of ingestion
        digest      TEXT NOT NULL,                 -- of the records, for idempotent re-ingest
        records     INTEGER NOT NULL,
        ingested_at TEXT NOT NULL,
        origin      TEXT
    );
    CREATE TABLE stories (
        id          INTEGER PRIMARY KEY,
        merged_into INTEGER REFERENCES stories(id),  -- set when absorbed by another story
        headline_id INTEGER,                          -- the snippet that heads it
        summary     TEXT NOT NULL DEFAULT '',
        size        INTEGER NOT NULL DEFAULT 0,       -- canonical snippets
        first_seq   INTEGER NOT NULL,
        last_seq    INTEGER NOT NULL,
        centroid    BLOB                              -- sum of member embeddings (float32)
    );
    CREATE TABLE snippets (
        id          INTEGER PRIMARY KEY,
        key         TEXT NOT NULL,                    -- hash of the comparison form
        text        TEXT NOT NULL,                    -- normalised text
        truncated   INTEGER NOT NULL DEFAULT 0,
        batch_seq   INTEGER NOT NULL,                 -- batch it was first seen in
        story_id    INTEGER REFERENCES stories(id),
        novel       INTEGER NOT NULL DEFAULT 1,       -- brought something new to its story
        minhash     BLOB,
        embedding   BLOB
    );
    CREATE UNIQUE INDEX snippets_key ON snippets(key);
    CREATE INDEX snippets_story ON snippets(story_id);
    CREATE TABLE copies (
        id           INTEGER PRIMARY KEY,
        snippet_id   INTEGER NOT NULL REFERENCES snippets(id),
        batch_seq    INTEGER NOT NULL,
        position     INTEGER NOT NULL,                -- order within its batch
        kind         TEXT NOT NULL,                   -- original, exact or near
        similarity   REAL NOT NULL DEFAULT 1.0,
        external_id  TEXT,
        source       TEXT,
        url          TEXT,
        published_at TEXT,
        title        TEXT,
        raw_text     TEXT NOT NULL,
        origin       TEXT,
        line         INTEGER
    );
    CREATE INDEX copies_snippet ON copies(snippet_id);
    CREATE INDEX copies_batch ON copies(batch_seq, position);
    CREATE TABLE merges (
        absorbed   INTEGER NOT NULL REFERENCES stories(id),
        into_id    INTEGER NOT NULL REFERENCES stories(id),
        batch_seq  INTEGER NOT NULL,
        similarity REAL NOT NULL
    );
    CREATE TABLE state (
        name  TEXT PRIMARY KEY,
        value BLOB
    );
    CREATE VIRTUAL TABLE snippets_fts USING fts5(text, content='snippets', content_rowid='id');
    """,
    # 2: facts read off each canonical snippet (storyline.pipeline.facts), as JSON.
    """
    CREATE TABLE facts (
        snippet_id INTEGER PRIMARY KEY REFERENCES snippets(id),
        data       TEXT NOT NULL
    );
    """,
    # 3: a batch's clock: the latest published_at of its records (UTC, no later
    # than its ingestion), what dormancy counts days by; NULL where none is given.
    """
    ALTER TABLE batches ADD COLUMN clock TEXT;
    """,
    # 4: bounded memory over long streams. A story that follows another (the
    # next of its kind, once the old one had taken news for its whole span);
    # the embedding's cell of the nearest-neighbour index (storyline.pipeline.ivf);
    # snippets by batch, for the window of near-copy signatures.
    """
    ALTER TABLE stories ADD COLUMN follows INTEGER REFERENCES stories(id);
    ALTER TABLE snippets ADD COLUMN cell INTEGER;
    CREATE INDEX snippets_cell ON snippets(cell);
    CREATE INDEX snippets_batch ON snippets(batch_seq);
    CREATE INDEX stories_follows ON stories(follows);
    """,
    # 5: a batch written in chunks (storyline.writer): ``records`` and ``digest`` say
    # what is stored so far; ``complete`` once the last chunk is in.
    """
    ALTER TABLE batches ADD COLUMN complete INTEGER NOT NULL DEFAULT 1;
    """,
    # 6: reads at scale. A story's headline as words, written when it is described (a
    # long lead is compressed on spaCy's parse: no read parses it again); the story
    # list's order as an index, so that its first page reads one page of rows.
    """
    ALTER TABLE stories ADD COLUMN headline TEXT;
    CREATE INDEX stories_list ON stories(size DESC, last_seq DESC, id DESC)
        WHERE merged_into IS NULL;
    """,
    # 7: the snippets that still hold a near-copy signature, by batch: dropping the
    # signatures that leave the window touches those rows only, not every older
    # snippet (a cost that grew with the stream: 0.3 s a batch at 1.3 M arrivals).
    """
    CREATE INDEX snippets_signed ON snippets(batch_seq) WHERE minhash IS NOT NULL;
    """,
    # 8: near-copy signatures in a table of their own. Set to NULL in place when they
    # left the window, they left a hole in every row: rows of 1.5 KB filled pages two
    # to a page and shrank to 0.9 KB, half of the snippets table's pages stayed empty
    # (2,830 B per snippet at rest). Deleted from their own table, the oldest rows free
    # whole pages, which the next inserts reuse.
    """
    CREATE TABLE snippet_signatures (
        id          INTEGER PRIMARY KEY REFERENCES snippets(id),
        batch_seq   INTEGER NOT NULL,
        minhash     BLOB NOT NULL
    );
    CREATE INDEX snippet_signatures_batch ON snippet_signatures(batch_seq);
    INSERT INTO snippet_signatures(id, batch_seq, minhash)
        SELECT id, batch_seq, minhash FROM snippets WHERE minhash IS NOT NULL;
    DROP INDEX snippets_signed;
    ALTER TABLE snippets DROP COLUMN minhash;
    """,
    # 9: a cell's embeddings in an index of their own, read in order. A search reads its
    # nearest cells' vectors (25,000 at 2 M snippets) from rows spread over the whole
    # file otherwise: 2.7 times as long with the file in memory, 10 times from disk, for
    # the embedding's bytes a second time (docs/scale.md, Reads). It does the old
    # index's work too.
    """
    CREATE INDEX snippets_cell_vectors ON snippets(cell, id, embedding);
    DROP INDEX snippets_cell;
    """,
    # 10: stories by their last batch. The live stories a batch is matched against are
    # those last fed by a batch that is not dormant, found through this index; "not
    # dormant" read every story ever made, 40 ms a batch at 2 M arrivals and growing.
    """
    CREATE INDEX stories_last ON stories(last_seq);
    """,
    # 11: a batch that continues another: the records a file gained since that one was
    # stored whole (a log appended to), written as a batch of their own (storyline.writer);
    # ``continues`` names the first batch of the file, and a rerun finds the file's
    # batches by it.
    """
    ALTER TABLE batches ADD COLUMN continues TEXT;
    CREATE INDEX batches_continues ON batches(continues, seq) WHERE continues IS NOT NULL;
    """,
]
