"""Parsed line protocol into series writes: the same limits and time window as JSON points.

A measurement and its tag set name a series; a line tagged ``series_id=N`` goes into the existing
series N instead, which is how line protocol and the seed API share a series.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import orjson

from ..domain import FieldColumns, NewPoint, SeriesKey, SeriesWrite
from ..errors import BadInput
from ..timeparse import TimeWindow
from .json_body import (
    INT64_MAX,
    MAX_ID,
    MAX_STRING_VALUE_LENGTH,
    FieldsError,
    check_fields,
)
from .line_protocol import (
    LineError,
    LineProtocolError,
    body_lines,
    parse_line_at,
    precision_scale,
)
from .line_protocol_bulk import bulk_points

SERIES_ID_TAG = "series_id"

# (measurement, tags) of a keyed series, or the id of a series named with the series_id tag.
_Target = tuple[str, tuple[tuple[str, str], ...]] | int


@dataclass
class LineBatch:
    """The valid points of a body, by series, and a message for each line that was not."""

    points: dict[_Target, Sequence[NewPoint]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    columns: dict[_Target, FieldColumns] = field(default_factory=dict)  # fast path only

    def series_writes(self, user_id: int, bucket: str) -> list[SeriesWrite]:
        """One write per series, in the order the series first appear."""
        writes = []
        for target, points in self.points.items():
            columns = self.columns.get(target)
            if isinstance(target, int):
                writes.append(SeriesWrite(user_id, target, points, None, columns))
            else:
                key = SeriesKey(bucket, target[0], target[1])
                writes.append(SeriesWrite(user_id, None, points, key, columns))
        return writes


def points_from_lines(body: bytes, precision: str, window: TimeWindow, now_us: int) -> LineBatch:
    """Parse a line protocol body; bad lines become messages, good ones points.

    A body of plain lines takes the fast path (``bulk_points``), which reads it exactly as
    :func:`points_line_by_line` does; any other body is read line by line.
    """
    try:
        scale = precision_scale(precision)
    except LineProtocolError as exc:
        raise BadInput(str(exc)) from None
    text = body.decode("utf-8", "replace")
    fast = bulk_points(text, scale, window, now_us, _target)
    if fast is None:
        return points_line_by_line(text, scale, window, now_us)
    return LineBatch(
        {target: points for target, (points, _) in fast.items()},
        columns={target: columns for target, (_, columns) in fast.items()},
    )


def points_line_by_line(text: str, scale: int, window: TimeWindow, now_us: int) -> LineBatch:
    """Parse a body one line at a time (``scale``: nanoseconds per unit of its timestamps)."""
    batch = LineBatch()
    points: dict[_Target, list[NewPoint]] = {}
    checked_names: set[tuple[str, ...]] = set()  # lines of a series repeat their field names
    index = 0
    for number, line in body_lines(text):
        parsed = parse_line_at(number, line, scale)
        if isinstance(parsed, LineError):
            batch.errors.append(str(parsed))
            continue
        index += 1
        measurement, tags, fields, time_ns = parsed
        try:
            _check_line_fields(fields, checked_names)
        except FieldsError as exc:
            batch.errors.append(f"{_where(index, measurement)}: fields: {exc}")
            continue
        ts_us = now_us
        if time_ns is not None:
            ts_us = time_ns // 1000
            if not window.min_us <= ts_us <= now_us + window.max_ahead_us:
                try:
                    window.check(ts_us, now_us, f"{_where(index, measurement)}: timestamp")
                except BadInput as exc:
                    batch.errors.append(exc.message)
                continue
        target = _target(measurement, tags)
        if isinstance(target, str):
            batch.errors.append(f"{_where(index, measurement)}: {target}")
            continue
        points.setdefault(target, []).append(NewPoint(ts_us, orjson.dumps(fields), fields))
    batch.points.update(points)
    return batch


def _where(index: int, measurement: str) -> str:
    return f"point {index} ({measurement[:40]})"


@lru_cache(maxsize=4096)
def _target(measurement: str, tags: tuple[tuple[str, str], ...]) -> _Target | str:
    """Where a series' points go: its key, or the series its ``series_id`` tag names; or why
    the tag names none."""
    for name, value in tags:
        if name == SERIES_ID_TAG:
            if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_ID:
                return f"tag series_id must be a series id, not {value!r}"
            return int(value)
    return (measurement, tags)


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
