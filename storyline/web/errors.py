"""Errors as answers: the pages get an error page, the API gets ``{"detail": message}``.

A :class:`~storyline.errors.StorylineError` answers its ``http_status``; a request that
fails validation answers 422 with the problems in one line (docs/web.md promises a
string ``detail`` for every error).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from storyline.errors import (
    EXIT_FOR_STATUS,
    EXIT_HEADER,
    StoreBusyError,
    StoreUnavailableError,
    StorylineError,
)
from storyline.search import DATE_PATTERN
from storyline.web.ingest import BATCH_PATTERN

_JSON_PATHS = ("/api/", "/openapi", "/static/")
RETRY_AFTER_SECONDS = "10"


def answer(request: Request, status: int, message: str,
           headers: dict[str, str] | None = None) -> Response:
    """An error answer: JSON under /api (and for the OpenAPI document and static files),
    an error page elsewhere."""
    if request.url.path.startswith(_JSON_PATHS):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    return request.app.state.templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message, "query": ""},
        status_code=status, headers=headers)


def _exit_header(status: int) -> dict[str, str]:
    """What the CLI would exit with for a refusal of this status (docs/web.md: every
    error answer says it)."""
    return {EXIT_HEADER: str(EXIT_FOR_STATUS.get(status, 3 if status >= 500 else 1))}


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = {**(getattr(exc, "headers", None) or {}), **_exit_header(exc.status_code)}
    if exc.status_code == 405:  # Starlette names the first route's methods only
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
    return answer(request, exc.status_code, str(exc.detail), headers)


async def storyline_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StorylineError)
    # InputError and BodyError keep the message without the file and line: for HTTP.
    # A busy store (another writer past the timeout) says when to try again.
    # So does a store whose database server went away (a restart).
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if isinstance(
        exc, StoreBusyError | StoreUnavailableError) else {}
    # What the CLI would exit with: `ingest --server` exits as a local ingest would.
    headers[EXIT_HEADER] = str(exc.exit_code)
    return answer(request, exc.http_status, getattr(exc, "message", None) or str(exc), headers)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return answer(request, 422, validation_message(exc.errors()), _exit_header(422))


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """A failure nobody foresaw: one line and 500, in the shape of every other error and
    with the security headers (this answer is made outside the middleware that adds
    them); the traceback goes to the server's log."""
    from storyline.web.app import SECURITY_HEADERS

    return answer(request, 500, f"the server failed: unexpected {type(exc).__name__} "
                  "(its log says more)", {**SECURITY_HEADERS, EXIT_HEADER: "3"})


def validation_message(errors: Any) -> str:
    """``"query limit: Input should be greater than or equal to 1"``, one problem after
    another, from FastAPI's list of validation errors (a pattern said in words)."""
    parts = []
    for error in errors:
        where = " ".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "string_pattern_mismatch":
            message = _PATTERNS_SAID.get((error.get("ctx") or {}).get("pattern"), message)
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or "invalid request"


# The query parameters' patterns, said in words (their regular expressions were the answer).
_PATTERNS_SAID = {
    DATE_PATTERN: "not a date: give an ISO date or a prefix of one (2025, 2025-03, "
                  "2025-03-14T09:30Z), in UTC",
    BATCH_PATTERN: "a batch name is letters, digits, '.', '_' and '-' (up to 100, starting "
                   "with a letter or digit)",
}


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route answers at ``path`` (each asked as the router would: the
    included routers keep their routes to themselves); HEAD wherever GET is (HeadAsGet)."""
    from starlette.routing import Match, Mount

    methods = []
    for method in "GET POST PUT PATCH DELETE".split():  # (one string: no SQL keyword alone)
        scope = {"type": "http", "path": path, "method": method, "root_path": "",
                 "headers": [], "query_string": b""}
        # A mount (the static files) matches every method, and serves only GET.
        if any(route.matches(scope)[0] == Match.FULL
               and (method == "GET" or not isinstance(route, Mount))
               for route in app.router.routes):
            methods.append(method)
    return sorted(methods + (["HEAD"] if "GET" in methods else []))


def install(app: FastAPI) -> None:
    """Registers the handlers on ``app`` (its ``state.templates`` renders the pages)."""
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(StorylineError, storyline_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
