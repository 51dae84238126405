"""One error hierarchy: every failure a user can meet, with its exit code and HTTP status.

The CLI prints ``error: MESSAGE`` and exits with ``exit_code``; the JSON API answers
``http_status`` with ``{"detail": MESSAGE}``. Callers catch :class:`StorylineError`
instead of a list of unrelated classes.

Exit codes (documented in docs/cli.md):

====  =====================================================================
0     success (also when standard output's reader closed it: `| head`)
1     bad input (file:line named), unknown story or batch, nothing ingested
2     wrong usage: an unknown option, preset, format or model name
3     the store cannot be used: wrong model, corrupt, newer schema, disk full
4     a model is not built, or a package to build it is missing
5     the store is busy: another writer held it past the timeout (retry)
6     a feed or page could not be fetched
7     ``ingest --server``: the server could not be reached or failed
====  =====================================================================

>>> err = InputError("news.csv", 12, "unterminated quote")
>>> str(err), err.exit_code, err.http_status
('news.csv:12: unterminated quote', 1, 400)
>>> isinstance(StoreBusyError("busy"), StoreError)
True
"""

from __future__ import annotations

# The header of an error answer that says what the CLI would exit with: `ingest --server`
# exits as a local ingest would (storyline.web.errors sets it, storyline.remote reads it).
EXIT_HEADER = "X-Storyline-Exit-Code"
# An HTTP refusal as the exit code a local command gives for the same failure: what
# the server puts in EXIT_HEADER where no StorylineError says more, and what
# `ingest --server` falls back to where an answer has no such header (a proxy's). A bad
# parameter (422) is the CLI's bad option (`--limit 0`, `--status sleeping`): usage, 2.
EXIT_FOR_STATUS = {400: 1, 404: 1, 422: 2, 401: 2, 403: 2, 405: 2, 413: 2, 415: 2, 409: 3,
                   507: 3, 503: 5}


class StorylineError(Exception):
    """The base of every error storyline reports to a user (never with a traceback)."""

    exit_code: int = 1
    http_status: int = 500


class UsageError(StorylineError, ValueError):
    """A wrong option value: an unknown preset, format, status or model name."""

    exit_code = 2
    http_status = 400


class InputError(StorylineError, ValueError):
    """Bad input, with the file and line it was found at."""

    exit_code = 1
    http_status = 400

    def __init__(self, origin: str, line: int | None, message: str) -> None:
        where = f"{origin}:{line}" if line is not None else origin
        super().__init__(f"{where}: {message}")
        self.origin = origin
        self.line = line
        self.message = message  # without the file and line, for an HTTP answer


class NotFoundError(StorylineError, LookupError):
    """An unknown story, batch or snippet."""

    exit_code = 1
    http_status = 404


class IngestError(StorylineError, RuntimeError):
    """A batch that cannot go into this store (built with another model, say)."""

    exit_code = 3
    http_status = 409


class OtherContentError(IngestError):
    """A batch already in the store with other records than those given again."""


class StoreError(StorylineError, RuntimeError):
    """The store cannot be opened or used as it is."""

    exit_code = 3
    http_status = 500


class StoreBusyError(StoreError):
    """Another writer held the store past the timeout: try again."""

    exit_code = 5
    http_status = 503


class StoreUnavailableError(StoreError):
    """The store's database server cannot be reached, or dropped the connection (a
    restart, a failover): try again."""

    exit_code = 3
    http_status = 503


class DiskFullError(StoreError):
    """The disk under the store is full; nothing of the batch was written."""

    exit_code = 3
    http_status = 507


class ModelError(StorylineError, RuntimeError):
    """A model that is not built, or a package needed to build it."""

    exit_code = 4
    http_status = 503


class FetchError(StorylineError, RuntimeError):
    """A feed or page that could not be fetched."""

    exit_code = 6
    http_status = 502


class ServerError(StorylineError, RuntimeError):
    """``ingest --server``: the server could not be reached, or failed."""

    exit_code = 7
    http_status = 502
