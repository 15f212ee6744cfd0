"""Who is asking: the token from the JSON body (the seed's way) or an Authorization header."""

from typing import Any

from starlette.requests import Request

from .errors import BadInput, Unauthorized
from .users import User, UsersFile


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
