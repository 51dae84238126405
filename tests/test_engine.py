"""The engine over a real store: merges keep ids resolving, dormancy, in-memory records."""

from storyline import Record, Storyline
from storyline.pipeline.cluster import ClusterWeights

WORDS_ONLY = {"model": "none"}  # no model needed: words and names decide


def test_bridging_snippets_merge_stories_and_old_ids_resolve(db):
    # Words alone, one threshold: this tests the merge mechanics, not the tuning.
    weights = ClusterWeights(dense=0.0, terms=1.0, names=0.0, threshold=0.2)
    with Storyline(db, weights=weights, **WORDS_ONLY) as sl:
        sl.ingest_records([
            {"text": "Harbour crane collapse injures workers"},
            {"text": "Rotterdam dockers strike over safety rules"},
        ], batch="1")
        first = {s.id for s in sl.stories()}
        assert len(first) == 2  # apart after the first batch
        sl.ingest_records([
            {"text": "Rotterdam dockers strike after harbour crane collapse injures workers"},
            {"text": "Crane collapse at Rotterdam port: dockers strike over safety rules"},
            {"text": "Dockers in Rotterdam port strike as crane collapse raises safety fears"},
            {"text": "Harbour crane collapse: Rotterdam port dockers strike over safety"},
        ], batch="2")
        live = sl.stories()
        assert len(live) == 1  # the second batch bridged them
        survivor = live[0].id
        assert {sl.story(old).id for old in first} == {survivor}
        assert len(sl.store.merges()) == 1 and sl.story(survivor).merged_from
        assert sl.store.check() == []


def test_a_dormant_story_takes_no_new_snippets(db):
    text = "Volcano on Iceland's Reykjanes peninsula erupts again near Grindavik"
    with Storyline(db, dormant_after_batches=1, **WORDS_ONLY) as sl:
        sl.ingest_records([{"text": text}], batch="1")
        sl.ingest_records([{"text": "Central bank of Chile holds rates steady"}], batch="2")
        sl.ingest_records([{"text": "Reykjanes volcano erupts for a fifth time; Grindavik "
                                    "is evacuated"}],
                          batch="3")
        volcano = [s for s in sl.stories() if "olcano" in s.headline]
        assert len(volcano) == 2  # the old one was dormant: a new story began
        assert {s.status for s in volcano} == {"active", "dormant"}


VOLCANO = "Volcano on Iceland's Reykjanes peninsula erupts again near Grindavik"
ERUPTS = "Reykjanes volcano erupts for a fifth time; Grindavik is evacuated"


def test_with_dates_a_story_is_dormant_after_days_not_batches(db):
    # Dated records: many batches within a week keep a story live; a gap of more
    # than a week without news makes it dormant, however few batches passed.
    with Storyline(db, dormant_after_batches=1, dormant_after_days=7, **WORDS_ONLY) as sl:
        sl.ingest_records([{"text": VOLCANO, "published_at": "2025-01-01T08:00:00Z"}],
                          batch="1")
        for day in (2, 3, 4):
            sl.ingest_records([{"text": f"Chile's central bank meets, day {day}",
                                "published_at": f"2025-01-0{day}T09:00:00+01:00"}],
                              batch=str(day))
        sl.ingest_records([{"text": ERUPTS, "published_at": "2025-01-05T10:00:00Z"}],
                          batch="5")
        volcano = [s for s in sl.stories() if "olcano" in s.headline]
        assert len(volcano) == 1 and volcano[0].size == 2  # four batches, but four days
        sl.ingest_records([{"text": "Reykjanes volcano erupts again; lava nears Grindavik",
                            "published_at": "2025-01-20T10:00:00Z"}], batch="6")
        volcano = [s for s in sl.stories() if "olcano" in s.headline]
        assert sorted(s.size for s in volcano) == [1, 2]  # fifteen days: a new story
        assert {s.status for s in volcano} == {"active", "dormant"}


def test_a_batch_clock_is_its_latest_date_never_in_the_future(db):
    from datetime import UTC, datetime

    from storyline.engine import batch_clock

    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    records = [Record(text="a", batch="b", published_at="2025-02-27"),
               Record(text="b", batch="b", published_at="2025-02-28T23:30:00-02:00"),
               Record(text="c", batch="b")]
    assert batch_clock(records, now) == "2025-03-01T01:30:00+00:00"
    future = [Record(text="d", batch="b", published_at="2031-01-01T00:00:00Z")]
    assert batch_clock(future, now) == "2025-03-01T12:00:00+00:00"
    assert batch_clock([Record(text="e", batch="b")], now) is None


def test_records_and_dicts_are_both_accepted(db):
    with Storyline(db, **WORDS_ONLY) as sl:
        reports = sl.ingest_records([Record(text="A first snippet about ports", batch="x"),
                                     {"text": "A second snippet about ports", "source": "AP"}],
                                    batch="b")
        assert [r.batch for r in reports] == ["b"] and reports[0].records == 2
        assert sl.store.counts()["copies"] == 2


def _two_topic_model(folder) -> str:
    """A two-dimensional model2vec folder: every word shares one direction (as
    static embeddings of unrelated texts do), the other tells two topics apart."""
    import numpy as np
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "harbour": 1, "crane": 2, "bank": 3, "rates": 4}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    folder.mkdir()
    tokenizer.save(str(folder / "tokenizer.json"))
    vectors = np.array([[0, 0], [1, 0.1], [1, 0.1], [1, -0.1], [1, -0.1]], dtype=np.float32)
    save_file({"embeddings": vectors}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text('{"max_length": 512}')
    return str(folder)


def test_centring_removes_the_direction_all_snippets_share(db, tmp_path):
    model = _two_topic_model(tmp_path / "model")
    weights = ClusterWeights(dense=1.0, terms=0.0, names=0.0, threshold=0.5)
    batch = [{"text": "harbour crane"}, {"text": "bank rates"}]
    for centre, stories in ((False, 1), (True, 2)):
        path = tmp_path / f"centre-{centre}.db"
        with Storyline(path, model=model, weights=weights, centre_embeddings=centre,
                       mean_prior_docs=0) as sl:
            sl.ingest_records(batch, batch="1")
            # Raw cosine 0.98: one story. Centred on the stream's mean, what is
            # left points apart: two.
            assert len(sl.stories()) == stories


def test_stream_statistics_survive_a_new_process_and_a_rollback(db):
    import numpy as np

    from storyline.pipeline.statistics import StreamStatistics
    from storyline.store import Store

    texts = ["Fed holds rates as inflation cools", "Apple ships iOS 7.1 with CarPlay"]
    with Store(db) as store:
        stats = StreamStatistics(store, lead_words=60, mean_prior_docs=2)
        terms, _ = stats.weights()
        counts, _ = stats.counts([1, 2], texts)
        terms.learn(counts)
        with store.transaction():
            stats.save()
            mean = stats.dense_mean(np.array([[1.0, 0.0], [1.0, 0.0]]))
        # Two vectors and a prior of two zero vectors: half way to their mean.
        assert np.allclose(mean, [0.5, 0.0])
        assert stats.cached(1) and not stats.cached(3)
        stats.discard()  # as after a failed batch
        assert not stats.cached(1)
    with Store(db) as store:  # a new process reads what was saved
        again = StreamStatistics(store, lead_words=60, mean_prior_docs=2)
        terms_again, _ = again.weights()
        assert terms_again.docs == 2 and np.array_equal(terms_again.df, terms.df)
        same, _ = again.counts([1, 2], texts)
        assert (same != counts).nnz == 0
