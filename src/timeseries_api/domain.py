"""The objects that cross from the HTTP layer to storage, in the user's words."""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, overload

import orjson


@dataclass(frozen=True, slots=True)
class SeriesMeta:
    """What a user says about a series when creating it."""

    desc: str
    device_desc: str
    device_id: str


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """How line protocol names a series: bucket (1.x database), measurement and tag set."""

    bucket: str
    measurement: str
    tags: tuple[tuple[str, str], ...]  # sorted by key

    def tags_json(self) -> str:
        """The tag set as canonical JSON (sorted keys), as stored and compared."""
        return orjson.dumps(dict(self.tags), option=orjson.OPT_SORT_KEYS).decode()

    def describe(self) -> str:
        """The series' name as line protocol writes it, e.g. ``weather,location=attic``."""
        return ",".join([self.measurement, *(f"{k}={v}" for k, v in self.tags)])


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """A stored series as ``GET /series`` lists it (the owner's name is added by the API)."""

    id: int
    owner_id: int
    desc: str
    device_desc: str
    device_id: str
    created_us: int
    count: int
    key: SeriesKey | None = None


@dataclass(frozen=True, slots=True)
class SeriesWrite:
    """Points one user adds to one series; a request may carry several, written atomically.

    The series is named by its id or, for line protocol, by its key (``series_id`` None): a key
    that names no series yet creates one, owned by the user.
    """

    user_id: int
    series_id: int | None
    points: "Sequence[NewPoint]"
    key: SeriesKey | None = None
    columns: "FieldColumns | None" = None  # the points' fields, when parsed as columns


@dataclass(frozen=True, slots=True)
class FieldColumns:
    """The fields of a write's points as columns: every point has the same fields, each field
    values of one kind (``float``, ``integer``, ``boolean`` or ``string``), in point order.
    Storage summarizes columns without a dict per point."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    values: "Sequence[Sequence[object]]"


class NewPoint(NamedTuple):
    """A validated point on its way to storage: its time and its fields already as JSON (and,
    when the parser has them at hand, as a dict, which spares storage parsing them again)."""

    ts_us: int
    fields_json: bytes
    fields: Mapping[str, object] | None = None


# Below this many points a write is cheaper handled point by point than column by column.
COLUMNS_FROM = 16


class PointColumns(Sequence[NewPoint]):
    """Points held as two columns, times and fields as JSON: a parser that produces columns
    hands them to storage without building a tuple per point."""

    __slots__ = ("times", "fields_json")

    def __init__(self, times: list[int], fields_json: list[bytes]) -> None:
        self.times = times
        self.fields_json = fields_json

    def __len__(self) -> int:
        return len(self.times)

    def __iter__(self) -> Iterator[NewPoint]:
        return map(NewPoint, self.times, self.fields_json)

    @overload
    def __getitem__(self, index: int) -> NewPoint: ...
    @overload
    def __getitem__(self, index: slice) -> list[NewPoint]: ...
    def __getitem__(self, index: int | slice) -> NewPoint | list[NewPoint]:
        if isinstance(index, slice):
            return list(map(NewPoint, self.times[index], self.fields_json[index]))
        return NewPoint(self.times[index], self.fields_json[index])


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """A key that lets one device write to (kind ``write``) or read (``read``) one series.

    ``owner_id`` is the series' owner: points written with a write key belong to that user.
    """

    id: int
    series_id: int
    owner_id: int
    kind: str
    label: str
    created_us: int


class PointKey(NamedTuple):
    """Where a point sits in a series' order: its time, then its id (ties in time)."""

    ts_us: int
    id: int


@dataclass(frozen=True, slots=True)
class PointRange:
    """Which points of a series a read wants, and in which order.

    ``after`` is a paging cursor: only points strictly after it in the chosen order.
    ``through`` closes the range at a key (inclusive), so a page is fixed before it streams.
    ``fields`` keeps only those fields, and only the points that have at least one of them.
    """

    start_us: int | None = None
    end_us: int | None = None
    descending: bool = False
    after: PointKey | None = None
    through: PointKey | None = None
    fields: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """What ``GET /series/<id>/fields`` says about one field."""

    name: str
    type: str  # the type of its latest value: integer, float, boolean or string
    count: int
    first_us: int
    last_us: int


@dataclass(slots=True)
class FieldSummary:
    """The values of one field over a time span (an hour, a bucket), mergeable with others.

    ``count`` counts every value; ``numeric`` and the statistics only numbers (booleans and
    strings have no mean). ``first``/``last`` are the earliest and latest values and times.
    """

    count: int
    numeric: int
    sum: float | int | None
    min: float | int | None
    max: float | int | None
    first_us: int
    first: object
    last_us: int
    last: object
    kind: str  # the type of ``last``


@dataclass(frozen=True, slots=True)
class PointText:
    """How a read wants each point as text: its JSON document (the default), or a CSV line of
    its timestamp and ``csv_columns``; rows are joined by ``separator``."""

    csv_columns: tuple[str, ...] | None = None
    separator: str = ","


@dataclass(frozen=True, slots=True)
class SeriesChanges:
    """What an owner may change about a series; None leaves it as it is."""

    desc: str | None = None
    device_desc: str | None = None
    device_id: str | None = None
