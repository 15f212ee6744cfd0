"""The users file: the seed's ``{"<token>": {"name": "Robin", "id": 1}}``, maintained by hand.

The file is re-read whenever it changes on disk, so edits take effect while the server runs.
Tokens are kept only as SHA-256 digests: a dict lookup on the digest does not leak, through its
timing, how much of a guessed token was right (the constant-time comparison the seed asks for).
"""

import hashlib
import json
import logging
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 200


@dataclass(frozen=True, slots=True)
class User:
    """One entry of the users file. ``id`` owns series; ``name`` is shown in listings."""

    id: int
    name: str


class UsersFileError(Exception):
    """The users file cannot be read or does not follow the seed's format."""


def token_digest(token: str) -> bytes:
    """The digest under which a token is looked up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def parse_users(text: str, source: str = "users file") -> dict[str, User]:
    """Validate the seed's users format and return ``{token: User}``."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise UsersFileError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise UsersFileError(f"{source} must be a JSON object mapping tokens to users")
    users: dict[str, User] = {}
    for number, (token, entry) in enumerate(raw.items(), start=1):
        where = f"{source}, entry {number}"  # never the token: messages go to the log
        if not token:
            raise UsersFileError(f"{source} has an empty token")
        if not isinstance(entry, dict):
            raise UsersFileError(f'{where}: must be an object like {{"name": "Robin", "id": 1}}')
        user_id, name = entry.get("id"), entry.get("name")
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise UsersFileError(f"{where}: 'id' must be an integer")
        if not isinstance(name, str):
            raise UsersFileError(f"{where}: 'name' must be a string")
        users[token] = User(id=user_id, name=name)
    return users


class UsersFile:
    """The users file on disk, reloaded when its modification time, size or inode change.

    The file is looked at no more than once per ``check_interval`` seconds: a stat() on every
    request would cost more than the rest of the authentication.
    """

    def __init__(self, path: Path, check_interval: float = 1.0) -> None:
        self.path = path
        self.check_interval = check_interval
        self._next_check = 0.0
        self._signature: tuple[int, int, int] | None = None
        self._by_digest: dict[bytes, User] = {}
        self._names: dict[int, str] = {}
        self.reload_if_changed()

    def reload_if_changed(self) -> None:
        """Re-read the file if it changed; keep the last good version if the new one is broken."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self.check_interval
        try:
            st = os.stat(self.path)
        except OSError as exc:
            if self._signature is not None:
                log.error("users file %s unreadable (%s); keeping the last users", self.path, exc)
                self._signature = None
            return
        signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        if signature == self._signature:
            return
        self._signature = signature
        try:
            users = parse_users(self.path.read_text(encoding="utf-8"), str(self.path))
        except (OSError, UnicodeDecodeError, UsersFileError) as exc:
            log.error("%s; keeping the last good users", exc)
            return
        self._by_digest = {token_digest(token): user for token, user in users.items()}
        self._names = {user.id: user.name for user in users.values()}
        log.info("loaded %d users from %s", len(users), self.path)

    def authenticate(self, token: str) -> User | None:
        """The user holding ``token``, or None."""
        self.reload_if_changed()
        return self._by_digest.get(token_digest(token))

    def name_of(self, user_id: int) -> str | None:
        """The current name of a user id (None once removed from the file)."""
        self.reload_if_changed()
        return self._names.get(user_id)


def new_token() -> str:
    """A fresh token: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def add_user(path: Path, name: str) -> tuple[User, str]:
    """Add a user with a fresh token to the users file (created owner-only if missing)."""
    if not name or len(name) > MAX_NAME_LENGTH:
        raise UsersFileError(f"a user name must be 1 to {MAX_NAME_LENGTH} characters")
    raw: dict[str, dict[str, object]] = {}
    existing: dict[str, User] = {}
    if path.exists():
        text = path.read_text(encoding="utf-8")
        existing = parse_users(text, str(path))
        raw = json.loads(text)
    user = User(id=max((u.id for u in existing.values()), default=0) + 1, name=name)
    token = new_token()
    raw[token] = {"name": user.name, "id": user.id}
    write_users_file(path, raw)
    return user, token


def write_users_file(path: Path, raw: dict[str, dict[str, object]]) -> None:
    """Write the users file atomically with owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(raw, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def list_users(path: Path) -> list[User]:
    """The users in the file, by id."""
    users = parse_users(path.read_text(encoding="utf-8"), str(path))
    return sorted(users.values(), key=lambda u: u.id)


def readable_by_others(path: Path) -> bool:
    """True when the users file can be read by group or others (tokens are secrets)."""
    try:
        return bool(os.stat(path).st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False
