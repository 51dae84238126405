"""The facts of a snippet as plain data: quantities, attributions and entities.

:class:`SnippetFacts` is what the extractor returns and what the store keeps (as JSON,
:meth:`SnippetFacts.to_stored`); the per-snippet JSON interface is :meth:`SnippetFacts.to_json`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from storyline.pipeline.facts.keys import value_interval, what_key

_NO_ID: Any = object()  # to_json() without an id (an explicit None id is kept as null)


@dataclass
class Quantity:
    """A number in the text and what it counts."""

    value: float
    unit: str  # counted noun ("soldiers"), "%", a currency code or a measure ("km")
    what: str  # e.g. "North Korean soldiers killed"
    qualifier: str | None  # hedge as written: "approximately", "at least", "over", ...
    span: str
    # Upper bound for ranges ("between 300 and 500"); in the JSON only where there is one.
    upper: float | None = None

    def interval(self) -> tuple[float, float]:
        """The values this statement allows, from its value and qualifier."""
        return value_interval(self.value, self.qualifier, self.upper)

    def key(self) -> tuple[str, ...]:
        """What is counted, normalised: statements with equal keys are about the same thing."""
        return what_key(self.what, self.unit)


@dataclass
class Attribution:
    """Who says it (source), how (cue) and what (content)."""

    source: str
    cue: str
    content: str
    # The source as written when ``source`` names whom it refers to ("she" -> "Jane Doe").
    mention: str | None = None
    # A cue with "not" ("Lawmakers have not said when ..."): who is on record, saying
    # nothing of the content; it sources no quantity.
    negated: bool = False


@dataclass
class Entity:
    """A person, organisation or place named in the text."""

    text: str
    label: str  # spaCy label: PERSON, ORG, GPE, LOC, FAC
    canonical: str


@dataclass
class SnippetFacts:
    """All facts read from one snippet."""

    quantities: list[Quantity] = field(default_factory=list)
    attributions: list[Attribution] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.quantities or self.attributions or self.entities)

    def to_json(self, id: Any = _NO_ID) -> dict[str, Any]:
        """The per-snippet object of ``storyline facts IN --out OUT`` (``id`` first if given)."""
        out: dict[str, Any] = {} if id is _NO_ID else {"id": id}
        out["quantities"] = [
            {
                "value": _json_number(q.value),
                "unit": q.unit,
                "what": q.what,
                "qualifier": q.qualifier,
                "span": q.span,
                # A range's upper end, only there: the shape of every other fact unchanged.
                **({} if q.upper is None else {"upper": _json_number(q.upper)}),
            }
            for q in self.quantities
        ]
        out["attributions"] = [
            {"source": a.source, "cue": a.cue, "content": a.content, "mention": a.mention,
             "negated": a.negated}
            for a in self.attributions
        ]
        out["entities"] = [{"text": e.text, "label": e.label} for e in self.entities]
        return out

    def to_record(self) -> dict[str, Any]:
        """Lossless dict (canonical names and range bounds included), for storage."""
        return asdict(self)

    def to_stored(self) -> str:
        """:meth:`to_record` as the JSON the store keeps."""
        return json.dumps(self.to_record(), ensure_ascii=False)

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> SnippetFacts:
        """Inverse of :meth:`to_record`; also accepts :meth:`to_json` output."""
        ents = [
            Entity(e["text"], e["label"], e.get("canonical") or e["text"])
            for e in data.get("entities", [])
        ]
        return cls(
            quantities=[
                Quantity(
                    float(q["value"]),
                    q["unit"],
                    q["what"],
                    q.get("qualifier"),
                    q["span"],
                    q.get("upper"),
                )
                for q in data.get("quantities", [])
            ],
            attributions=[
                Attribution(a["source"], a["cue"], a["content"], a.get("mention"),
                            bool(a.get("negated", False)))
                for a in data.get("attributions", [])
            ],
            entities=ents,
        )


def _json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 2)
