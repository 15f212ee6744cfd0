"""Hourly summaries of every field, kept beside the points so downsampling reads few rows.

A year of minute data is half a million points but only 8,760 hours: the hourly mean (or daily,
or weekly) of a year comes from those rows. Summaries are computed here, in the request's thread,
and merged into the stored ones by the writer (``INSERT ... ON CONFLICT DO UPDATE``), in the
transaction that inserts the points. The logic is the same for every backend.
"""

from bisect import bisect_right
from collections.abc import Hashable, Iterable, Mapping, Sequence
from itertools import islice, repeat
from operator import eq, itemgetter, le
from typing import TypeVar, cast

import orjson

from ..domain import COLUMNS_FROM, FieldColumns, FieldSummary, NewPoint, PointColumns

HOUR_US = 3_600_000_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
K = TypeVar("K", bound=Hashable)

_KINDS = {bool: "boolean", int: "integer", float: "float", str: "string"}
_NUMERIC = {"integer", "float"}


def summarize(
    points: Iterable[tuple[int, Mapping[str, object]]],
) -> dict[tuple[str, int], FieldSummary]:
    """Summaries of ``(time, fields)`` points, by (field, hour since the epoch).

    On the write path for every point, so the merge of one value is written out inline.
    """
    found: dict[tuple[str, int], FieldSummary] = {}
    for ts_us, fields in points:
        hour = ts_us // HOUR_US
        for name, value in fields.items():
            kind = _KINDS.get(type(value), "string")
            number = value if isinstance(value, int | float) and kind != "boolean" else None
            summary = found.get((name, hour))
            if summary is None:
                found[name, hour] = FieldSummary(
                    1, 0 if number is None else 1, number, number, number,
                    ts_us, value, ts_us, value, kind,
                )  # fmt: skip
                continue
            summary.count += 1
            if number is not None:
                summary.numeric += 1
                if summary.sum is None:
                    summary.sum = summary.min = summary.max = number
                else:
                    summary.sum += number
                    if number < summary.min:  # type: ignore[operator]
                        summary.min = number
                    if number > summary.max:  # type: ignore[operator]
                        summary.max = number
            if ts_us < summary.first_us:
                summary.first_us, summary.first = ts_us, value
            if ts_us >= summary.last_us:
                summary.last_us, summary.last, summary.kind = ts_us, value, kind
    for summary in found.values():  # databases store no integers beyond 64 bits
        if type(summary.sum) is int and not INT64_MIN <= summary.sum <= INT64_MAX:
            summary.sum = float(summary.sum)
    return found


def summarize_points(
    points: Sequence[NewPoint], columns: FieldColumns | None = None
) -> dict[tuple[str, int], FieldSummary]:
    """:func:`summarize` for points on their way to storage, from their ``columns`` when the
    parser gave them, or when a batch's points all carry the same fields, each of one kind."""
    if columns is None and len(points) >= COLUMNS_FROM:
        columns = _uniform_columns(points)
    if columns is not None:
        times = points.times if type(points) is PointColumns else [p.ts_us for p in points]
        if all(map(le, times, islice(times, 1, None))):
            return summarize_columns(times, columns)
        fields = map(dict, map(zip, repeat(columns.names), zip(*columns.values, strict=True)))
        return summarize(zip(times, fields, strict=True))
    return summarize(
        (p.ts_us, orjson.loads(p.fields_json) if p.fields is None else p.fields) for p in points
    )


def _uniform_columns(points: Sequence[NewPoint]) -> FieldColumns | None:
    """The points' fields as columns, if every point has the same field names and every field
    values of one kind (else None: ``summarize`` takes them value by value)."""
    fields = [p.fields for p in points]
    first = fields[0]
    # keys() views compare as sets: the same names in another order make the same columns.
    if first is None or not all(map(eq, map(_keys, fields), repeat(first.keys()))):
        return None
    names = tuple(first)
    rows = cast(list[Mapping[str, object]], fields)
    values = [list(map(itemgetter(name), rows)) for name in names]
    kinds = []
    for column in values:
        types = set(map(type, column))
        if len(types) != 1 or (kind := _KINDS.get(types.pop())) is None:
            return None
        kinds.append(kind)
    return FieldColumns(names, tuple(kinds), values)


