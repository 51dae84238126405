"""Who may read and who may ingest: the server's token, as a bearer token (the API) or
as the password of HTTP basic authentication (browsers on a private server)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from storyline.web.access import WebSettings

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="The server's token: --token or STORYLINE_TOKEN.")


class _Login(HTTPBasic):
    """A browser's login, None where there is none or it is malformed: FastAPI answered a
    login that was not base64, or had no colon, with its own 401 ('Not authenticated',
    and a Basic challenge even under /api)."""

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:
        try:
            return await super().__call__(request)
        except HTTPException:
            return None


basic = _Login(auto_error=False, scheme_name="basic", realm="storyline",
               description="For browsers on a private server: any user name, the token "
                           "as password.")

Token = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
Login = Annotated[HTTPBasicCredentials | None, Depends(basic)]


def _given(token: HTTPAuthorizationCredentials | None,
           login: HTTPBasicCredentials | None) -> str | None:
    if token is not None:
        return token.credentials
    return login.password if login is not None else None


def _valid(settings: WebSettings, given: str | None) -> bool:
    expected = settings.token
    return bool(expected and given is not None
                and hmac.compare_digest(given.encode(), expected.encode()))


def require_write(request: Request, token: Token) -> None:
    """Ingest needs the token; a server without one takes no ingest at all (403)."""
    settings: WebSettings = request.app.state.settings
    if not settings.token:
        raise HTTPException(403, "ingest is off on this server: start it with --token "
                                 "or STORYLINE_TOKEN")
    if not _valid(settings, _given(token, None)):
        raise HTTPException(401, "a valid token is needed: Authorization: Bearer TOKEN",
                            headers={"WWW-Authenticate": 'Bearer realm="storyline"'})


def require_read(request: Request, token: Token, login: Login) -> None:
    """On a private server, reading needs the token too."""
    if not _valid(request.app.state.settings, _given(token, login)):
        scheme = "Bearer" if request.url.path.startswith("/api/") else "Basic"
        raise HTTPException(401, "this server is private: a valid token is needed",
                            headers={"WWW-Authenticate": f'{scheme} realm="storyline"'})


def readers(settings: WebSettings) -> list[Any]:
    """The dependencies of every read route: the token check on a private server."""
    return [Depends(require_read)] if settings.private else []


def read_statuses(settings: WebSettings) -> tuple[int, ...]:
    """The error statuses reading may meet for want of a token."""
    return (401,) if settings.private else ()
