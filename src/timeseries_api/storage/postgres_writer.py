"""Group commit on PostgreSQL: the writes of one process share transactions.

Every point write locks its series row (its point count changes), so one transaction per request
would make concurrent writers of one series wait for each other's commit, one at a time. Instead
a task on the event loop takes every write that was queued while the previous transaction was
committing and runs them all in one transaction on its own connection, as the SQLite writer
does. Server processes on other machines do the same; they meet on row locks, taken in id
order, and a deadlock or serialization failure simply runs the batch again.

Contract for operations, as on SQLite: raise a domain error only before changing anything; any
other failure rolls the whole batch back and every request in it gets the error.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors

from ..domain import FieldSummary, SeriesKey
from ..errors import BadInput, TimeseriesError, Unavailable
from ..timeparse import now_us
from .base import series_meta_for_key
from .group_commit import MAX_OPERATIONS_PER_COMMIT, Outcome
from .postgres_points import CopyPointWrite, copy_text, small_batch, write_small_batch
from .postgres_rollups import add_to_rollups
from .rollups import merge_all
from .sqlite_points import PointIds, PreparedWrite, check_writes, point_rows

log = logging.getLogger(__name__)

T = TypeVar("T")
Connection = psycopg.AsyncConnection[Any]
RETRIES = 5


# A plain operation gets the connection and the writer's count slot (see add_to_counts).
Operation = Callable[[Connection, int], Awaitable[Any]] | CopyPointWrite


def unavailable_from_pg(exc: psycopg.Error) -> Unavailable:
    """Turn a PostgreSQL failure into a 503 a person can act on."""
    if isinstance(exc, pg_errors.DiskFull):
        return Unavailable("the database server's disk is full: writes are refused")
    if isinstance(exc, pg_errors.ReadOnlySqlTransaction):
        return Unavailable("the database is read-only (a standby?): writes are refused")
    if isinstance(exc, psycopg.OperationalError):
        return Unavailable("the database server cannot be reached; retry shortly")
    return Unavailable(f"the database refused the write ({exc.sqlstate}); retry shortly")


class PostgresWriter:
    """The group-commit writer of one process."""

    def __init__(self, conninfo: str, ids: PointIds, max_queued: int = 10_000) -> None:
        self._conninfo = conninfo
        self._ids = ids
        self._max_queued = max_queued
        self._queue: deque[tuple[Operation, asyncio.Future[Any]]] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._conn: Connection | None = None
        self._slot = 0
        self._stopping = False

    async def start(self) -> None:
        """Connect and start taking writes."""
        await self._connection()
        self._wakeup = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="postgres-writer")

    async def stop(self) -> None:
        """Finish every queued write, then close the connection."""
        self._stopping = True
        if self._task is not None and self._wakeup is not None:
            self._wakeup.set()
            await self._task
        if self._conn is not None:
            await self._conn.close()

    async def submit(
        self, operation: Callable[[Connection, int], Awaitable[T]] | CopyPointWrite
    ) -> T:
        """Run ``operation`` in the next shared transaction; return once it is committed."""
        if self._stopping or self._wakeup is None:
            raise Unavailable("the server is shutting down; retry shortly")
        if len(self._queue) >= self._max_queued:
            raise Unavailable("the server is busy with other writes; retry in a second")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((operation, future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch = [
                    self._queue.popleft()
                    for _ in range(min(len(self._queue), MAX_OPERATIONS_PER_COMMIT))
                ]
                outcomes = await self._execute([operation for operation, _ in batch])
                for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():  # the client went away; the write stands
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
            if self._stopping:
                return

    async def _execute(self, operations: list[Operation]) -> list[Outcome]:
        small = small_batch(operations)
        for attempt in range(RETRIES):
            try:
                conn = await self._connection()
                if small and (done := await write_small_batch(conn, small, self._slot)):
                    return done
                async with conn.transaction():
                    return await _run_operations(conn, operations, self._ids, self._slot)
            except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure):
                log.info("write batch met another server's writes; running it again")
                await asyncio.sleep(0.01 * (attempt + 1))
            except psycopg.Error as exc:
                log.error("write transaction of %d operations failed: %s", len(operations), exc)
                return [(False, unavailable_from_pg(exc))] * len(operations)
            except Exception as exc:
                log.exception("write operation failed; rolled back its batch")
                return [(False, exc)] * len(operations)
        unavailable = Unavailable("the database stayed busy with other servers' writes; retry")
        return [(False, unavailable)] * len(operations)

    async def _connection(self) -> Connection:
        """The writer's connection, opened again after the server dropped it."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                await self._conn.close()
            # Autocommit: a small batch is one statement, with no BEGIN and COMMIT round trips;
            # everything else runs in a transaction block of its own.
            self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            # The backend pid is unique among live connections: this writer's count slot.
            self._slot = self._conn.info.backend_pid
        return self._conn


