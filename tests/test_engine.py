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


def test_records_and_dicts_are_both_accepted(db):
    with Storyline(db, **WORDS_ONLY) as sl:
        reports = sl.ingest_records([Record(text="A first snippet about ports", batch="x"),
                                     {"text": "A second snippet about ports", "source": "AP"}],
                                    batch="b")
        assert [r.batch for r in reports] == ["b"] and reports[0].records == 2
        assert sl.store.counts()["copies"] == 2
