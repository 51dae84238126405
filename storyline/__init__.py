"""storyline: turns streams of news snippets into stories.

The pipeline stages live in :mod:`storyline.pipeline` (read, normalize, dedupe,
represent, cluster, describe, facts); :class:`Storyline` is the API over a store.
"""

from storyline.api import Storyline
from storyline.types import Record

__version__ = "0.1.0"
__all__ = ["Record", "Storyline", "__version__"]
