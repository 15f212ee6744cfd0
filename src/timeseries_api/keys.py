"""Device keys: a write key lets one device add points to one series and nothing else; a read
key lets it read that series. A key is a random token shown once; only its SHA-256 digest is
stored, and it is looked up in the database on every use, so a revocation holds at once on every
server process."""

import secrets

from .domain import DeviceKey
from .errors import BadInput
from .ingest.json_body import check_no_nul
from .storage import Storage
from .timeparse import now_us
from .users import token_digest

KINDS = ("write", "read")
MAX_LABEL_LENGTH = 200
# Device keys start with this, so a key found in a sketch or a log is recognisable as one.
PREFIX = "tsk_"


def key_digest(token: str) -> str:
    """The digest a key is stored and looked up under (hex SHA-256)."""
    return token_digest(token).hex()


async def create_key(
    storage: Storage, user_id: int, series_id: int, kind: str = "write", label: str = ""
) -> tuple[DeviceKey, str]:
    """Create a key for a series the user owns; returns it and its token (shown only now)."""
    if kind not in KINDS:
        raise BadInput(f"kind must be 'write' or 'read', not {str(kind)[:20]!r}")
    if len(label) > MAX_LABEL_LENGTH:
        raise BadInput(f"label is limited to {MAX_LABEL_LENGTH} characters")
    check_no_nul(label, "label")
    token = PREFIX + secrets.token_urlsafe(32)
    key = await storage.create_device_key(
        user_id, series_id, kind, key_digest(token), label, now_us()
    )
    return key, token


async def find_key(storage: Storage, token: str) -> DeviceKey | None:
    """The device key ``token`` is, if it is one."""
    return await storage.find_device_key(key_digest(token))


async def is_read_key(storage: Storage, token: str | None, series_id: int) -> bool:
    """True when ``token`` is a read key of the series."""
    if not token:
        return False
    key = await find_key(storage, token)
    return key is not None and key.kind == "read" and key.series_id == series_id
