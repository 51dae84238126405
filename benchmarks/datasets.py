"""The labelled data sets the benchmarks read, as storyline records plus gold labels.

The seeds ship with the project (examples/seeds); UCI News and ECB+ are read
from ../shared/data beside the project and are skipped where absent.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from storyline.pipeline.normalize import titled_text
from storyline.pipeline.read import read_file
from storyline.types import Record

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SEEDS = ROOT / "examples" / "seeds"


@dataclass
class Dataset:
    name: str
    records: list[Record]
    gold: dict[str, str]  # record id -> gold cluster


def seeds() -> Dataset:
    gold_data = json.loads((SEEDS / "gold.json").read_text())
    gold = {f"{b}:{line}": name for name, story in gold_data["stories"].items()
            for b, line in story["lines"]}
    records = []
    for path in sorted(SEEDS.glob("*.txt")):
        for r in read_file(path):
            r.id = f"{r.batch}:{r.line}"
            records.append(r)
    return Dataset("seeds", records, gold)


def uci(window_hours: int = 6) -> Dataset | None:
    path = SHARED / "uci-news" / "dev.csv"
    if not path.exists():
        return None
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    rows.sort(key=lambda r: (int(r["timestamp_ms"]), int(r["id"])))
    start = int(rows[0]["timestamp_ms"])
    width = window_hours * 3600 * 1000
    records = [
        Record(text=r["title"], batch=f"w{(int(r['timestamp_ms']) - start) // width:03d}",
               id=r["id"], source=r["publisher"], url=r["url"])
        for r in rows
    ]
    return Dataset("uci-news dev", records, {r["id"]: r["story"] for r in rows})


def ecbplus() -> Dataset | None:
    path = SHARED / "ecbplus" / "dev.jsonl"
    if not path.exists():
        return None
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    records = [
        # Title and text as the two fields a user's JSONL would carry: the
        # snippet is "Title. text" (storyline.pipeline.normalize.titled_text).
        Record(text=r["text"] or "", title=r["title"] or None, batch="1", id=r["doc_id"],
               url=None if r.get("url") in (None, "None") else r["url"])
        for r in rows
    ]
    return Dataset("ecbplus dev", records, {r["doc_id"]: r["event"] for r in rows})


def item_text(record: Record) -> str:
    """What storyline reads of a record (title and text), for the baselines."""
    return titled_text(record.title, record.text)


def all_sets() -> list[Dataset]:
    return [d for d in (seeds(), uci(), ecbplus()) if d is not None]
