"""A long synthetic news stream with gold event labels, built from real headlines.

Shape (all figures are options of :class:`StreamShape`):

* **events**: ``events_per_day`` new events a day (Poisson). An event takes a
  UCI News story (``../shared/data/uci-news/dev.csv``, 54 stories of 4,234
  headlines; one of the least recently used third, so a kind of event comes
  back every day or two) as its template and a sample of 3-40 of its headlines
  (geometric, mean about 12), with every name and every number swapped for
  others drawn for that event alone. A name is a capitalised word (or an
  acronym) that no headline or sentence writes in lower case, seen inside a
  sentence-case UCI headline or an MSRP sentence (``msrp/train.tsv``), about
  4,000 of them. Two events of one template read alike but name different
  people, places and figures, as two "Stocks end lower" days do.
* **lifetime**: an event lives ``1 + Exp(mean_life_days - 1)`` days (capped at
  ``max_life_days``); its headlines come front-loaded over that span (the time
  of the k-th is ``life * u**2``), then it is dormant for good.
* **copies**: each headline is carried by ``1 + floor(Exp(mean_copies - 1))``
  outlets (publishers of the UCI file) within six hours of its first telling;
  a carried copy is exact, or with probability ``near_share`` a near copy (one
  word dropped or an outlet tag added).
* **batches**: arrivals in time order, ``batch_size`` a batch (2,000 by
  default), named ``b000001``…; each record's ``published_at`` is its time.

The gold label of a record is its event: ``id`` is ``e<event>-<n>`` (see
:func:`gold_event`). The stream is generated lazily (a heap of pending
arrivals), so a long one costs memory for its live events only.
"""

from __future__ import annotations

import csv
import heapq
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storyline.types import Record

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
UCI_DEV = SHARED / "uci-news" / "dev.csv"
MSRP = SHARED / "msrp" / "train.tsv"
START = datetime(2014, 3, 10, tzinfo=UTC)