def _keys(fields: Mapping[str, object] | None) -> object:
    return None if fields is None else fields.keys()


def summarize_columns(
    times: Sequence[int], columns: FieldColumns
) -> dict[tuple[str, int], FieldSummary]:
    """What :func:`summarize` gives, for points in time order (``times`` never decreasing),
    computed an hour and a field at a time by builtins instead of a value at a time."""
    found: dict[tuple[str, int], FieldSummary] = {}
    hours = [t // HOUR_US for t in times]
    start = 0
    while start < len(hours):
        hour = hours[start]
        end = bisect_right(hours, hour, start)
        for name, kind, column in zip(columns.names, columns.kinds, columns.values, strict=True):
            values = column[start:end]
            first, last = values[0], values[-1]
            summary = FieldSummary(
                end - start, 0, None, None, None, times[start], first, times[end - 1], last, kind
            )
            if kind in _NUMERIC:
                numbers = cast(list[float], values)
                total = sum(numbers[1:], numbers[0])
                if type(total) is int and not INT64_MIN <= total <= INT64_MAX:
                    total = float(total)
                summary.numeric = end - start
                summary.sum, summary.min, summary.max = total, min(numbers), max(numbers)
            found[name, hour] = summary
        start = end
    return found


def merge(into: FieldSummary, other: FieldSummary) -> None:
    """Fold ``other`` into ``into``. On equal times the earlier-written value stays first and
    the later-written one becomes last, as in the points' (time, id) order."""
    into.count += other.count
    into.numeric += other.numeric
    if other.sum is not None:
        into.sum = other.sum if into.sum is None else _add(into.sum, other.sum)
        into.min = other.min if into.min is None else min(into.min, other.min)  # type: ignore[type-var]
        into.max = other.max if into.max is None else max(into.max, other.max)  # type: ignore[type-var]
    if other.first_us < into.first_us:
        into.first_us, into.first = other.first_us, other.first
    if other.last_us >= into.last_us:
        into.last_us, into.last, into.kind = other.last_us, other.last, other.kind


def _add(a: float | int, b: float | int) -> float | int:
    """A sum that stays a 64-bit integer while it fits (databases store no larger ones)."""
    total = a + b
    if type(total) is int and not INT64_MIN <= total <= INT64_MAX:
        return float(total)
    return total


def merge_all(into: dict[K, FieldSummary], parts: Iterable[tuple[K, FieldSummary]]) -> None:
    """Merge keyed summaries into ``into``."""
    for key, summary in parts:
        existing = into.get(key)
        if existing is None:
            into[key] = summary
        else:
            merge(existing, summary)


Span = tuple[int | None, int | None]  # inclusive times, None for open


def split_for_rollups(every_us: int, offset_us: int, span: Span) -> tuple[Span | None, list[Span]]:
    """Which part of a range the hourly rollups can serve, as hours ``[lo, hi)``, and which
    parts (inclusive times) must be read from the points: all of it when the interval or the
    offset is not a whole number of hours, else the partial hours at its edges."""
    if every_us % HOUR_US or offset_us % HOUR_US:
        return None, [span]
    start, end = span
    lo = None if start is None else -(-start // HOUR_US)
    hi = None if end is None else (end + 1) // HOUR_US
    if lo is not None and hi is not None and lo >= hi:
        return None, [span]
    edges: list[Span] = []
    if start is not None and lo is not None and start < lo * HOUR_US:
        edges.append((start, lo * HOUR_US - 1))
    if end is not None and hi is not None and hi * HOUR_US <= end:
        edges.append((hi * HOUR_US, end))
    return (lo, hi), edges
