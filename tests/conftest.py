"""Shared fixtures: the bundled seeds, temporary stores, and the built models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "examples" / "seeds"
FIXTURES = Path(__file__).parent / "fixtures"
SHARED = ROOT.parent / "shared" / "data"


def models_built(name: str) -> bool:
    from storyline.models.build import models_dir

    folder = {"static": "static-minilm", "minilm": "minilm-onnx"}[name]
    return (models_dir() / folder).exists()


needs_static = pytest.mark.skipif(not models_built("static"),
                                  reason="static model not built: run `storyline models build`")
needs_minilm = pytest.mark.skipif(not models_built("minilm"),
                                  reason="ONNX MiniLM not built: run `storyline models build`")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "test.db"


def run_cli(*args: str, env: dict | None = None, check: bool = True,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """The real command in a real process, as a user runs it."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "storyline.cli", *args], capture_output=True,
                          text=True, env=full_env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"storyline {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc
