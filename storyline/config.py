"""Every setting in one place, and the named presets.

A preset picks the encoder and the clustering weights; everything else has one
default for every data set (no per-set thresholds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from storyline.errors import UsageError
from storyline.types import DormancyRule

DEFAULT_DB = Path("storyline.db")


@dataclass
class ClusterWeights:
    """How the cluster stage (storyline.pipeline.cluster) weighs and decides."""

    dense: float
    terms: float
    names: float
    threshold: float
    # Second pass: clusters whose word profiles point the same way (cosine of
    # summed TF-IDF vectors >= profile_merge) and whose meaning is close enough
    # (cosine of summed embeddings >= profile_merge_dense) are one story told
    # from several angles ("Snowden warns…", "Snowden's NSA leaks…"). 0 disables.
    profile_merge: float = 0.0
    profile_merge_dense: float = 0.0
    profile_merge_names: float = 0.0  # and names/numbers profiles must overlap this much
    profile_merge_min_size: int = 2  # a centroid of one or two snippets is no profile
    # Two events of one kind ("Jackman to host the Oscars", "DeGeneres to host the
    # Oscars") share words and meaning; what tells them apart is that each keeps
    # naming its own participants, places and figures. Two clusters of at least
    # ``distinct_min_size`` snippets stay apart when each has ``distinct_names``
    # names of its own: named by at least ``distinct_share`` of its snippets and
    # by at most ``distinct_other`` of the other's. 0 disables.
    distinct_min_size: int = 0
    distinct_names: int = 2
    distinct_share: float = 0.5
    distinct_other: float = 0.1
    # The veto comes too late where one event's first snippets joined the other
    # while both were small. So a new cluster of at least twice
    # ``distinct_min_size`` snippets is split in two when two of its names part
    # it into halves that pass the veto and are far closer within than between:
    # the mean similarity across the halves at most ``split_ratio`` times the
    # mean within the looser half. 0 disables.
    split_ratio: float = 0.0
    # A learned join decision (storyline.pipeline.join): "default" for the model
    # shipped in the package, or a model file; "" for the threshold alone. The
    # model's floor replaces ``threshold``; the veto and split above still apply.
    # Why and the held-out figures: docs/benchmarks.md (issue 16).
    join_model: str = ""


@dataclass(frozen=True)
class SummaryWeights:
    """How the describe stage (storyline.pipeline.describe) scores sentences and
    headlines; measured with benchmarks/summary_quality.py (docs/benchmarks.md)."""

    word_centrality: float = 1.0  # closeness to the centre of the words, beside meaning
    stream_order: float = 0.02  # earlier sentences gain up to this much
    lead_position: float = 0.2  # an article's lead gains this, its second half of it…
    query_share: float = 0.7  # a query outweighs what matters in general
    min_sentence_words: int = 7  # shorter sentences are asides: only fill in
    mmr_lambda: float = 0.7  # relevance against redundancy
    redundancy_cap: float = 0.85  # never take a sentence this close to one taken
    headline_copies: float = 0.02  # a headline candidate gains this times log(1 + copies)
    headline_truncated: float = 0.1  # and loses this when its text was cut
    same_words: float = 1.0  # a sentence whose content words another holds says it again
    # Update mode (what a batch adds for a reader of the summary before it): the centre
    # it is drawn to is the whole story's by this share, not only the batch's, and MMR
    # weighs relevance against what that summary said by update_mmr_lambda, and against
    # what earlier batches held at update_held of its similarity.
    update_story_centre: float = 1.0
    update_mmr_lambda: float = 0.8
    update_held: float = 0.7
    # A sentence loses this times its share of words already told (off: it favours
    # background over the event), and gains up to update_new_facts for numbers and names
    # not told yet (a tie-break only: 0.05 cost ROUGE; docs/benchmarks.md).
    update_known: float = 0.0
    update_new_facts: float = 0.02


# Every environment variable storyline reads is read here (the web server's token
# is a typer option with envvar STORYLINE_TOKEN).
ENV_DB = "STORYLINE_DB"
ENV_MODELS = "STORYLINE_MODELS"
ENV_COMMIT_RECORDS = "STORYLINE_COMMIT_RECORDS"  # records a batch commits at a time
ENV_BUSY_TIMEOUT = "STORYLINE_BUSY_TIMEOUT"  # seconds a writer waits for another
DEFAULT_BUSY_TIMEOUT = 60.0


def checked_token(token: str | None) -> str | None:
    """A server's token as both ends can send it: printable ASCII without spaces (an HTTP
    header carries it; a browser's login sends ASCII only), else a UsageError.

    >>> checked_token("s3cret-token"), checked_token(None)
    ('s3cret-token', None)
    """
    if token and not (token.isascii() and token.isprintable() and " " not in token):
        raise UsageError("the token must be printable ASCII without spaces (an HTTP header "
                         "carries it): choose another")
    return token or None


def models_dir_from_env() -> Path | None:
    """``$STORYLINE_MODELS`` if set: the folder the models are built into and read from."""
    value = os.environ.get(ENV_MODELS)
    return Path(value).expanduser() if value else None


def commit_records(config: Config) -> int:
    """Records a batch commits at a time: the config's, else ``$STORYLINE_COMMIT_RECORDS``
    (read when asked: tests and benchmarks set it), else 10,000."""
    if config.commit_records:
        return config.commit_records
    value = os.environ.get(ENV_COMMIT_RECORDS, "").strip()
    if not value:
        return 10_000
    if not (value.isascii() and value.isdigit() and int(value) > 0):
        raise UsageError(f"{ENV_COMMIT_RECORDS}={value!r}: give a number of records, 1 or "
                         "more (10000 when unset)")
    return int(value)


def busy_timeout_from_env() -> float:
    """``$STORYLINE_BUSY_TIMEOUT`` seconds (default 60): how long a writer waits for the
    store while another writes, before it says the store is busy."""
    value = (os.environ.get(ENV_BUSY_TIMEOUT) or "").strip()
    if not value:
        return DEFAULT_BUSY_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 1e9:  # a typo, a negative, nan or inf: say so, not wait 60 s
        raise UsageError(f"{ENV_BUSY_TIMEOUT}={value!r}: give seconds, 0 or more (60 when "
                         "unset)")
    return seconds


def db_location(value: str | Path) -> str | Path:
    """A store as given: a ``postgresql://`` URL stays a string, anything else is a path.

    >>> db_location("postgresql://news@db.example/news"), db_location("news.db")
    ('postgresql://news@db.example/news', PosixPath('news.db'))
    """
    text = str(value)
    if text.startswith(("postgresql://", "postgres://")):
        return text
    return Path(text).expanduser()


def default_db() -> str | Path:
    """``$STORYLINE_DB`` if set (a file or a ``postgresql://`` URL), else ``storyline.db``
    in the working folder."""
    return db_location(os.environ.get(ENV_DB) or DEFAULT_DB)


@dataclass
class Config:
    preset: str = "default"
    # Encoder name for storyline.models.load_encoder: "minilm" (ONNX),
    # "static" (model2vec distilled from MiniLM), "none" (words and names only),
    # "st:<path>" (any local sentence-transformers model) or a model2vec folder.
    model: str = "minilm"
    weights: ClusterWeights = field(
        default_factory=lambda: ClusterWeights(
            dense=0.5, terms=0.25, names=0.25, threshold=0.2,
            profile_merge=0.15, profile_merge_dense=0.35, profile_merge_names=0.1,
            distinct_min_size=5, split_ratio=0.7, join_model="default",
        )
    )
    lead_words: int = 60  # words of a snippet or article that represent it
    # Centre the embeddings on the stream's running mean (StreamStatistics.dense_mean):
    # static embeddings share a common direction, MiniLM's do not (docs/benchmarks.md).
    centre_embeddings: bool = False
    mean_prior_docs: int = 200
    near_duplicate_jaccard: float = 0.65  # estimated Jaccard of character 5-grams
    # A story with no news for this many days goes dormant: new snippets no
    # longer join it (a later event of its kind starts a new story). Days are
    # counted by the records' published_at; where a stream gives no dates, a
    # story goes dormant after this many batches instead.
    dormant_after_days: float | None = 7.0
    dormant_after_batches: int = 28
    # Near copies are looked for among the snippets first seen in this many recent
    # days (batches where the stream has no dates): the MinHash LSH in memory
    # covers that window only. Exact copies are found at any age (the store's key index).
    near_duplicate_days: float | None = 3.0
    near_duplicate_batches: int = 12
    # And among the latest this many at most (the oldest leave the LSH first): within one
    # big batch every snippet is recent, so the window alone would not bound memory.
    near_duplicate_max: int = 50_000
    # A new snippet is matched against a story's recent part: its latest
    # ``story_recent`` members, not its whole history; headline and summary are
    # drawn from the same part. Memory and time follow the live stories' recent parts.
    story_recent: int = 200
    # The live stories' recent members matched against, at most. Past it, only the
    # stories fed last (holding one of the latest this many snippets) are matched, the
    # rest stay in the store unmatched, as if dormant: within one big batch nothing goes
    # dormant, and memory and time per line must not grow with the file.
    live_members_max: int = 10_000
    # A story takes news for this many days from its first (batches where the
    # stream has no dates); then it stops absorbing, and what would have joined
    # it starts a story of its own that follows it: a long topic reads as a
    # chain of stories, and no story grows for ever (a generic "Stocks end
    # lower…" story caught a new event every batch). None disables.
    story_span_days: float | None = 5.0
    story_span_batches: int = 20
    # A large batch is clustered in chunks of this many new snippets, so memory
    # and time stay linear in the batch size.
    chunk_size: int = 1000
    # A batch is written in transactions of this many records (storyline.writer): a
    # killed ingest resumes after the last one. A multiple of chunk_size, so that the
    # clustering chunks fall where they would in one transaction.
    # None: $STORYLINE_COMMIT_RECORDS, else 10,000 (see commit_records()).
    commit_records: int | None = None
    summary_words: int = 60
    summary: SummaryWeights = field(default_factory=SummaryWeights)
    # Novelty: a snippet is "new" in its batch unless an earlier snippet of its
    # story covers it at least this well (cosine of the dense view).
    novelty_cover: float = 0.8
    # Headlines, summaries and novelty after each batch; off only where the store
    # is thrown away after clustering (``storyline cluster`` without --db).
    describe: bool = True
    # Read facts off each new snippet at ingest (spaCy); when off, they are
    # read on first request instead and stored then.
    extract_facts: bool = True


PRESETS: dict[str, Config] = {
    "default": Config(),
    "fast": Config(
        preset="fast", model="static", extract_facts=False,
        # Static embeddings of unrelated texts share a strong common direction
        # (mean cosine about 0.4): centre them early, or a young stream is one story.
        centre_embeddings=True, mean_prior_docs=20,
        weights=ClusterWeights(
            dense=0.5, terms=0.25, names=0.25, threshold=0.15,
            profile_merge=0.15, profile_merge_dense=0.3, profile_merge_names=0.1,
            distinct_min_size=5, split_ratio=0.7,
        ),
    ),
    "minilm": Config(
        preset="minilm", model="minilm", centre_embeddings=True,  # as tuned
        weights=ClusterWeights(dense=1.0, terms=0.0, names=0.0, threshold=0.3),
    ),
}


def dormancy(config: Config) -> DormancyRule:
    return DormancyRule(config.dormant_after_batches, config.dormant_after_days)


def preset(name: str, **overrides) -> Config:
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}: {', '.join(PRESETS)}")
    known = {f.name for f in fields(Config)}
    for key in overrides:
        if key not in known:
            raise UsageError(f"unknown setting {key!r} (the fields of storyline.config.Config)")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
