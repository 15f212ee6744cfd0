"""The objects that cross from the HTTP layer to storage, in the user's words."""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SeriesMeta:
    """What a user says about a series when creating it."""

    desc: str
    device_desc: str
    device_id: str


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


@dataclass(frozen=True, slots=True)
class SeriesWrite:
    """Points one user adds to one series; a request may carry several, written atomically."""

    user_id: int
    series_id: int
    points: "Sequence[NewPoint]"


@dataclass(frozen=True, slots=True)
class NewPoint:
    """A validated point on its way to storage: its time and its fields already as JSON."""

    ts_us: int
    fields_json: bytes
