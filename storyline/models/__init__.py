"""Embedding models: the install-time build step and the torch-free run-time encoders.

Names are imported on first use, so ``import storyline.models`` stays cheap and
``python -m storyline.models.build`` does not import its own module twice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storyline.models.build import build_models, models_dir
    from storyline.models.encoders import (
        Encoder,
        ModelNotBuiltError,
        OnnxMiniLMEncoder,
        SentenceTransformerEncoder,
        StaticEncoder,
        load_encoder,
    )

_EXPORTS = {
    "build_models": "storyline.models.build",
    "models_dir": "storyline.models.build",
    "Encoder": "storyline.models.encoders",
    "ModelNotBuiltError": "storyline.models.encoders",
    "OnnxMiniLMEncoder": "storyline.models.encoders",
    "SentenceTransformerEncoder": "storyline.models.encoders",
    "StaticEncoder": "storyline.models.encoders",
    "load_encoder": "storyline.models.encoders",
}

__all__ = [
    "Encoder",
    "ModelNotBuiltError",
    "OnnxMiniLMEncoder",
    "SentenceTransformerEncoder",
    "StaticEncoder",
    "build_models",
    "load_encoder",
    "models_dir",
]


def __getattr__(name: str) -> Any:
    """Import an exported name from its submodule on first access (PEP 562)."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
