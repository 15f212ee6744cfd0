"""The objects that cross from the HTTP layer to storage, in the user's words."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

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


class NewPoint(NamedTuple):
    """A validated point on its way to storage: its time and its fields already as JSON."""

    ts_us: int
    fields_json: bytes


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
