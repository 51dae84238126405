"""What the in-process web tests share: a test client and the token it sends (their
store: conftest's ``seeds_db``)."""

from __future__ import annotations

import warnings
from pathlib import Path

from starlette.exceptions import StarletteDeprecationWarning

from storyline.web.access import WebSettings
from storyline.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

TOKEN = "test-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def client(db: Path, **settings) -> TestClient:
    """A test client of a server on ``db`` (the token TOKEN unless given); a server
    error is an answer (500), not an exception."""
    settings.setdefault("token", TOKEN)
    return TestClient(create_app(WebSettings(db=db, model="none", **settings)),
                      raise_server_exceptions=False)
