"""The one storage interface. The HTTP layer calls these methods and writes no SQL."""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson

from ..domain import (
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
from ..errors import BadInput, Forbidden, NotFound

# Ids are SQL BIGINTs on both backends; anything larger cannot exist.
MAX_ID = 2**63 - 1


class Storage(ABC):
    """A place for series and points. Every write is durable before the method returns.

    Methods that act for a user take its id and raise ``NotFound`` or ``Forbidden`` themselves,
    inside the same transaction as the change, so a check and its write cannot race.
    """

    @abstractmethod
    async def open(self) -> None:
        """Connect, create or upgrade the schema, start background writers."""

    @abstractmethod
    async def close(self) -> None:
        """Finish pending writes and release connections."""

    @abstractmethod
    async def create_series(self, owner_id: int, meta: SeriesMeta, created_us: int) -> int:
        """Create a series owned by ``owner_id`` and return its new id."""

    @abstractmethod
    async def list_series(self) -> list[SeriesInfo]:
        """Every series, by id, with its point count."""

    @abstractmethod
    async def get_series(self, series_id: int) -> SeriesInfo:
        """One series; ``NotFound`` if it does not exist."""

    @abstractmethod
    async def delete_series(self, user_id: int, series_id: int) -> None:
        """Delete a series and all its points atomically."""

    @abstractmethod
    async def update_series(
        self, user_id: int, series_id: int, changes: SeriesChanges
    ) -> SeriesInfo:
        """Change a series' description or device of a series the user owns; return it."""

    def series_points_json(
        self, series_id: int, start_us: int | None, end_us: int | None
    ) -> AsyncIterator[bytes]:
        """The series' point documents in time order, as comma-separated JSON chunks."""
        return self.points_text(series_id, PointRange(start_us, end_us), PointText())

    @abstractmethod
    def points_text(
        self, series_id: int, points: PointRange, text: PointText
    ) -> AsyncIterator[bytes]:
        """The points of a range as text, in chunks of whole rows joined by the separator
        (add one between chunks). Chunks are bounded, so any range streams in constant memory.
        """

    @abstractmethod
    async def page_end(self, series_id: int, points: PointRange, limit: int) -> PointKey | None:
        """The key of the ``limit``-th point of the range (after its cursor), None if the range
        holds fewer: a page of ``limit`` points ends there and the next one starts after it."""

    @abstractmethod
    async def latest_point_json(self, series_id: int) -> str | None:
        """The document of the series' latest point, None if it has none."""

    @abstractmethod
    async def count_series_points(
        self, series_id: int, start_us: int | None, end_us: int | None
    ) -> int:
        """The number of points of one series, from ``start_us`` to ``end_us`` inclusive."""

    @abstractmethod
    async def series_fields(self, series_id: int) -> list[FieldInfo]:
        """Every field of the series' points, by name."""

    @abstractmethod
    async def aggregate(
        self,
        series_id: int,
        every_us: int,
        offset_us: int,
        span: tuple[int | None, int | None],
        fields: tuple[str, ...] | None,
        ends: bool = True,
    ) -> dict[tuple[int, str], FieldSummary]:
        """Summaries of each field per time bucket, keyed by (bucket start, field); without
        ``ends`` their first and last values may be left out.

        Buckets are ``every_us`` long and start where ``time + offset_us`` is a multiple of
        ``every_us`` (so day buckets start at the offset's midnight). ``span`` is inclusive.
        """

    @abstractmethod
    async def write_points(self, writes: Sequence[SeriesWrite]) -> list[list[int]]:
        """Append points to series their users own, all in one transaction: if any series is
        missing (``NotFound``) or not the user's (``Forbidden``), nothing is written.

        Returns the new point ids, one list per write, in order.
        """

    @abstractmethod
    async def get_point_json(self, point_id: int) -> str:
        """One point's document; ``NotFound`` if it does not exist."""

    @abstractmethod
    async def delete_point(self, user_id: int, point_id: int) -> None:
        """Delete one point of a series the user owns."""

    @abstractmethod
    async def count_points(self) -> int:
        """The number of points in all series."""


SERIES_COLUMNS = (
    'id, owner_id, "desc", device_desc, device_id, created_us, point_count, bucket, measurement, '
    "tags"
)


def series_from_row(row: Sequence[Any]) -> SeriesInfo:
    """A ``SeriesInfo`` from a row of ``SERIES_COLUMNS``, on either backend."""
    series_id, owner_id, desc, device_desc, device_id, created_us, count = row[:7]
    bucket, measurement, tags = row[7:]
    key = None
    if measurement is not None:
        key = SeriesKey(bucket, measurement, tuple(sorted(orjson.loads(tags).items())))
    return SeriesInfo(series_id, owner_id, desc, device_desc, device_id, created_us, count, key)


def check_owner(owner_id: int | None, user_id: int, series_id: int, action: str) -> None:
    """Refuse unless the series exists and belongs to the user."""
    if owner_id is None:
        raise NotFound(f"series {series_id} does not exist")
    if owner_id != user_id:
        raise Forbidden(f"series {series_id} belongs to another user: you cannot {action} it")


DEVICE_TAGS = ("device_id", "device", "host", "mac")


def series_meta_for_key(key: SeriesKey) -> SeriesMeta:
    """The seed metadata of a series that line protocol creates: its name as ``desc``, and the
    first of its tags that names a device as ``device_id``."""
    tags = dict(key.tags)
    device = next((tags[t] for t in DEVICE_TAGS if t in tags), "")
    return SeriesMeta(
        desc=key.describe()[:1000], device_desc="line protocol", device_id=device[:200]
    )


def parse_database_url(url: str) -> tuple[str, str]:
    """Split a database URL into (backend, target): a SQLite path or a PostgreSQL conninfo."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not path:
            raise BadInput("sqlite URL needs a path: sqlite:///relative.sqlite or sqlite:////abs")
        return "sqlite", path
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql", url
    raise BadInput(
        f"unsupported database URL {url!r}: use sqlite:///path/to/file.sqlite or "
        "postgresql://user@host/dbname"
    )


def open_storage(
    url: str, *, sqlite_synchronous: str = "full", max_queued_writes: int = 10_000
) -> Storage:
    """Build (not yet open) the storage backend named by a database URL."""
    backend, target = parse_database_url(url)
    if backend == "sqlite":
        from .sqlite import SQLiteStorage

        return SQLiteStorage(
            target, synchronous=sqlite_synchronous, max_queued_writes=max_queued_writes
        )
    raise BadInput("PostgreSQL is not supported by this version yet; use a sqlite:/// URL")
