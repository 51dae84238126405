"""Embeddings as both backends store them: float16 bytes (float32 in stores written
before schema 5), read back as float32 rows.

>>> import numpy as np
>>> rows = [(7, vector_blob(np.array([1.0, 0.5]))), (8, None), (9, b"odd")]
>>> ids, vectors = stacked(rows, 2)
>>> ids, vectors.tolist()
([7], [[1.0, 0.5]])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def vector_blob(vec: np.ndarray) -> bytes:
    """A snippet's embedding as stored: float16, half the bytes of float32, and
    far finer than the cosines compared (unit vectors, thresholds of 0.1-0.8)."""
    import numpy as np

    return np.asarray(vec, dtype=np.float16).tobytes()


def blob_vector(blob: Any, dim: int) -> np.ndarray | None:
    """A stored embedding as float32; None where there is none or it is of another
    model (another length)."""
    import numpy as np

    if blob is None:
        return None
    if len(blob) == dim * 2:
        return np.frombuffer(blob, dtype=np.float16).astype(np.float32)
    if len(blob) == dim * 4:
        return np.frombuffer(blob, dtype=np.float32)
    return None


def stacked(rows: Iterable[tuple[int, Any]], dim: int) -> tuple[list[int], np.ndarray]:
    """(id, stored embedding) rows as the ids that have one and their vectors as the rows
    of one float32 array. Converted in one step where all are float16 (a search reads
    thousands: one conversion each was a tenth of its time)."""
    import numpy as np

    rows = [r for r in rows if r[1] is not None and len(r[1]) in (dim * 2, dim * 4)]
    ids = [r[0] for r in rows]
    if not rows:
        return ids, np.zeros((0, dim), dtype=np.float32)
    blobs = [r[1] if isinstance(r[1], bytes) else bytes(r[1]) for r in rows]
    if all(len(b) == dim * 2 for b in blobs):
        half = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), dim)
        return ids, half.astype(np.float32)
    return ids, np.vstack([blob_vector(b, dim) for b in blobs])


def placed(rows: Iterable[tuple[int, Any]], ids: list[int], dim: int) -> np.ndarray:
    """The vectors of ``rows`` in the order of ``ids`` (zeros where one has none)."""
    import numpy as np

    out = np.zeros((len(ids), dim), dtype=np.float32)
    found, vectors = stacked(rows, dim)
    if found:
        where = {sid: i for i, sid in enumerate(ids)}
        out[[where[sid] for sid in found]] = vectors
    return out
