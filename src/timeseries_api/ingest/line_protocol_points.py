"""Parsed line protocol into series writes: the same limits and time window as JSON points.

A measurement and its tag set name a series; a line tagged ``series_id=N`` goes into the existing
series N instead, which is how line protocol and the seed API share a series.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

from ..domain import NewPoint, SeriesKey, SeriesWrite
from ..errors import BadInput
from ..timeparse import TimeWindow
from .json_body import (
    INT64_MAX,
    MAX_ID,
    MAX_STRING_VALUE_LENGTH,
    FieldsError,
    check_fields,
)
from .line_protocol import LineProtocolError, parse_lines

SERIES_ID_TAG = "series_id"

# (measurement, tags) of a keyed series, or the id of a series named with the series_id tag.
_Target = tuple[str, tuple[tuple[str, str], ...]] | int


@dataclass
class LineBatch:
    """The valid points of a body, by series, and a message for each line that was not."""

    points: dict[_Target, list[NewPoint]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def series_writes(self, user_id: int, bucket: str) -> list[SeriesWrite]:
        """One write per series, in the order the series first appear."""
        writes = []
        for target, points in self.points.items():
            if isinstance(target, int):
                writes.append(SeriesWrite(user_id, target, points))
            else:
                key = SeriesKey(bucket, target[0], target[1])
                writes.append(SeriesWrite(user_id, None, points, key))
        return writes


def points_from_lines(body: bytes, precision: str, window: TimeWindow, now_us: int) -> LineBatch:
    """Parse a line protocol body; bad lines become messages, good ones points."""
    try:
        parsed = parse_lines(body, precision)
    except LineProtocolError as exc:
        raise BadInput(str(exc)) from None
    batch = LineBatch(errors=[str(error) for error in parsed.errors])
    checked_names: set[tuple[str, ...]] = set()  # lines of a series repeat their field names
    for index, point in enumerate(parsed.points, start=1):
        where = f"point {index} ({point.measurement[:40]})"
        try:
            _check_line_fields(point.fields, checked_names)
        except FieldsError as exc:
            batch.errors.append(f"{where}: fields: {exc}")
            continue
        ts_us = now_us
        if point.time_ns is not None:
            ts_us = point.time_ns // 1000
            try:
                window.check(ts_us, now_us, f"{where}: timestamp")
            except BadInput as exc:
                batch.errors.append(exc.message)
                continue
        target: _Target = (point.measurement, point.tags)
        tags = dict(point.tags)
        if SERIES_ID_TAG in tags:
            text = tags[SERIES_ID_TAG]
            if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
                batch.errors.append(f"{where}: tag series_id must be a series id, not {text!r}")
                continue
            target = int(text)
        batch.points.setdefault(target, []).append(NewPoint(ts_us, orjson.dumps(point.fields)))
    return batch


def _check_line_fields(fields: Mapping[str, object], checked_names: set[tuple[str, ...]]) -> None:
    """The limits of ``check_fields``, without the type checks the parser already made."""
    names = tuple(fields)
    if names not in checked_names:
        check_fields(fields)
        checked_names.add(names)
        return
    for value in fields.values():
        if type(value) is str:
            if len(value) > MAX_STRING_VALUE_LENGTH:
                check_fields(fields)  # raises with the full message
        elif type(value) is int and value > INT64_MAX:
            check_fields(fields)
