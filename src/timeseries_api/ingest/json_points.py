"""``PUT /point/new`` in its three shapes, into points ready for storage.

- the seed's ``{token, series_id, fields}`` (answered with a bare id),
- a JSON list of those objects (answered with the list of ids),
- ``{token, series_id, points: [{fields, timestamp?}, ...]}`` (answered with the list of ids).
"""

from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from ..domain import NewPoint
from ..errors import BadInput
from ..timeparse import TimeWindow, parse_epoch_unit, parse_timestamp
from .json_body import PointBatch, PointIn, SeedPoint, SeedPointList, parse_json, validation_message


@dataclass(frozen=True, slots=True)
class PointGroup:
    """Points a request sends to one series, with the token that came with them (if any)."""

    token: str | None
    series_id: int
    points: list[NewPoint]


@dataclass(frozen=True, slots=True)
class PointsRequest:
    """A parsed ``/point/new`` body: its groups in request order, and how to answer."""

    groups: list[PointGroup]
    bare_id: bool  # the seed's single-point form answers a bare integer


def parse_points_request(
    body: bytes, precision: str | None, window: TimeWindow, now_us: int
) -> PointsRequest:
    """Parse and validate every point; any bad point rejects the request, naming its index."""
    data = parse_json(body)
    try:
        if isinstance(data, list):
            if not data:
                raise BadInput("the list of points is empty: send at least one point")
            items = SeedPointList.validate_python(data)
            groups = [
                _group(item.token, item.series_id, [item], item.precision or precision,
                       window, now_us, f"[{i}]")
                for i, item in enumerate(items)
            ]  # fmt: skip
            return PointsRequest(groups, bare_id=False)
        if not isinstance(data, dict):
            raise BadInput("the request body must be a JSON object or a list of objects")
        if "points" in data:
            batch = PointBatch.model_validate(data)
            group = _group(batch.token, batch.series_id, batch.points,
                           batch.precision or precision, window, now_us, "points")  # fmt: skip
            return PointsRequest([group], bare_id=False)
        point = SeedPoint.model_validate(data)
        group = _group(point.token, point.series_id, [point], point.precision or precision,
                       window, now_us, None)  # fmt: skip
        return PointsRequest([group], bare_id=True)
    except ValidationError as exc:
        raise BadInput(validation_message(exc)) from None


def _group(
    token: str | None,
    series_id: int,
    points: list[Any],
    precision: str | None,
    window: TimeWindow,
    now_us: int,
    where: str | None,
) -> PointGroup:
    unit = parse_epoch_unit(precision)
    converted = []
    for i, point in enumerate(points):
        assert isinstance(point, PointIn)
        ts_us = now_us
        if point.timestamp is not None:
            name = (
                "timestamp"
                if where is None
                else (f"{where}.timestamp" if where.startswith("[") else f"{where}[{i}].timestamp")
            )
            ts_us = parse_timestamp(point.timestamp, unit, name)
            window.check(ts_us, now_us, name)
        converted.append(NewPoint(ts_us, orjson.dumps(point.fields), point.fields))
    return PointGroup(token, series_id, converted)
