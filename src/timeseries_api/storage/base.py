"""The one storage interface. The HTTP layer calls these methods and writes no SQL."""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson

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
from ..errors import BadInput, Forbidden, NotFound

# A stored point as it is copied between databases: (id, series_id, ts_us, document).
PointRow = tuple[int, int, int, str]

# A device key as it is copied: (id, series_id, kind, digest, label, created_us).
KeyRow = tuple[int, int, str, str, str, int]
KEY_ROW_COLUMNS = "id, series_id, kind, digest, label, created_us"
# Tables whose ids are never reused, even across a migrate.
ID_TABLES = ("series", "points", "device_keys")

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

    # -- copying between databases (``timeseries-api migrate``) ---------------------------------

    @abstractmethod
    async def export_points(self, after_id: int, limit: int) -> list[PointRow]:
        """Up to ``limit`` stored points with ids above ``after_id``, by id."""

    @abstractmethod
    async def import_series(self, series: Sequence[SeriesInfo]) -> None:
        """Store series with their ids, owners and times as they are; existing ids are kept."""

    @abstractmethod
    async def import_points(self, rows: Sequence[PointRow]) -> None:
        """Store points with their ids as they are, in one transaction; existing ids are kept."""

    @abstractmethod
    async def export_device_keys(self) -> list[KeyRow]:
        """Every device key as stored (its digest, never the key itself)."""

    @abstractmethod
    async def import_device_keys(self, rows: Sequence[KeyRow]) -> None:
        """Store device keys with their ids as they are; existing ids are kept."""

    @abstractmethod
    async def id_high_water(self) -> dict[str, int]:
        """The largest id ever handed out per table (``ID_TABLES``), deleted ones included."""

    @abstractmethod
    async def finish_import(self, high_water: dict[str, int]) -> None:
        """Recount every series and move the id counters past every imported id and past
        ``high_water`` (the source's), so no id the source ever handed out is used again."""

    @abstractmethod
    async def last_points_json(
        self, series_id: int, count: int, start_us: int | None, end_us: int | None
    ) -> list[str]:
        """The documents of the series' last ``count`` points from ``start_us`` to ``end_us``
        (inclusive), in time order."""

    # -- device keys and ThingSpeak field names (see keys.py and api/thingspeak.py) -----------

    @abstractmethod
    async def create_device_key(
        self, user_id: int, series_id: int, kind: str, digest: str, label: str, created_us: int
    ) -> DeviceKey:
        """Store a key of ``kind`` (write or read) for a series the user owns, by its digest."""

    @abstractmethod
    async def list_device_keys(self, user_id: int, series_id: int) -> list[DeviceKey]:
        """The keys of a series the user owns, oldest first."""

    @abstractmethod
    async def revoke_device_key(self, user_id: int, series_id: int, key_id: int) -> None:
        """Delete one key of a series the user owns; ``NotFound`` if it is not that series'."""

    @abstractmethod
    async def find_device_key(self, digest: str) -> DeviceKey | None:
        """The key with this digest, if it exists (looked up on every use: no cache, so a
        revocation holds at once in every process)."""

    @abstractmethod
    async def series_field_names(self, series_id: int) -> dict[int, str]:
        """The series' ThingSpeak field names, ``{1: "temp_C"}``; ``NotFound`` if no series."""

    @abstractmethod
    async def set_series_field_names(
        self, user_id: int, series_id: int, names: dict[int, str]
    ) -> None:
        """Replace the ThingSpeak field names of a series the user owns."""


def series_columns(count: str = "point_count") -> str:
    """The columns ``series_from_row`` reads, with the point count read by ``count``."""
    return f'id, owner_id, "desc", device_desc, device_id, created_us, {count}, bucket, ' + (
        "measurement, tags"
    )


SERIES_COLUMNS = series_columns()


def series_from_row(row: Sequence[Any]) -> SeriesInfo:
    """A ``SeriesInfo`` from a row of ``SERIES_COLUMNS``, on either backend."""
    series_id, owner_id, desc, device_desc, device_id, created_us, count = row[:7]
    bucket, measurement, tags = row[7:]
    key = None
    if measurement is not None:
        key = SeriesKey(bucket, measurement, tuple(sorted(orjson.loads(tags).items())))
    return SeriesInfo(series_id, owner_id, desc, device_desc, device_id, created_us, count, key)


def series_row(series: SeriesInfo) -> tuple[Any, ...]:
    """The values of ``SERIES_COLUMNS`` for a series (the inverse of ``series_from_row``)."""
    key = series.key
    return (
        series.id, series.owner_id, series.desc, series.device_desc, series.device_id,
        series.created_us, series.count, key and key.bucket, key and key.measurement,
        key and key.tags_json(),
    )  # fmt: skip


DEVICE_KEY_COLUMNS = "k.id, k.series_id, s.owner_id, k.kind, k.label, k.created_us"


def device_key_from_row(row: Sequence[Any]) -> DeviceKey:
    """A ``DeviceKey`` from a row of ``DEVICE_KEY_COLUMNS`` (keys ``k`` joined to series ``s``)."""
    return DeviceKey(*row)


def field_names_from_json(text: str | None) -> dict[int, str]:
    """The stored ``{"1": "temp_C"}`` as ``{1: "temp_C"}``."""
    return {int(n): name for n, name in orjson.loads(text).items()} if text else {}


def field_names_to_json(names: dict[int, str]) -> str | None:
    """The form ``field_names_from_json`` reads; None when no field is named."""
    return orjson.dumps({str(n): names[n] for n in sorted(names)}).decode() if names else None


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
    from .postgres import PostgresStorage

    return PostgresStorage(target, max_queued_writes=max_queued_writes)
