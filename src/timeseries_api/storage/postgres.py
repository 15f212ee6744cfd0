"""PostgreSQL, for when one machine is not enough: any number of server processes, on any number
of machines, against one database.

Nothing a request depends on lives only in one process: ids come from the database (in blocks,
see ``PointIds``), ownership is checked inside each write transaction, and the key -> series
cache only ever holds ids that the writer checks again.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool

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
from . import postgres_keys, postgres_reads
from .base import (
    ID_TABLES,
    KEY_ROW_COLUMNS,
    KeyRow,
    PointRow,
    Storage,
    series_columns,
    series_from_row,
)
from .migrations import migrations
from .postgres_points import CopyPointWrite, copy_text
from .postgres_rollups import fold_rollup_slots, rebuild_rollups, recompute_hour
from .postgres_writer import Connection, PostgresWriter, add_to_counts, unavailable_from_pg
from .rollups import HOUR_US, merge_all, split_for_rollups
from .sqlite_points import PointIds, prepare_writes
from .streaming import Chunk, stream_chunks

log = logging.getLogger(__name__)
T = TypeVar("T")

# Points per streamed chunk (read at each chunk, so tests can make it small).
CHUNK_POINTS = 10_000
READ_CONNECTIONS = 8
MAX_CACHED_KEYS = 100_000
MIN_TS = -(2**63)
MAX_TS = 2**63 - 1
# Everything of a series, deleted with it (the series row last).
SERIES_PARTS = (("points", "series_id"), ("point_counts", "series_id"), ("rollups", "series_id"),
                ("device_keys", "series_id"), ("series", "id"))  # fmt: skip
# A series' point count is the sum of its writers' slots (see migration 003).
SERIES_SELECT = series_columns(
    "(SELECT coalesce(sum(n), 0) FROM point_counts c WHERE c.series_id = series.id)::bigint"
)
SERIES_INSERT = (
    'id, owner_id, "desc", device_desc, device_id, created_us, bucket, measurement, tags'
)
# Taken while migrating, so that server processes starting together upgrade the schema once.
MIGRATION_LOCK = 0x7453_4150  # "tsAP"


class PostgresStorage(Storage):
    """Series and points in a PostgreSQL database (or the schema its URL's search_path names)."""

    def __init__(self, conninfo: str, max_queued_writes: int = 10_000) -> None:
        self.conninfo = conninfo
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=READ_CONNECTIONS,
            open=False,
            kwargs={"autocommit": True},
            name="timeseries-readers",
        )
        self._ids = PointIds(self._reserve_ids)
        self._writer = PostgresWriter(conninfo, self._ids, max_queued_writes)
        self._keys: dict[tuple[int, SeriesKey], int] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            async with await psycopg.AsyncConnection.connect(self.conninfo) as conn:
                await migrate(conn)
                await fold_count_slots(conn)
                await fold_rollup_slots(conn)
            await self._pool.open(wait=True, timeout=30)
            await self._writer.start()
        except psycopg.Error as exc:
            raise Unavailable(f"cannot use the PostgreSQL database: {exc}") from exc

    async def close(self) -> None:
        await self._writer.stop()
        await self._pool.close()

    async def _read(self, query: Callable[[Connection], Awaitable[T]]) -> T:
        """Run ``query`` on a pooled (autocommit) connection."""
        try:
            async with self._pool.connection() as conn:
                return await query(conn)
        except psycopg.Error as exc:
            raise unavailable_from_pg(exc) from exc

    async def _fetchone(self, query: str, params: Sequence[Any] = ()) -> Any:
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(query, params)
                return await cursor.fetchone()
        except psycopg.Error as exc:
            raise unavailable_from_pg(exc) from exc

    async def _reserve_ids(self, count: int) -> int:
        row = await self._fetchone(
            "UPDATE id_counters SET last = last + %s WHERE name = 'points' RETURNING last", (count,)
        )
        last: int = row[0]
        return last - count + 1

    # -- series ------------------------------------------------------------------------------

    async def create_series(self, owner_id: int, meta: SeriesMeta, created_us: int) -> int:
        row = await self._fetchone(
            'INSERT INTO series (owner_id, "desc", device_desc, device_id, created_us) '
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (owner_id, meta.desc, meta.device_desc, meta.device_id, created_us),
        )
        series_id: int = row[0]
        return series_id

    async def list_series(self) -> list[SeriesInfo]:
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(f"SELECT {SERIES_SELECT} FROM series ORDER BY id")
                rows = await cursor.fetchall()
        except psycopg.Error as exc:
            raise unavailable_from_pg(exc) from exc
        return [series_from_row(row) for row in rows]

    async def get_series(self, series_id: int) -> SeriesInfo:
        row = await self._fetchone(
            f"SELECT {SERIES_SELECT} FROM series WHERE id = %s", (series_id,)
        )
        if row is None:
            raise NotFound(f"series {series_id} does not exist")
        return series_from_row(row)

    async def delete_series(self, user_id: int, series_id: int) -> None:
        async def delete(conn: Connection, slot: int) -> None:
            # FOR UPDATE: waits for the writers of the series to commit, and they for us.
            await postgres_keys.check_series_owner(conn, user_id, series_id, "delete", "UPDATE")
            for table, column in SERIES_PARTS:
                await conn.execute(f"DELETE FROM {table} WHERE {column} = %s", (series_id,))

        await self._writer.submit(delete)

    async def update_series(
        self, user_id: int, series_id: int, changes: SeriesChanges
    ) -> SeriesInfo:
        columns = {
            "desc": changes.desc, "device_desc": changes.device_desc,
            "device_id": changes.device_id,
        }  # fmt: skip
        given = {name: value for name, value in columns.items() if value is not None}

        async def update(conn: Connection, slot: int) -> SeriesInfo:
            await postgres_keys.check_series_owner(conn, user_id, series_id, "edit")
            if given:
                assignments = ", ".join(f'"{name}" = %s' for name in given)
                await conn.execute(
                    f"UPDATE series SET {assignments} WHERE id = %s", (*given.values(), series_id)
                )
            cursor = await conn.execute(
                f"SELECT {SERIES_SELECT} FROM series WHERE id = %s", (series_id,)
            )
            return series_from_row(await cursor.fetchone())  # type: ignore[arg-type]

        info: SeriesInfo = await self._writer.submit(update)
        return info

    async def points_text(
        self, series_id: int, points: PointRange, text: PointText
    ) -> AsyncIterator[bytes]:
        if text.csv_columns is not None:
            may_be_text = await self._read(
                lambda c: postgres_reads.fields_with_non_numbers(c, series_id)
            )
            row = postgres_reads.csv_line(text.csv_columns, may_be_text)
        elif points.fields:
            row = postgres_reads.document_with_fields(points.fields)
        else:
            row = postgres_reads.DOCUMENT

        def read_after(after: PointKey | None) -> Awaitable[Chunk]:
            return self._read(
                lambda c: postgres_reads.points_chunk(
                    c, series_id, points, after, row, text.separator, CHUNK_POINTS
                )
            )

        async with aclosing(stream_chunks(read_after, points.after)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def page_end(self, series_id: int, points: PointRange, limit: int) -> PointKey | None:
        return await self._read(
            lambda c: postgres_reads.nth_key(c, series_id, points, points.after, limit)
        )

    async def latest_point_json(self, series_id: int) -> str | None:
        return await self._read(lambda c: postgres_reads.latest_document(c, series_id))

    async def count_series_points(
        self, series_id: int, start_us: int | None, end_us: int | None
    ) -> int:
        if start_us is None and end_us is None:
            return (await self.get_series(series_id)).count
        start = MIN_TS if start_us is None else start_us
        end = MAX_TS if end_us is None else end_us
        return await self._read(lambda c: postgres_reads.count_in_range(c, series_id, start, end))

    async def series_fields(self, series_id: int) -> list[FieldInfo]:
        return await self._read(lambda c: postgres_reads.field_infos(c, series_id))

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

        async def query(c: Connection) -> dict[tuple[int, str], FieldSummary]:
            found: dict[tuple[int, str], FieldSummary] = {}
            if hours is not None:
                every_h, offset_h = every_us // HOUR_US, offset_us // HOUR_US
                found = await postgres_reads.rollup_summaries(
                    c, series_id, every_h, offset_h, hours, fields, ends
                )
            for edge in edges:
                part = await postgres_reads.point_summaries(
                    c, series_id, every_us, offset_us, edge, fields, ends
                )
                merge_all(found, part.items())
            return found

        return await self._read(query)

    # -- points ------------------------------------------------------------------------------

    async def write_points(self, writes: Sequence[SeriesWrite]) -> list[list[int]]:
        prepared = await prepare_writes(writes, self._series_for_key, self._ids)
        texts = [copy_text(ready.params) for ready in prepared]
        outcome: tuple[list[list[int]], list[int]]
        outcome = await self._writer.submit(CopyPointWrite(prepared, texts))
        ids, written_to = outcome
        for write, series_id in zip(writes, written_to, strict=True):
            if write.key is not None:  # learn the series the writer found or created
                self._keys[write.user_id, write.key] = series_id
        return ids

    async def _series_for_key(self, write: SeriesWrite) -> int | None:
        """The id of the series a key names, if it exists (the writer re-checks it)."""
        assert write.key is not None
        cache_key = (write.user_id, write.key)
        if cache_key not in self._keys:
            if len(self._keys) > MAX_CACHED_KEYS:
                self._keys.clear()
            key = write.key
            row = await self._fetchone(
                "SELECT id FROM series WHERE owner_id = %s AND bucket = %s AND measurement = %s "
                "AND tags = %s",
                (write.user_id, key.bucket, key.measurement, key.tags_json()),
            )
            if row is None:
                return None
            self._keys[cache_key] = row[0]
        return self._keys[cache_key]

    async def get_point_json(self, point_id: int) -> str:
        row = await self._fetchone("SELECT doc FROM points WHERE id = %s", (point_id,))
        if row is None:
            raise NotFound(f"point {point_id} does not exist")
        doc: str = row[0]
        return doc

    async def delete_point(self, user_id: int, point_id: int) -> None:
        async def delete(conn: Connection, slot: int) -> None:
            cursor = await conn.execute(
                "SELECT series_id, ts FROM points WHERE id = %s", (point_id,)
            )
            row = await cursor.fetchone()
            if row is None:
                raise NotFound(f"point {point_id} does not exist")
            # FOR UPDATE: writers of the series commit first and wait for us, so the hour's
            # summary is recomputed from every point and no writer's slot is left beside it.
            await postgres_keys.check_series_owner(
                conn, user_id, row[0], "delete points of", "UPDATE"
            )
            cursor = await conn.execute("DELETE FROM points WHERE id = %s", (point_id,))
            if cursor.rowcount:  # not deleted meanwhile by another server
                await add_to_counts(conn, slot, {row[0]: -1})
                await recompute_hour(conn, slot, row[0], row[1] // HOUR_US)

        await self._writer.submit(delete)

    async def count_points(self) -> int:
        row = await self._fetchone("SELECT coalesce(sum(n), 0)::bigint FROM point_counts")
        count: int = row[0]
        return count

    async def last_points_json(
        self, series_id: int, count: int, start_us: int | None, end_us: int | None
    ) -> list[str]:
        start = MIN_TS if start_us is None else start_us
        end = MAX_TS if end_us is None else end_us
        return await self._read(
            lambda c: postgres_keys.select_last_points(c, series_id, count, start, end)
        )

    # -- device keys and ThingSpeak field names ----------------------------------------------

    async def create_device_key(
        self, user_id: int, series_id: int, kind: str, digest: str, label: str, created_us: int
    ) -> DeviceKey:
        return await self._writer.submit(
            lambda c, _: postgres_keys.insert_key(
                c, user_id, series_id, kind, digest, label, created_us
            )
        )

    async def list_device_keys(self, user_id: int, series_id: int) -> list[DeviceKey]:
        return await self._read(lambda c: postgres_keys.select_keys(c, user_id, series_id))

    async def revoke_device_key(self, user_id: int, series_id: int, key_id: int) -> None:
        await self._writer.submit(
            lambda c, _: postgres_keys.delete_key(c, user_id, series_id, key_id)
        )

    async def find_device_key(self, digest: str) -> DeviceKey | None:
        return await self._read(lambda c: postgres_keys.select_key(c, digest))

    async def series_field_names(self, series_id: int) -> dict[int, str]:
        return await self._read(lambda c: postgres_keys.select_field_names(c, series_id))

    async def set_series_field_names(
        self, user_id: int, series_id: int, names: dict[int, str]
    ) -> None:
        await self._writer.submit(
            lambda c, _: postgres_keys.update_field_names(c, user_id, series_id, names)
        )

    # -- copying between databases ------------------------------------------------------------

    async def export_points(self, after_id: int, limit: int) -> list[PointRow]:
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(
                    "SELECT id, series_id, ts, doc FROM points WHERE id > %s ORDER BY id LIMIT %s",
                    (after_id, limit),
                )
                return await cursor.fetchall()
        except psycopg.Error as exc:
            raise unavailable_from_pg(exc) from exc

    async def import_series(self, series: Sequence[SeriesInfo]) -> None:
        rows = [
            (s.id, s.owner_id, s.desc, s.device_desc, s.device_id, s.created_us,
             s.key and s.key.bucket, s.key and s.key.measurement, s.key and s.key.tags_json())
            for s in series
        ]  # fmt: skip

        async def insert(conn: Connection, slot: int) -> None:
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    f"INSERT INTO series ({SERIES_INSERT}) VALUES ({', '.join(['%s'] * 9)}) "
                    "ON CONFLICT (id) DO NOTHING",
                    rows,
                )

        await self._writer.submit(insert)

    async def import_points(self, rows: Sequence[PointRow]) -> None:
        columns = tuple(list(column) for column in zip(*rows, strict=True)) if rows else ()

        async def insert(conn: Connection, slot: int) -> None:
            await conn.execute(
                "INSERT INTO points (id, series_id, ts, doc) SELECT * FROM "
                "unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[]) "
                "ON CONFLICT (id) DO NOTHING",
                columns,
            )

        if rows:
            await self._writer.submit(insert)

    async def export_device_keys(self) -> list[KeyRow]:
        async def select(conn: Connection) -> list[KeyRow]:
            cursor = await conn.execute(f"SELECT {KEY_ROW_COLUMNS} FROM device_keys ORDER BY id")
            return await cursor.fetchall()

        return await self._read(select)

    async def import_device_keys(self, rows: Sequence[KeyRow]) -> None:
        async def insert(conn: Connection, slot: int) -> None:
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    f"INSERT INTO device_keys ({KEY_ROW_COLUMNS}) VALUES "
                    f"({', '.join(['%s'] * 6)}) ON CONFLICT (id) DO NOTHING",
                    rows,
                )

        await self._writer.submit(insert)

    async def id_high_water(self) -> dict[str, int]:
        async def select(conn: Connection) -> dict[str, int]:
            last = "coalesce(pg_sequence_last_value(pg_get_serial_sequence('{}', 'id')), 0)"
            cursor = await conn.execute(
                f"SELECT {last.format('series')}, "
                "(SELECT last FROM id_counters WHERE name = 'points'), "
                f"{last.format('device_keys')}"
            )
            row = await cursor.fetchone()
            assert row is not None
            return dict(zip(ID_TABLES, row, strict=True))

        return await self._read(select)

    async def finish_import(self, high_water: dict[str, int]) -> None:
        async def finish(conn: Connection, slot: int) -> None:
            await conn.execute("DELETE FROM point_counts")
            await conn.execute(
                "INSERT INTO point_counts (series_id, slot, n) "
                "SELECT series_id, 0, count(*) FROM points GROUP BY series_id"
            )
            await rebuild_rollups(conn)
            for table in ("series", "device_keys"):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), greatest("
                    f"(SELECT max(id) FROM {table}), %s, "
                    f"pg_sequence_last_value(pg_get_serial_sequence('{table}', 'id')), 0) + 1, "
                    "false)",
                    (high_water.get(table, 0),),
                )
            await conn.execute(
                "UPDATE id_counters SET last = greatest(last, %s, "
                "(SELECT coalesce(max(id), 0) FROM points)) WHERE name = 'points'",
                (high_water.get("points", 0),),
            )

        await self._writer.submit(finish)


async def fold_count_slots(conn: Connection) -> None:
    """Fold the count slots of writers that are gone into slot 0, so slots do not pile up."""
    async with conn.transaction():
        await conn.execute(
            "WITH gone AS (DELETE FROM point_counts WHERE slot <> 0 AND slot NOT IN "
            "(SELECT pid FROM pg_stat_activity) RETURNING series_id, n) "
            "INSERT INTO point_counts (series_id, slot, n) "
            "SELECT series_id, 0, sum(n) FROM gone GROUP BY series_id "
            "ON CONFLICT (series_id, slot) DO UPDATE SET n = point_counts.n + excluded.n"
        )


async def migrate(conn: Connection) -> None:
    """Bring the schema to the newest version; safe when several processes start at once."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        cursor = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
        row = await cursor.fetchone()
        current = row[0] if row else 0
        for version, name, sql in migrations("postgres"):
            if version <= current:
                continue
            await conn.execute(sql.encode())
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
            )
            log.info("database upgraded to version %d (%s)", version, name)
