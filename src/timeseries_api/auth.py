"""Who is asking: the token from the JSON body (the seed's way) or an Authorization header, and
what it may do. User tokens are looked up in memory (the users file); only a token that is not a
user's is looked up in the database as a device key."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from .domain import DeviceKey
from .errors import BadInput, Forbidden, Unauthorized
from .keys import find_key
from .storage import Storage
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


def _missing() -> Unauthorized:
    return Unauthorized(
        'a token is required: add "token" to the JSON body or send '
        "'Authorization: Bearer <token>'"
    )


UNKNOWN_TOKEN = "unknown token: check it against the server's users file"


async def identify(users: UsersFile, storage: Storage, token: str | None) -> User | DeviceKey:
    """Whose ``token`` this is: a user's (looked up in memory), else a device key (in the
    database); 401 when it is missing or neither."""
    if not token:
        raise _missing()
    user = users.authenticate(token)
    if user is not None:
        return user
    key = await find_key(storage, token)
    if key is None:
        raise Unauthorized(UNKNOWN_TOKEN)
    return key


async def authenticate_user(users: UsersFile, storage: Storage, token: str | None) -> User:
    """The user holding ``token``, for anything but adding points: a device key gets 403."""
    who = await identify(users, storage, token)
    if isinstance(who, DeviceKey):
        raise Forbidden(
            f"this is a {who.kind} key of series {who.series_id}: it cannot do this; "
            "use the owner's token"
        )
    return who


@dataclass(frozen=True, slots=True)
class Writer:
    """Who adds points: a user (to any series of theirs) or a write key (to its one series,
    on behalf of the series' owner)."""

    user_id: int
    key: DeviceKey | None = None

    def check_series(self, series_id: int | None) -> None:
        """Refuse a write key writing anywhere but its series (``None``: a series named by a
        line protocol key, which a write key cannot create)."""
        if self.key is None or series_id == self.key.series_id:
            return
        allowed = f"this write key can only add points to series {self.key.series_id}"
        if series_id is None:
            raise Forbidden(f"{allowed}: tag its lines with series_id={self.key.series_id}")
        raise Forbidden(f"{allowed}, not to series {series_id}")


async def authenticate_writer(users: UsersFile, storage: Storage, token: str | None) -> Writer:
    """Who may add points with ``token``: a user, or a write key of one series."""
    who = await identify(users, storage, token)
    if isinstance(who, User):
        return Writer(who.id)
    if who.kind != "write":
        raise Forbidden(f"this is a read key of series {who.series_id}: it cannot write")
    return Writer(who.owner_id, who)


async def authorize_read(
    context: "AppContext", request: Request, series_id: int | None = None
) -> User | None:
    """Let a GET through, or refuse it (401, or 403 for a key of another series). Every GET
    endpoint of ours calls this.

    Reads are open, as in the seed, unless the operator set ``private_reads``: then they need a
    valid token, as ``Authorization: Bearer <token>`` or a ``token`` query parameter (for
    links and spreadsheets): a user's token, or a read key of ``series_id``, the series read.
    Returns the user, if a user's token was given.
    """
    if not context.settings.private_reads:
        return None
    token = request_token(request, None) or request.query_params.get("token")
    who = await identify(context.users, context.storage, token)
    if isinstance(who, User):
        return who
    if who.kind == "read" and who.series_id == series_id:
        return None
    raise Forbidden(f"this is a {who.kind} key of series {who.series_id}: it cannot read this")
