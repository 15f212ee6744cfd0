"""All writes through one thread fed by a queue, so concurrent requests share one commit.

A commit with ``synchronous=FULL`` costs one fsync; sharing it between every request that arrived
while the previous one was on disk is what lets a durable write path take thousands of
single-point requests per second.

Contract for operations: raise a domain error (``TimeseriesError``: unknown series, wrong owner)
only *before* changing anything, so a refused request leaves its neighbours' work intact without
the cost of a savepoint per request. Any other failure rolls the whole batch back and every
request in it gets the error: nothing is ever half-written.
"""

import asyncio
import fcntl
import logging
import os
import queue
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

from ..errors import TimeseriesError, Unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_OPERATIONS_PER_COMMIT = 1000


@dataclass
class Transaction:
    """What an operation sees: the write connection, inside an open transaction."""

    conn: sqlite3.Connection
    _next_point_id: int | None = field(default=None, repr=False)

    def allocate_point_ids(self, count: int) -> int:
        """Reserve ``count`` consecutive point ids and return the first.

        Ids are assigned here rather than by SQLite so that a point's JSON document, which holds
        its id, can be written in the same INSERT. This is safe because the transaction holds
        SQLite's write lock (BEGIN IMMEDIATE), and AUTOINCREMENT's sqlite_sequence makes sure no
        id is ever handed out twice, even after deletes.
        """
        if self._next_point_id is None:
            row = self.conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'points'"
            ).fetchone()
            self._next_point_id = (row[0] if row else 0) + 1
        first = self._next_point_id
        self._next_point_id += count
        return first


Outcome = tuple[bool, Any]  # (True, result) or (False, the exception to raise)


class BatchedOperation(ABC):
    """An operation that runs cheaper together with its queued neighbours of the same class.

    Each SQLite call releases and retakes the GIL, and retaking it waits for the event loop
    thread; running a run of single-point writes as one INSERT instead of one each is what keeps
    the writer thread from being the bottleneck.
    """

    @classmethod
    @abstractmethod
    def run_many(cls, tx: Transaction, operations: list[Self]) -> list[Outcome]:
        """Run ``operations`` in order; same contract as a single operation, per operation."""


Operation = Callable[[Transaction], Any] | BatchedOperation
_Item = tuple[Operation, "asyncio.Future[Any]", asyncio.AbstractEventLoop]
_STOP = object()


def unavailable_from(exc: sqlite3.Error) -> TimeseriesError:
    """Turn a SQLite failure of the write path into a 503 a person can act on."""
    text = str(exc)
    if "full" in text:
        return Unavailable("the database disk is full: writes are refused until space is freed")
    if "readonly" in text or "read-only" in text:
        return Unavailable("the database is read-only: writes are refused, reads still work")
    if "locked" in text or "busy" in text:
        return Unavailable("the database stayed locked by another process; retry shortly")
    return Unavailable(f"the database refused the write ({text}); retry shortly")


class WriteThread:
    """The single writer of one process."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        lock_path: str | None = None,
        max_queued: int = 10_000,
    ) -> None:
        self._connect = connect
        self._lock_path = lock_path
        self._max_queued = max_queued
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._refusal: TimeseriesError | None = None

    def start(self) -> None:
        """Start the thread and wait until its connection is open."""
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def refuse(self, reason: TimeseriesError) -> None:
        """Never start: every write is answered ``reason`` (a database on read-only media)."""
        self._refusal = reason

    def stop(self) -> None:
        """Finish every queued operation, then stop."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    async def submit(self, operation: Callable[[Transaction], T] | BatchedOperation) -> T:
        """Run ``operation`` in the next shared transaction; return once it is committed."""
        if self._refusal is not None:
            raise self._refusal
        if not self._thread.is_alive():
            raise Unavailable("the server is shutting down; retry shortly")
        if self._queue.qsize() >= self._max_queued:
            # Past its capacity the server says so at once (503 + Retry-After, which device
            # libraries honour) rather than queueing without bound.
            raise Unavailable("the server is busy with other writes; retry in a second")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((operation, future, loop))
        return await future

    def _run(self) -> None:
        try:
            conn = self._connect()
            lock_fd = (
                os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600) if self._lock_path else None
            )
        except BaseException as exc:  # reported to start()
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch: list[_Item] = [first]  # type: ignore[list-item]
            while len(batch) < MAX_OPERATIONS_PER_COMMIT:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            _deliver(batch, _execute_locked(conn, batch, lock_fd))
        conn.close()
        if lock_fd is not None:
            os.close(lock_fd)


def _execute_locked(
    conn: sqlite3.Connection, batch: list[_Item], lock_fd: int | None
) -> list[Outcome]:
    """Run a batch holding the cross-process writer lock.

    Several server processes on one file would otherwise meet on SQLite's busy handler, which
    polls with sleeps of up to 100 ms and lets one process starve another. A blocking flock
    queues them in the kernel instead, and the waiting process's batch keeps growing meanwhile.
    """
    if lock_fd is None:
        return _execute(conn, batch)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    try:
        return _execute(conn, batch)
    finally:
        fcntl.flock(lock_fd, fcntl.LOCK_UN)


def _execute(conn: sqlite3.Connection, batch: list[_Item]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    try:
        conn.execute("BEGIN IMMEDIATE")
        tx = Transaction(conn)
        operations = [operation for operation, _, _ in batch]
        start = 0
        while start < len(operations):
            operation = operations[start]
            if isinstance(operation, BatchedOperation):
                end = start + 1
                while end < len(operations) and type(operations[end]) is type(operation):
                    end += 1
                outcomes += type(operation).run_many(tx, operations[start:end])  # type: ignore[arg-type]
                start = end
                continue
            try:
                outcomes.append((True, operation(tx)))
            except TimeseriesError as refused:  # raised before any change, by contract
                outcomes.append((False, refused))
            start += 1
        conn.execute("COMMIT")
    except Exception as exc:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.exception("rollback failed")
        if isinstance(exc, sqlite3.Error):
            log.error("write transaction of %d operations failed: %s", len(batch), exc)
            error: Exception = unavailable_from(exc)
        else:
            log.exception("write operation failed; rolled back its batch")
            error = exc
        return [(False, error)] * len(batch)
    return outcomes


def _deliver(batch: list[_Item], outcomes: list[Outcome]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for (_, future, loop), (ok, value) in zip(batch, outcomes, strict=True):
        by_loop.setdefault(loop, []).append((future, ok, value))
    for loop, results in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, results)
        except RuntimeError:  # the loop closed while we wrote; nobody is waiting
            pass


def _resolve(results: list[tuple["asyncio.Future[Any]", bool, Any]]) -> None:
    for future, ok, value in results:
        if future.done():  # the client went away; the write stands
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
