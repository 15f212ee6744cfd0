"""Device keys and ThingSpeak field names in PostgreSQL: the statements of ``sqlite_keys``."""

from psycopg.pq import TransactionStatus

from ..domain import DeviceKey
from ..errors import NotFound
from .base import (
    DEVICE_KEY_COLUMNS,
    check_owner,
    device_key_from_row,
    field_names_from_json,
    field_names_to_json,
)
from .postgres_writer import Connection

_KEYS = f"SELECT {DEVICE_KEY_COLUMNS} FROM device_keys k JOIN series s ON s.id = k.series_id"


async def check_series_owner(
    conn: Connection, user_id: int, series_id: int, action: str, lock: str = "KEY SHARE"
) -> None:
    """Refuse unless the series exists and belongs to the user; inside a transaction, lock it
    (``KEY SHARE``: it cannot be deleted meanwhile; ``UPDATE``: nobody else may use it)."""
    in_transaction = conn.info.transaction_status != TransactionStatus.IDLE
    locking = f" FOR {lock}" if in_transaction else ""
    cursor = await conn.execute(f"SELECT owner_id FROM series WHERE id = %s{locking}", (series_id,))
    row = await cursor.fetchone()
    check_owner(row[0] if row else None, user_id, series_id, action)


async def insert_key(
    conn: Connection, user_id: int, series_id: int, kind: str, digest: str, label: str,
    created_us: int,
) -> DeviceKey:  # fmt: skip
    """Store a key for a series the user owns."""
    await check_series_owner(conn, user_id, series_id, "add keys to")
    cursor = await conn.execute(
        "INSERT INTO device_keys (series_id, kind, digest, label, created_us) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (series_id, kind, digest, label, created_us),
    )
    row = await cursor.fetchone()
    assert row is not None
    return DeviceKey(row[0], series_id, user_id, kind, label, created_us)


async def select_keys(conn: Connection, user_id: int, series_id: int) -> list[DeviceKey]:
    """The keys of a series the user owns."""
    await check_series_owner(conn, user_id, series_id, "list the keys of")
    cursor = await conn.execute(f"{_KEYS} WHERE k.series_id = %s ORDER BY k.id", (series_id,))
    return [device_key_from_row(row) for row in await cursor.fetchall()]


async def delete_key(conn: Connection, user_id: int, series_id: int, key_id: int) -> None:
    """Delete a key of a series the user owns (checked before anything changes)."""
    await check_series_owner(conn, user_id, series_id, "revoke the keys of")
    cursor = await conn.execute(
        "SELECT 1 FROM device_keys WHERE id = %s AND series_id = %s", (key_id, series_id)
    )
    if await cursor.fetchone() is None:
        raise NotFound(f"series {series_id} has no key {key_id}")
    await conn.execute("DELETE FROM device_keys WHERE id = %s", (key_id,))


async def select_key(conn: Connection, digest: str) -> DeviceKey | None:
    """The key with this digest, if any."""
    cursor = await conn.execute(f"{_KEYS} WHERE k.digest = %s", (digest,))
    row = await cursor.fetchone()
    return None if row is None else device_key_from_row(row)


async def select_field_names(conn: Connection, series_id: int) -> dict[int, str]:
    """The ThingSpeak field names of a series."""
    cursor = await conn.execute("SELECT field_names FROM series WHERE id = %s", (series_id,))
    row = await cursor.fetchone()
    if row is None:
        raise NotFound(f"series {series_id} does not exist")
    return field_names_from_json(row[0])


async def update_field_names(
    conn: Connection, user_id: int, series_id: int, names: dict[int, str]
) -> None:
    """Replace the ThingSpeak field names of a series the user owns."""
    await check_series_owner(conn, user_id, series_id, "name the fields of")
    await conn.execute(
        "UPDATE series SET field_names = %s WHERE id = %s", (field_names_to_json(names), series_id)
    )


async def select_last_points(
    conn: Connection, series_id: int, count: int, start: int, end: int
) -> list[str]:
    """The last ``count`` documents of a series between two times, in time order."""
    cursor = await conn.execute(
        "SELECT doc FROM points WHERE series_id = %s AND ts >= %s AND ts <= %s "
        "ORDER BY ts DESC, id DESC LIMIT %s",
        (series_id, start, end, count),
    )
    return [row[0] for row in reversed(await cursor.fetchall())]
