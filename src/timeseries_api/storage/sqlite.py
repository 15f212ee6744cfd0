"""The embedded default: one SQLite file in WAL mode.

Writes go through :class:`~.group_commit.WriteThread` (one writer, shared commits); reads run on
a small pool of threads, each with its own connection, so a long read never blocks a write.
"""

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from pathlib import Path
from typing import TypeVar

from ..domain import (
    DeviceKey,
    FieldInfo,
    FieldSummary,
    PointKey,
    PointRange,
    PointText,
    SeriesChanges,
    SeriesInfo,
    SeriesKey,
    SeriesMeta,
    SeriesWrite,
)
from ..errors import NotFound, Unavailable
from . import sqlite_keys
from .base import (
    ID_TABLES,
    KEY_ROW_COLUMNS,
    SERIES_COLUMNS,
    KeyRow,
    PointRow,
    Storage,
    series_from_row,
    series_row,
)
from .group_commit import Transaction, WriteThread, unavailable_from
from .migrations import migrations
from .rollups import HOUR_US, merge_all, split_for_rollups
from .sqlite_points import PointIds, PointWrite, find_series_by_key, prepare_writes, reserve_ids
from .sqlite_reads import (
    DOCUMENT,
    count_in_range,
    csv_line,
    document_with_fields,
    field_infos,
    fields_with_non_numbers,
    latest_document,
    nth_key,
    point_summaries,
    points_chunk,
    rollup_summaries,
)
from .sqlite_rollups import drop_rollups, rebuild_rollups, recompute_hour
from .streaming import Chunk, stream_chunks

T = TypeVar("T")
log = logging.getLogger(__name__)

READ_THREADS = 4
# Series keys remembered per process, key -> id (the writer re-checks every id it is given).
MAX_CACHED_KEYS = 100_000
BUSY_TIMEOUT_MS = 10_000
MIN_TS = -(2**63)
MAX_TS = 2**63 - 1


