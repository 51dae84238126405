"""Cluster quality scores: B-cubed, pairwise F1 and the adjusted Rand index.

B-cubed (Bagga and Baldwin 1998) is the score the news-clustering literature
reports; it is written here because scikit-learn has ARI but not B-cubed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from storyline.errors import InputError, UsageError


@dataclass
class ClusterScores:
    items: int
    b3_precision: float
    b3_recall: float
    b3_f1: float
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    ari: float

    def as_dict(self) -> dict:
        return asdict(self)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score_clusters(
    predicted: Mapping[Hashable, Hashable], gold: Mapping[Hashable, Hashable]
) -> ClusterScores:
    """Scores of ``predicted`` (item -> cluster) against ``gold`` (item -> class).

    Only items present in both are scored.
    """
    from sklearn.metrics import adjusted_rand_score

    items = [item for item in gold if item in predicted]
    if not items:
        raise UsageError("no item is both in the prediction and in the gold labels")
    pred = [predicted[i] for i in items]
    true = [gold[i] for i in items]
    joint = Counter(zip(pred, true))
    pred_size = Counter(pred)
    true_size = Counter(true)
    n = len(items)
    # B-cubed: for each item, the share of its predicted cluster that shares
    # its gold class (precision) and the share of its class in its cluster (recall).
    precision = sum(c * c / pred_size[p] for (p, _), c in joint.items()) / n
    recall = sum(c * c / true_size[t] for (_, t), c in joint.items()) / n
    pairs_joint = sum(c * (c - 1) / 2 for c in joint.values())
    pairs_pred = sum(c * (c - 1) / 2 for c in pred_size.values())
    pairs_true = sum(c * (c - 1) / 2 for c in true_size.values())
    pw_p = pairs_joint / pairs_pred if pairs_pred else 1.0
    pw_r = pairs_joint / pairs_true if pairs_true else 1.0
    return ClusterScores(
        items=n,
        b3_precision=precision,
        b3_recall=recall,
        b3_f1=_f1(precision, recall),
        pairwise_precision=pw_p,
        pairwise_recall=pw_r,
        pairwise_f1=_f1(pw_p, pw_r),
        ari=float(adjusted_rand_score(true, pred)),
    )


def load_labels(path: Path, key: str = "story") -> dict[str, str]:
    """Item -> cluster from a JSONL file of ``{"id": ..., "<key>": ...}`` objects
    (``storyline cluster`` output, or gold in the same shape), or from the seeds'
    ``gold.json`` (``{"stories": {name: {"lines": [[batch, line], ...]}}}``),
    whose items are named ``BATCH:LINE``. An id or label is a string or an integer
    (``1`` and ``"1"`` are the same); the file is read as ``ingest`` reads one (UTF-8,
    or UTF-16 with its byte order mark; a line that is neither is named)."""
    from storyline.pipeline.lines import JSON_LINE_CHARS, numbered_lines, whole_text

    if path.suffix == ".json":
        return _json_labels(_json(whole_text(path), path, None), path)
    labels: dict[str, str] = {}
    for number, line in numbered_lines(path, JSON_LINE_CHARS):
        if isinstance(line, InputError):
            raise line
        if not line.strip():
            continue
        obj = _json(line, path, number)
        if not isinstance(obj, dict) or "id" not in obj:
            raise InputError(str(path), number, 'expected an object with an "id"')
        field = next((f for f in (key, "story", "event", "cluster", "label") if f in obj), None)
        if field is None or obj[field] is None:
            raise InputError(str(path), number, f"no {key!r} field")
        item = _name(obj["id"], path, number, "id")
        if item in labels:
            raise InputError(str(path), number, f"id {obj['id']!r} given twice")
        labels[item] = _name(obj[field], path, number, repr(field))
    return labels


def _name(value: object, path: Path, line: int | None, what: str) -> str:
    """An id or label as the text it is compared by: a string, or an integer (a float
    with no fraction is that integer); anything else (an object, a list, true, null,
    NaN) is an InputError rather than a label every such item shares."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    raise InputError(str(path), line, f"{what} {json_text(value)} is not a string or an "
                     "integer")


def json_text(value: object) -> str:
    """``value`` as JSON (``NaN``, ``null``), cut short."""
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def _json_labels(data: object, path: Path) -> dict[str, str]:
    """Labels of a ``.json`` file: the seeds' gold, or one object of id -> label."""
    if not isinstance(data, dict):
        raise InputError(str(path), None, "expected a JSON object (id -> label, or stories)")
    if "stories" not in data:
        return {k: _name(v, path, None, f"the label of {k!r}") for k, v in data.items()}
    try:
        return {f"{batch}:{line}": name for name, story in data["stories"].items()
                for batch, line in story["lines"]}
    except (AttributeError, KeyError, TypeError, ValueError):
        raise InputError(str(path), None, 'expected "stories": {name: {"lines": [[batch, '
                         'line], ...]}}') from None


def unmatched(predicted: Mapping[str, str], gold: Mapping[str, str]) -> str | None:
    """What scoring left out, in words: predicted items with no gold label and gold items
    not predicted (None where every item is in both).

    >>> unmatched({"1": "a", "2": "a"}, {"2": "x", "3": "y"})
    '1 predicted items have no gold label, 1 gold items were not predicted'
    """
    extra = sum(item not in gold for item in predicted)
    missed = sum(item not in predicted for item in gold)
    if not (extra or missed):
        return None
    return f"{extra} predicted items have no gold label, {missed} gold items were not predicted"


def _json(text: str, path: Path, line: int | None):
    from storyline.pipeline.read import json_value

    return json_value(text, str(path), line)
