"""``storyline ingest --server URL``: batch files read here, ingested by a running server.

A process per batch (a cron job) pays Python's start, the models' load and the live
stories' state every time; ``storyline serve`` keeps them loaded. Here the files are read
with the same readers and options as a local ingest (:func:`file_batches`), so a bad line
is named by file and line before anything is sent; each batch goes to ``POST
/api/batches`` as JSONL in one request (a batch is stored whole or not at all, so it is
never split over two), and the server's answer is the JSON a local ingest prints.

The client needs nothing of the server's stack: no models, no store driver. It speaks
HTTP through the standard library (one request a batch needs no connection pool, and
httpx is not in the default install).

>>> request_for("http://news:8000/", "monday", b"{}", "t0k").full_url
'http://news:8000/api/batches?batch=monday'
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

from storyline.config import checked_token
from storyline.errors import (
    EXIT_FOR_STATUS,
    EXIT_HEADER,
    InputError,
    ServerError,
    StorylineError,
    UsageError,
)
from storyline.pipeline.batches import file_batches
from storyline.types import IngestReport, Record
from storyline.web.ingest import BATCH_PATTERN

BATCH_NAME = re.compile(BATCH_PATTERN)  # what the server takes (names are also its URLs)

DEFAULT_MAX_BODY_MB = 20.0  # the server's default --max-body-mb
_FIELDS = ("text", "id", "batch", "source", "url", "published_at", "title")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the refusal it is: urllib would repeat a POST as a GET
    (301-303) and read the batch list as the answer."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def check_server_url(server: str) -> str:
    """``server`` without a trailing slash; a usage error unless it is an http(s) URL.

    >>> check_server_url("http://news:8000/")
    'http://news:8000'
    """
    problem = None
    try:
        parts = urlsplit(server)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError as exc:
        problem = str(exc)
    else:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problem = "not an http:// or https:// URL"
    if problem:
        raise UsageError(f"--server {shown_url(server)!r}: {problem} "
                         "(the address storyline serve prints)")
    return server.rstrip("/")


def shown_url(url: str) -> str:
    """``url`` without a password, for messages.

    >>> shown_url("https://me:secret@news.example/")
    'https://me:***@news.example/'
    """
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def request_for(server: str, batch: str, body: bytes, token: str | None
                ) -> urllib.request.Request:
    """The ``POST /api/batches`` request of one batch."""
    headers = {"Content-Type": "application/x-ndjson", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = f"{server.rstrip('/')}/api/batches?batch={quote(batch, safe='')}"
    return urllib.request.Request(url, data=body, headers=headers, method="POST")


def jsonl_body(records: Iterable[Record], max_mb: float, file: Path, batch: str) -> bytes:
    """The batch's records as JSONL; an error past ``max_mb`` MiB (the server would
    refuse it, and the client holds no more than that of a file in memory)."""
    limit = max_mb * 1024 * 1024
    parts: list[bytes] = []
    size = 0
    for record in records:
        fields = {k: getattr(record, k) for k in _FIELDS if getattr(record, k) is not None}
        line = json.dumps(fields, ensure_ascii=False).encode() + b"\n"
        size += len(line)
        if size > limit:
            raise UsageError(f"{file}: batch {batch!r} is over "
                             f"{max_mb:g} MiB: a batch goes to the server in "
                             "one request: cut it with --window or into smaller files, or "
                             "raise --max-body-mb here and on the server")
        parts.append(line)
    return b"".join(parts)


def post_batch(request: urllib.request.Request, timeout: float) -> list[IngestReport]:
    """The reports of one batch the server ingested."""
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        raise _refused(exc) from None
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServerError(f"no answer from the storyline server at "
                          f"{_server_of(request)}: {reason} (is `storyline serve` "
                          "running there?)") from None
    except (ValueError, http.client.HTTPException) as exc:
        what = "something other than JSON" if isinstance(exc, ValueError) else (
            f"a broken answer ({type(exc).__name__})")
        raise ServerError(f"{_server_of(request)} answered with {what}: is it a "
                          "storyline server?") from None
    return _reports(answer, request)


def _reports(answer: object, request: urllib.request.Request) -> list[IngestReport]:
    """The answer's reports; a field this version does not know is left out (a newer
    server may add some)."""
    known = {f.name for f in fields(IngestReport)}
    batches = answer.get("batches") if isinstance(answer, dict) else None
    if not isinstance(batches, list) or not all(isinstance(b, dict) for b in batches):
        raise ServerError(f"{_server_of(request)} answered without the batches it "
                          "ingested: is it a storyline server?")
    try:
        return [IngestReport(**{k: v for k, v in b.items() if k in known}) for b in batches]
    except TypeError as exc:
        raise ServerError(f"{_server_of(request)} answered with a report this version "
                          f"cannot read ({exc})") from None


def _server_of(request: urllib.request.Request) -> str:
    parts = urlsplit(request.full_url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _refused(exc: urllib.error.HTTPError) -> StorylineError:
    if 300 <= exc.code < 400:
        where = exc.headers.get("Location", "elsewhere") if exc.headers else "elsewhere"
        return ServerError(f"the server answered {exc.code}, a redirect to {shown_url(where)}: "
                           "give that address as --server")
    try:
        detail = json.loads(exc.read() or b"{}").get("detail") or exc.reason
    except (ValueError, AttributeError, OSError, http.client.HTTPException):
        detail = exc.reason
    error = ServerError(f"the server refused the batch ({exc.code}): {detail}")
    said = exc.headers.get(EXIT_HEADER, "") if exc.headers else ""
    error.exit_code = (int(said) if said.isdigit() and 1 <= int(said) <= 7
                       else EXIT_FOR_STATUS.get(exc.code, ServerError.exit_code))
    return error


def ingest_remote(
    paths: Iterable[Path], server: str, *, token: str | None = None,
    fmt: str | None = None, batch: str | None = None, columns: dict[str, str] | None = None,
    skip_bad: bool = False, window: timedelta | None = None,
    max_body_mb: float = DEFAULT_MAX_BODY_MB, timeout: float = 600.0,
    on_batch: Callable[[IngestReport], None] | None = None,
    on_skipped: Callable[[str], None] | None = None,
    on_warning: Callable[[InputError], None] | None = None, encoding: str | None = None,
) -> list[IngestReport]:
    """Ingest batch files (in ``encoding``; default UTF-8) into the store of the storyline
    server at ``server``, batch by batch, in order: the reports a local ingest of the
    same files gives."""
    server = check_server_url(server)
    token = checked_token(token)
    reports: list[IngestReport] = []
    for file in file_batches(paths, fmt=fmt, batch=batch, columns=columns, skip_bad=skip_bad,
                             window=window, on_skipped=on_skipped, on_warning=on_warning,
                             encoding=encoding):
        made = []
        for name, records in file.batches:
            if not BATCH_NAME.match(name):
                raise UsageError(f"{file.file}: batch name {name!r} cannot name a batch on a "
                                 "server (letters, digits, '.', '_', '-', at most 100): "
                                 "give one with --batch")
            body = jsonl_body(records, max_body_mb, file.file, name)
            for report in post_batch(request_for(server, name, body, token), timeout):
                made.append(report)
                if on_batch:
                    on_batch(report)
        reports += file.reports(made)
    return reports

