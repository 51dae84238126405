"""Embeddings as both backends store them: int8 with one float32 scale per vector,
``dim + 4`` bytes (older stores hold float16 or float32 blobs: still read, any mix),
read back as float32 rows.

>>> import numpy as np
>>> rows = [(7, vector_blob(np.array([1.0, 0.5]))), (8, None), (9, b"odd")]
>>> ids, vectors = stacked(rows, 2)
>>> ids, vectors.round(2).tolist()
([7], [[1.0, 0.5]])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

_SCALE = 4  # bytes of the float32 scale before an int8 vector


def vector_blob(vec: np.ndarray) -> bytes:
    """A snippet's embedding as stored: int8 scaled to the vector's largest component,
    a quarter of float32's bytes. The cosines compared (unit vectors, thresholds of
    0.1-0.8) move by 0.0005 on average, 0.003 at most (docs/scale.md)."""
    import numpy as np

    vec = np.asarray(vec, dtype=np.float32)
    top = float(np.abs(vec).max()) if vec.size else 0.0
    scale = np.float32(top / 127.0 if top > 0 else 1.0)
    codes = np.rint(vec / scale).clip(-127, 127).astype(np.int8)
    return scale.tobytes() + codes.tobytes()


def blob_vector(blob: Any, dim: int) -> np.ndarray | None:
    """A stored embedding as float32; None where there is none or it is of another
    model (another length)."""
    if blob is None:
        return None
    found, vectors = stacked([(0, blob)], dim)
    return vectors[0] if found else None


def stacked(rows: Iterable[tuple[int, Any]], dim: int) -> tuple[list[int], np.ndarray]:
    """(id, stored embedding) rows as the ids that have one and their vectors as the rows
    of one float32 array, each kind of blob converted in one step (a search reads
    thousands: one conversion each was a tenth of its time)."""
    import numpy as np

    # int8 last: a length that could be two kinds (dim 4) is what this version writes.
    lengths = {dim * 2: "float16", dim * 4: "float32", dim + _SCALE: "int8"}
    ids, blobs, kinds = [], [], []
    for sid, blob in rows:
        kind = None if blob is None else lengths.get(len(blob))
        if kind is not None:
            ids.append(sid)
            blobs.append(blob)
            kinds.append(kind)
    out = np.zeros((len(ids), dim), dtype=np.float32)
    mixed = len(set(kinds)) > 1
    for kind in set(kinds):
        where = [i for i, k in enumerate(kinds) if k == kind] if mixed else None
        joined = b"".join(blobs if where is None else [blobs[i] for i in where])
        part = slice(None) if where is None else where
        if kind == "int8":
            raw = np.frombuffer(joined, dtype=np.uint8).reshape(-1, dim + _SCALE)
            out[part] = raw[:, _SCALE:].view(np.int8) * raw[:, :_SCALE].copy().view(np.float32)
        else:
            width = np.float16 if kind == "float16" else np.float32
            out[part] = np.frombuffer(joined, dtype=width).reshape(-1, dim)
    return ids, out


def placed(rows: Iterable[tuple[int, Any]], ids: list[int], dim: int) -> np.ndarray:
    """The vectors of ``rows`` in the order of ``ids`` (zeros where one has none)."""
    import numpy as np

    out = np.zeros((len(ids), dim), dtype=np.float32)
    found, vectors = stacked(rows, dim)
    if found:
        where = {sid: i for i, sid in enumerate(ids)}
        out[[where[sid] for sid in found]] = vectors
    return out
