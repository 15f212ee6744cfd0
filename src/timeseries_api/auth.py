"""Who is asking: the token from the JSON body (the seed's way) or an Authorization header."""

from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from .errors import BadInput, Unauthorized
from .users import User, UsersFile

if TYPE_CHECKING:  # context imports storage; auth stays importable on its own
    from .context import AppContext


def request_token(request: Request, body: dict[str, Any] | None) -> str | None:
    """The token of a request: ``Authorization: Bearer <token>`` first, then the body's token."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("bearer", "token") and value.strip():
            return value.strip()
        raise BadInput("the Authorization header must be 'Bearer <token>'")
    token = body.get("token") if body else None
    if token is None:
        return None
    if not isinstance(token, str):
        raise BadInput("token must be a string")
    return token


def authenticate(users: UsersFile, token: str | None) -> User:
    """The user holding ``token``; 401 when it is missing or unknown."""
    if not token:
        raise Unauthorized(
            'a token is required: add "token" to the JSON body or send '
            "'Authorization: Bearer <token>'"
        )
    user = users.authenticate(token)
    if user is None:
        raise Unauthorized("unknown token: check it against the server's users file")
    return user


async def authorize_read(
    context: "AppContext", request: Request, series_id: int | None = None
) -> User | None:
    """Let a GET through, or refuse it (401). Every GET endpoint of ours calls this.

    Reads are open, as in the seed, unless the operator set ``private_reads``: then they need a
    valid token, as ``Authorization: Bearer <token>`` or a ``token`` query parameter (for
    links and spreadsheets). ``series_id`` names the series read, if one is: where a per-series
    read key would be checked (async, so that it can look the key up in storage).
    """
    if not context.settings.private_reads:
        return None
    token = request_token(request, None) or request.query_params.get("token")
    return authenticate(context.users, token)