_CAPITALISED = re.compile(r"\b[A-Z][a-z][\w'-]*|\b[A-Z]{2,5}\b")
_LOWER = re.compile(r"\b[a-z][\w'-]*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_TAGS = ("UPDATE 1-", "UPDATE 2-", "RPT-", "WRAPUP-")


@dataclass
class StreamShape:
    events_per_day: float = 40.0
    mean_headlines: float = 12.0
    min_headlines: int = 3
    max_headlines: int = 40
    mean_life_days: float = 2.5
    max_life_days: float = 6.0
    mean_copies: float = 2.5
    near_share: float = 0.25
    batch_size: int = 2000
    seed: int = 13


@dataclass
class Template:
    story: str
    headlines: list[str]


def load_templates(path: Path = UCI_DEV) -> tuple[list[Template], list[str], list[str]]:
    """UCI stories (their distinct headlines), the pool of names, the outlets."""
    by_story: dict[str, dict[str, None]] = {}
    capitalised: set[str] = set()
    lower: set[str] = set()
    outlets: dict[str, None] = {}
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            title = " ".join(row["title"].split())
            by_story.setdefault(row["story"], {})[title] = None
            outlets[row["publisher"]] = None
            words = title.split()
            caps = _CAPITALISED.findall(" ".join(words[1:]))
            lower.update(_LOWER.findall(title))
            if len(caps) * 2 < len(words):  # a sentence-case headline
                capitalised.update(caps)
    if MSRP.exists():  # more names: the news sentences of the paraphrase corpus
        with MSRP.open(encoding="utf-8-sig") as f:
            for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                for text in row[3:5]:
                    capitalised.update(_CAPITALISED.findall(" ".join(text.split()[1:])))
                    lower.update(_LOWER.findall(text))
    # Many headlines are in title case: a name is a capitalised word inside a
    # sentence (or sentence-case headline) that nothing writes in lower case.
    names = sorted(w for w in capitalised if len(w) > 1 and w.lower() not in lower)
    templates = [Template(story, list(titles)) for story, titles in sorted(by_story.items())]
    return templates, names, sorted(o for o in outlets if o)


def gold_event(record_id: str) -> int:
    """The gold event of a generated record, from its id ``e<event>-<n>``."""
    return int(record_id[1:record_id.index("-")])


class Event:
    """One event: a template's headlines with its own names and numbers."""

    def __init__(self, number: int, template: Template, pool: list[str], shape: StreamShape,
                 rng: random.Random) -> None:
        self.number = number
        count = shape.min_headlines + int(rng.expovariate(1 / (shape.mean_headlines
                                                                - shape.min_headlines)))
        count = min(count, shape.max_headlines, len(template.headlines))
        chosen = rng.sample(template.headlines, count)
        names = set(pool)
        swap: dict[str, str] = {}
        for text in chosen:
            for word in _CAPITALISED.findall(text):
                if word in names and word not in swap:
                    swap[word] = rng.choice(pool)
        self.headlines = [self._rewrite(t, swap, rng) for t in chosen]

    @staticmethod
    def _rewrite(text: str, swap: dict[str, str], rng: random.Random) -> str:
        text = _CAPITALISED.sub(lambda m: swap.get(m.group(0), m.group(0)), text)
        # Numbers drawn anew per headline, but from the event's seed: a figure
        # of the same width, so "3.5%" stays a percentage and "2014" a year-like number.
        return _NUMBER.sub(lambda m: _other_number(m.group(0), rng), text)


def _other_number(figure: str, rng: random.Random) -> str:
    if "." in figure or "," in figure:
        whole, _, frac = figure.replace(",", ".").partition(".")
        return f"{rng.randint(0, 10 ** len(whole) - 1)}.{rng.randint(0, 10 ** len(frac) - 1)}"
    low = 10 ** (len(figure) - 1) if len(figure) > 1 else 0
    return str(rng.randint(low, 10 ** len(figure) - 1))


def near_copy(text: str, outlet: str, rng: random.Random) -> str:
    """A near copy: an outlet's tag added, or one word (not a figure) dropped."""
    words = text.split()
    droppable = [i for i, w in enumerate(words) if not any(c.isdigit() for c in w)]
    if len(words) < 7 or not droppable or rng.random() < 0.5:
        tag = rng.choice(_TAGS)
        return f"{tag}{text}" if rng.random() < 0.5 else f"{text} - {outlet}"
    del words[rng.choice(droppable)]
    return " ".join(words)


class Stream:
    """Arrivals of the generated stream in time order, cut into batches."""

    def __init__(self, shape: StreamShape | None = None, path: Path = UCI_DEV) -> None:
        self.shape = shape or StreamShape()
        self.templates, self.pool, self.outlets = load_templates(path)
        self.rng = random.Random(self.shape.seed)
        self.events = 0
        self._last_used = dict.fromkeys(range(len(self.templates)), -1.0)

    def _event_arrivals(self, event: Event, start: float) -> list[tuple[float, int, str, str]]:
        shape, rng = self.shape, self.rng
        life = min(1 + rng.expovariate(1 / (shape.mean_life_days - 1)), shape.max_life_days)
        out = []
        for text in event.headlines:
            told = start + life * rng.random() ** 2
            copies = 1 + int(rng.expovariate(1 / (shape.mean_copies - 1)))
            for outlet in rng.sample(self.outlets, min(copies, len(self.outlets))):
                at = told + rng.random() * 0.25 if out else told
                body = text if rng.random() >= shape.near_share else near_copy(text, outlet, rng)
                out.append((at, event.number, body, outlet))
        return out

    def _pick_template(self, day: float) -> Template:
        # Among the least recently used third: two events of one kind seldom run
        # at once, and one kind comes back every day or two ("Stocks end lower…").
        rested = sorted(self._last_used, key=lambda t: (self._last_used[t], t))
        choice = self.rng.choice(rested[: max(1, len(rested) // 3)])
        self._last_used[choice] = day + self.rng.random()
        return self.templates[choice]

    def arrivals(self) -> Iterator[tuple[float, int, str, str]]:
        """(time in days, event, text, outlet), in time order, for ever."""
        pending: list[tuple[float, int, int, str, str]] = []
        tie = 0
        day = 0
        while True:
            # Every arrival of an event started by the end of ``day`` is pending,
            # so whatever is due before ``day`` can go.
            starts = _poisson(self.shape.events_per_day, self.rng)
            for _ in range(starts):
                template = self._pick_template(day)
                event = Event(self.events, template, self.pool, self.shape, self.rng)
                self.events += 1
                for at, number, text, outlet in self._event_arrivals(event,
                                                                     day + self.rng.random()):
                    heapq.heappush(pending, (at, tie, number, text, outlet))
                    tie += 1
            day += 1
            while pending and pending[0][0] < day:
                at, _, number, text, outlet = heapq.heappop(pending)
                yield at, number, text, outlet

    def batches(self, arrivals: int) -> Iterator[list[Record]]:
        """The first ``arrivals`` records, ``batch_size`` to a batch."""
        size = self.shape.batch_size
        batch: list[Record] = []
        seen: dict[int, int] = {}
        number = 1
        for n, (at, event, text, outlet) in enumerate(self.arrivals()):
            if n >= arrivals:
                break
            k = seen[event] = seen.get(event, 0) + 1
            when = (START + timedelta(days=at)).isoformat(timespec="seconds")
            batch.append(Record(text=text, batch=f"b{number:06d}", id=f"e{event}-{k}",
                                source=outlet, published_at=when, line=len(batch) + 1))
            if len(batch) == size:
                yield batch
                batch, number = [], number + 1
                if len(seen) > 50_000:  # events seen long ago will not come back
                    seen = {e: c for e, c in seen.items() if e > event - 20_000}
        if batch:
            yield batch


def _poisson(mean: float, rng: random.Random) -> int:
    # Knuth's method for a small mean; the normal approximation above it.
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