class SQLiteStorage(Storage):
    """Series and points in one SQLite file."""

    def __init__(
        self, path: str, synchronous: str = "full", max_queued_writes: int = 10_000
    ) -> None:
        self.path = Path(path)
        self.synchronous = synchronous.upper()
        self._writer = WriteThread(
            self._connect_writer, lock_path=f"{path}-writer.lock", max_queued=max_queued_writes
        )
        self._ids = PointIds(
            lambda count: self._writer.submit(lambda tx: reserve_ids(tx.conn, count))
        )
        self._keys: dict[tuple[int, SeriesKey], int] = {}
        self._readers = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="sqlite-reader")
        self._local = threading.local()
        self.read_only = False

    # -- connections -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return conn

    def _connect_writer(self) -> sqlite3.Connection:
        conn = self._connect()
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: the WAL is fsynced at every commit, so a 201 survives power loss.
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect_read_only() if self.read_only else self._connect()
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
        return conn

    def _connect_read_only(self) -> sqlite3.Connection:
        """A reader on read-only media. A WAL database there opens normally only when its -shm
        file exists; otherwise as immutable, which is what a read-only filesystem is."""
        uri = self.path.resolve().as_uri()
        try:
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")
        except sqlite3.OperationalError:
            conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
        return conn

    async def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, lambda: query(self._reader()))

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect_writer()
            try:
                migrate(conn)
            finally:
                conn.close()
            self._writer.start()
        except (OSError, sqlite3.Error, Unavailable) as exc:
            if not self._on_read_only_media():
                raise
            # Serve what is there: reads work, every write answers 503 with the reason.
            log.warning("%s is on read-only media (%s): serving reads only", self.path, exc)
            self.read_only = True
            self._writer.refuse(
                Unavailable("the database is read-only: writes are refused, reads still work")
            )

    def _on_read_only_media(self) -> bool:
        """The database exists but neither it nor its directory (-wal, -shm) can be written."""
        return self.path.is_file() and not (
            os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)
        )

    async def close(self) -> None:
        self._writer.stop()
        self._readers.shutdown(wait=True)

    # -- series ------------------------------------------------------------------------------

    async def create_series(self, owner_id: int, meta: SeriesMeta, created_us: int) -> int:
        def insert(tx: Transaction) -> int:
            cursor = tx.conn.execute(
                'INSERT INTO series (owner_id, "desc", device_desc, device_id, created_us) '
                "VALUES (?, ?, ?, ?, ?)",
                (owner_id, meta.desc, meta.device_desc, meta.device_id, created_us),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

        return await self._writer.submit(insert)

    async def list_series(self) -> list[SeriesInfo]:
        rows = await self._read(
            lambda c: c.execute(f"SELECT {SERIES_COLUMNS} FROM series ORDER BY id").fetchall()
        )
        return [series_from_row(row) for row in rows]

    async def get_series(self, series_id: int) -> SeriesInfo:
        row = await self._read(
            lambda c: c.execute(
                f"SELECT {SERIES_COLUMNS} FROM series WHERE id = ?", (series_id,)
            ).fetchone()
        )
        if row is None:
            raise NotFound(f"series {series_id} does not exist")
        return series_from_row(row)

    async def delete_series(self, user_id: int, series_id: int) -> None:
        def delete(tx: Transaction) -> None:
            sqlite_keys.check_series_owner(tx.conn, user_id, series_id, "delete")
            tx.conn.execute("DELETE FROM points WHERE series_id = ?", (series_id,))
            tx.conn.execute("DELETE FROM device_keys WHERE series_id = ?", (series_id,))
            drop_rollups(tx.conn, series_id)
            tx.conn.execute("DELETE FROM series WHERE id = ?", (series_id,))

        await self._writer.submit(delete)

    async def update_series(
        self, user_id: int, series_id: int, changes: SeriesChanges
    ) -> SeriesInfo:
        columns = {
            "desc": changes.desc, "device_desc": changes.device_desc,
            "device_id": changes.device_id,
        }  # fmt: skip
        given = {name: value for name, value in columns.items() if value is not None}

        def update(tx: Transaction) -> SeriesInfo:
            sqlite_keys.check_series_owner(tx.conn, user_id, series_id, "edit")
            if given:
                assignments = ", ".join(f'"{name}" = ?' for name in given)
                tx.conn.execute(
                    f"UPDATE series SET {assignments} WHERE id = ?", (*given.values(), series_id)
                )
            row = tx.conn.execute(
                f"SELECT {SERIES_COLUMNS} FROM series WHERE id = ?", (series_id,)
            ).fetchone()
            return series_from_row(row)

        info: SeriesInfo = await self._writer.submit(update)
        return info

    async def points_text(
        self, series_id: int, points: PointRange, text: PointText
    ) -> AsyncIterator[bytes]:
        if text.csv_columns is not None:
            columns = text.csv_columns
            may_be_text = await self._read(lambda c: fields_with_non_numbers(c, series_id))
            row = csv_line(columns, may_be_text)
        elif points.fields:
            row = document_with_fields(points.fields)
        else:
            row = DOCUMENT

        def read_after(after: PointKey | None) -> Awaitable[Chunk]:
            return self._read(
                lambda c: points_chunk(c, series_id, points, after, row, text.separator)
            )

        # Each query runs in a reader thread (SQLite releases the GIL) while the loop sends.
        async with aclosing(stream_chunks(read_after, points.after)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def page_end(self, series_id: int, points: PointRange, limit: int) -> PointKey | None:
        return await self._read(lambda c: nth_key(c, series_id, points, points.after, limit))

    async def latest_point_json(self, series_id: int) -> str | None:
        return await self._read(lambda c: latest_document(c, series_id))

    async def count_series_points(
        self, series_id: int, start_us: int | None, end_us: int | None
    ) -> int:
        if start_us is None and end_us is None:
            return (await self.get_series(series_id)).count
        start = MIN_TS if start_us is None else start_us
        end = MAX_TS if end_us is None else end_us
        return await self._read(lambda c: count_in_range(c, series_id, start, end))

    async def series_fields(self, series_id: int) -> list[FieldInfo]:
        return await self._read(lambda c: field_infos(c, series_id))

    async def aggregate(
        self,
        series_id: int,
        every_us: int,
        offset_us: int,
        span: tuple[int | None, int | None],
        fields: tuple[str, ...] | None,
        ends: bool = True,
    ) -> dict[tuple[int, str], FieldSummary]:
        hours, edges = split_for_rollups(every_us, offset_us, span)

        def query(c: sqlite3.Connection) -> dict[tuple[int, str], FieldSummary]:
            found: dict[tuple[int, str], FieldSummary] = {}
            if hours is not None:
                every_h, offset_h = every_us // HOUR_US, offset_us // HOUR_US
                found = rollup_summaries(c, series_id, every_h, offset_h, hours, fields, ends)
            for edge in edges:
                part = point_summaries(c, series_id, every_us, offset_us, edge, fields, ends)
                merge_all(found, part.items())
            return found

        return await self._read(query)

    # -- points ------------------------------------------------------------------------------

    async def write_points(self, writes: Sequence[SeriesWrite]) -> list[list[int]]:
        prepared = await prepare_writes(writes, self._series_for_key, self._ids)
        ids: list[list[int]] = await self._writer.submit(PointWrite(prepared))
        for ready in prepared:  # learn the ids of series the writer found or created
            if ready.key is not None and ready.series_id is not None:
                self._keys[ready.user_id, ready.key] = ready.series_id
        return ids

    async def _series_for_key(self, write: SeriesWrite) -> int | None:
        """The id of the series a key names, if it exists (the writer re-checks it)."""
        assert write.key is not None
        cache_key = (write.user_id, write.key)
        if cache_key not in self._keys:
            if len(self._keys) > MAX_CACHED_KEYS:
                self._keys.clear()
            found = await self._read(lambda c: find_series_by_key(c, write.user_id, write.key))  # type: ignore[arg-type]
            if found is None:
                return None
            self._keys[cache_key] = found
        return self._keys[cache_key]

    async def get_point_json(self, point_id: int) -> str:
        row = await self._read(
            lambda c: c.execute("SELECT doc FROM points WHERE id = ?", (point_id,)).fetchone()
        )
        if row is None:
            raise NotFound(f"point {point_id} does not exist")
        doc: str = row[0]
        return doc

    async def delete_point(self, user_id: int, point_id: int) -> None:
        def delete(tx: Transaction) -> None:
            row = tx.conn.execute(
                "SELECT series_id, ts FROM points WHERE id = ?", (point_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"point {point_id} does not exist")
            sqlite_keys.check_series_owner(tx.conn, user_id, row[0], "delete points of")
            tx.conn.execute("DELETE FROM points WHERE id = ?", (point_id,))
            recompute_hour(tx.conn, row[0], row[1] // HOUR_US)
            tx.conn.execute(
                "UPDATE series SET point_count = point_count - 1 WHERE id = ?", (row[0],)
            )

        await self._writer.submit(delete)

    async def count_points(self) -> int:
        row = await self._read(
            lambda c: c.execute("SELECT coalesce(sum(point_count), 0) FROM series").fetchone()
        )
        count: int = row[0]
        return count

    async def last_points_json(
        self, series_id: int, count: int, start_us: int | None, end_us: int | None
    ) -> list[str]:
        start = MIN_TS if start_us is None else start_us
        end = MAX_TS if end_us is None else end_us
        return await self._read(
            lambda c: sqlite_keys.select_last_points(c, series_id, count, start, end)
        )

    # -- device keys and ThingSpeak field names ----------------------------------------------

    async def create_device_key(
        self, user_id: int, series_id: int, kind: str, digest: str, label: str, created_us: int
    ) -> DeviceKey:
        return await self._writer.submit(
            lambda tx: sqlite_keys.insert_key(
                tx.conn, user_id, series_id, kind, digest, label, created_us
            )
        )

    async def list_device_keys(self, user_id: int, series_id: int) -> list[DeviceKey]:
        return await self._read(lambda c: sqlite_keys.select_keys(c, user_id, series_id))

    async def revoke_device_key(self, user_id: int, series_id: int, key_id: int) -> None:
        await self._writer.submit(
            lambda tx: sqlite_keys.delete_key(tx.conn, user_id, series_id, key_id)
        )

    async def find_device_key(self, digest: str) -> DeviceKey | None:
        return await self._read(lambda c: sqlite_keys.select_key(c, digest))

    async def series_field_names(self, series_id: int) -> dict[int, str]:
        return await self._read(lambda c: sqlite_keys.select_field_names(c, series_id))

    async def set_series_field_names(
        self, user_id: int, series_id: int, names: dict[int, str]
    ) -> None:
        await self._writer.submit(
            lambda tx: sqlite_keys.update_field_names(tx.conn, user_id, series_id, names)
        )

    # -- copying between databases ------------------------------------------------------------

    async def export_points(self, after_id: int, limit: int) -> list[PointRow]:
        return await self._read(
            lambda c: c.execute(
                "SELECT id, series_id, ts, doc FROM points WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        )

    async def import_series(self, series: Sequence[SeriesInfo]) -> None:
        rows = [series_row(s) for s in series]
        await self._writer.submit(
            lambda tx: tx.conn.executemany(
                f"INSERT OR IGNORE INTO series ({SERIES_COLUMNS}) VALUES ({_marks(10)})", rows
            )
        )

    async def import_points(self, rows: Sequence[PointRow]) -> None:
        # AUTOINCREMENT moves sqlite_sequence past explicit ids by itself.
        await self._writer.submit(
            lambda tx: tx.conn.executemany(
                "INSERT OR IGNORE INTO points (id, series_id, ts, doc) VALUES (?, ?, ?, ?)", rows
            )
        )

    async def export_device_keys(self) -> list[KeyRow]:
        return await self._read(
            lambda c: c.execute(f"SELECT {KEY_ROW_COLUMNS} FROM device_keys ORDER BY id").fetchall()
        )

    async def import_device_keys(self, rows: Sequence[KeyRow]) -> None:
        await self._writer.submit(
            lambda tx: tx.conn.executemany(
                f"INSERT OR IGNORE INTO device_keys ({KEY_ROW_COLUMNS}) VALUES ({_marks(6)})", rows
            )
        )

    async def id_high_water(self) -> dict[str, int]:
        rows = await self._read(
            lambda c: c.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
        )
        return {name: seq for name, seq in rows if name in ID_TABLES}

    async def finish_import(self, high_water: dict[str, int]) -> None:
        def finish(tx: Transaction) -> None:
            tx.conn.execute(
                "UPDATE series SET point_count = "
                "(SELECT count(*) FROM points WHERE series_id = series.id)"
            )
            rebuild_rollups(tx.conn)
            for table, seq in high_water.items():
                # AUTOINCREMENT never hands out an id at or below sqlite_sequence's.
                if not tx.conn.execute(
                    "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (seq, table)
                ).rowcount:
                    tx.conn.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, seq)
                    )

        await self._writer.submit(finish)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to the newest version; safe when several processes start at once."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        for version, _name, sql in migrations("sqlite"):
            if version <= current:
                continue
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise unavailable_from(exc) from exc


def _statements(sql: str) -> list[str]:
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    return statements
