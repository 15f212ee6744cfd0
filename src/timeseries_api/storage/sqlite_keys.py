"""Device keys and ThingSpeak field names in SQLite. Plain SQL that ports to PostgreSQL as is
(``?`` placeholders become ``%s``; ``lastrowid`` becomes ``RETURNING id``)."""

import sqlite3

from ..domain import DeviceKey
from ..errors import NotFound
from .base import (
    DEVICE_KEY_COLUMNS,
    check_owner,
    device_key_from_row,
    field_names_from_json,
    field_names_to_json,
)

_KEYS = f"SELECT {DEVICE_KEY_COLUMNS} FROM device_keys k JOIN series s ON s.id = k.series_id"


def check_series_owner(conn: sqlite3.Connection, user_id: int, series_id: int, action: str) -> None:
    """Refuse unless the series exists and belongs to the user."""
    row = conn.execute("SELECT owner_id FROM series WHERE id = ?", (series_id,)).fetchone()
    check_owner(row[0] if row else None, user_id, series_id, action)


def insert_key(
    conn: sqlite3.Connection,
    user_id: int,
    series_id: int,
    kind: str,
    digest: str,
    label: str,
    created_us: int,
) -> DeviceKey:
    """Store a key for a series the user owns."""
    check_series_owner(conn, user_id, series_id, "add keys to")
    cursor = conn.execute(
        "INSERT INTO device_keys (series_id, kind, digest, label, created_us) "
        "VALUES (?, ?, ?, ?, ?)",
        (series_id, kind, digest, label, created_us),
    )
    assert cursor.lastrowid is not None
    return DeviceKey(cursor.lastrowid, series_id, user_id, kind, label, created_us)


def select_keys(conn: sqlite3.Connection, user_id: int, series_id: int) -> list[DeviceKey]:
    """The keys of a series the user owns."""
    check_series_owner(conn, user_id, series_id, "list the keys of")
    rows = conn.execute(f"{_KEYS} WHERE k.series_id = ? ORDER BY k.id", (series_id,)).fetchall()
    return [device_key_from_row(row) for row in rows]


def delete_key(conn: sqlite3.Connection, user_id: int, series_id: int, key_id: int) -> None:
    """Delete a key of a series the user owns (checked before anything changes)."""
    check_series_owner(conn, user_id, series_id, "revoke the keys of")
    found = conn.execute(
        "SELECT 1 FROM device_keys WHERE id = ? AND series_id = ?", (key_id, series_id)
    ).fetchone()
    if found is None:
        raise NotFound(f"series {series_id} has no key {key_id}")
    conn.execute("DELETE FROM device_keys WHERE id = ?", (key_id,))


def select_key(conn: sqlite3.Connection, digest: str) -> DeviceKey | None:
    """The key with this digest, if any."""
    row = conn.execute(f"{_KEYS} WHERE k.digest = ?", (digest,)).fetchone()
    return None if row is None else device_key_from_row(row)


def select_field_names(conn: sqlite3.Connection, series_id: int) -> dict[int, str]:
    """The ThingSpeak field names of a series."""
    row = conn.execute("SELECT field_names FROM series WHERE id = ?", (series_id,)).fetchone()
    if row is None:
        raise NotFound(f"series {series_id} does not exist")
    return field_names_from_json(row[0])


def update_field_names(
    conn: sqlite3.Connection, user_id: int, series_id: int, names: dict[int, str]
) -> None:
    """Replace the ThingSpeak field names of a series the user owns."""
    check_series_owner(conn, user_id, series_id, "name the fields of")
    conn.execute(
        "UPDATE series SET field_names = ? WHERE id = ?", (field_names_to_json(names), series_id)
    )


def select_last_points(
    conn: sqlite3.Connection, series_id: int, count: int, start: int, end: int
) -> list[str]:
    """The last ``count`` documents of a series between two times, in time order."""
    rows = conn.execute(
        "SELECT doc FROM points WHERE series_id = ? AND ts >= ? AND ts <= ? "
        "ORDER BY ts DESC, id DESC LIMIT ?",
        (series_id, start, end, count),
    ).fetchall()
    return [row[0] for row in reversed(rows)]
