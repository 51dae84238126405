"""storyline: turns streams of news snippets into stories.

The pipeline stages live in :mod:`storyline.pipeline` (read, normalize, dedupe,
represent, cluster, describe, facts); :class:`Storyline` is the API over a store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storyline.api import Storyline
    from storyline.types import Record

__version__ = "0.1.0"
__all__ = ["Record", "Storyline", "__version__"]


def __getattr__(name: str) -> Any:
    """``Storyline`` and ``Record`` are imported on first use: a command that imports
    ``storyline.cli`` pays for the store's imports only if it opens a store."""
    if name == "Storyline":
        from storyline.api import Storyline

        return Storyline
    if name == "Record":
        from storyline.types import Record

        return Record
    raise AttributeError(f"module 'storyline' has no attribute {name!r}")