async def _run_operations(
    conn: Connection, operations: list[Operation], ids: PointIds, slot: int
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    start = 0
    while start < len(operations):
        operation = operations[start]
        if isinstance(operation, CopyPointWrite):
            end = start + 1
            while end < len(operations) and isinstance(operations[end], CopyPointWrite):
                end += 1
            outcomes += await write_points(conn, operations[start:end], ids, slot)  # type: ignore[arg-type]
            start = end
            continue
        try:
            # A savepoint each: a value the database refuses fails this request, not the batch.
            async with conn.transaction():
                outcomes.append((True, await operation(conn, slot)))
        except TimeseriesError as refused:
            outcomes.append((False, refused))
        except psycopg.DataError as exc:
            reason = exc.diag.message_primary or exc.sqlstate
            outcomes.append((False, BadInput(f"the database refused a value: {reason}")))
        start += 1
    return outcomes


COUNTS_ADD = (
    "INSERT INTO point_counts (series_id, slot, n) "
    "SELECT d.id, %s, d.n FROM unnest(%s::bigint[], %s::bigint[]) AS d(id, n) "
    "ON CONFLICT (series_id, slot) DO UPDATE SET n = point_counts.n + excluded.n"
)


async def add_to_counts(conn: Connection, slot: int, added: dict[int, int]) -> None:
    """Add to the point counts of series, in this writer's own rows (no other writer waits)."""
    if any(added.values()):
        await conn.execute(COUNTS_ADD, (slot, list(added), list(added.values())))


async def _owners(conn: Connection, series_ids: list[int]) -> dict[int, int]:
    """The owner of each series that exists.

    FOR KEY SHARE: writers of one series do not wait for each other, but a delete of the series
    waits for them to commit (and they for it), so no point is ever left without its series.
    """
    cursor = await conn.execute(
        "SELECT id, owner_id FROM series WHERE id = ANY(%s) FOR KEY SHARE", (series_ids,)
    )
    return dict(await cursor.fetchall())


async def write_points(
    conn: Connection, operations: Sequence[CopyPointWrite], ids: PointIds, slot: int
) -> list[Outcome]:
    """The points of many requests in one COPY; each request checked on its own first.

    A request's outcome is its point ids and its series ids, one list of each per write.
    """
    named = sorted({w.series_id for op in operations for w in op.writes if w.series_id})
    owners = await _owners(conn, named) if named else {}
    added: dict[int, int] = {}
    # Merged here (PostgreSQL refuses to update a row twice in one statement), into copies: a
    # batch that meets a deadlock runs again from the same writes.
    summaries: dict[tuple[int, str, int], FieldSummary] = {}
    texts: list[str] = []
    outcomes: list[Outcome] = []
    created: dict[tuple[int, SeriesKey], int] = {}
    for operation in operations:
        try:
            check_writes(operation, owners)
        except TimeseriesError as refused:
            outcomes.append((False, refused))
            continue
        point_ids, series_ids = [], []
        for write, text in zip(operation.writes, operation.copy_texts, strict=True):
            if write.series_id is not None and write.series_id in owners:
                series_id, write_ids = write.series_id, write.ids
                texts.append(text)
            else:  # a key that names no series yet, or one deleted meanwhile
                series_id = await _series_for_key(conn, created, write)
                write_ids, params = await _render(write, series_id, ids)
                texts.append(copy_text(params))
            point_ids.append(write_ids)
            series_ids.append(series_id)
            added[series_id] = added.get(series_id, 0) + len(write_ids)
            merge_all(
                summaries,
                (((series_id, f, h), replace(s)) for (f, h), s in write.summaries.items()),
            )
        outcomes.append((True, (point_ids, series_ids)))
    await add_to_counts(conn, slot, added)
    await add_to_rollups(conn, slot, summaries)
    if texts:
        async with conn.cursor().copy("COPY points (id, series_id, ts, doc) FROM STDIN") as copy:
            await copy.write("".join(texts))
    return outcomes


async def _render(
    write: PreparedWrite, series_id: int, ids: PointIds
) -> tuple[list[int], list[Any]]:
    """Ids and rows for a write whose series was only found in the transaction."""
    first = await ids.take(len(write.times))
    point_ids = list(range(first, first + len(write.times)))
    return point_ids, point_rows(point_ids, series_id, write.times, write.fields)


async def _series_for_key(
    conn: Connection, created: dict[tuple[int, SeriesKey], int], write: PreparedWrite
) -> int:
    """The user's series with this key, created (and locked) if there is none."""
    assert write.key is not None
    key = write.key
    if (write.user_id, key) in created:
        return created[write.user_id, key]
    meta = series_meta_for_key(key)
    cursor = await conn.execute(
        'INSERT INTO series (owner_id, "desc", device_desc, device_id, created_us, bucket, '
        "measurement, tags) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (owner_id, bucket, measurement, tags) WHERE measurement IS NOT NULL "
        "DO NOTHING RETURNING id",
        (write.user_id, meta.desc, meta.device_desc, meta.device_id, now_us(), key.bucket,
         key.measurement, key.tags_json()),
    )  # fmt: skip
    row = await cursor.fetchone()
    if row is None:  # created by another server meanwhile
        cursor = await conn.execute(
            "SELECT id FROM series WHERE owner_id = %s AND bucket = %s AND measurement = %s "
            "AND tags = %s FOR KEY SHARE",
            (write.user_id, key.bucket, key.measurement, key.tags_json()),
        )
        row = await cursor.fetchone()
        assert row is not None
    series_id: int = row[0]
    created[write.user_id, key] = series_id
    return series_id
