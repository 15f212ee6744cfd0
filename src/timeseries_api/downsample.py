"""Downsampling: one row per time bucket with aggregates of each numeric field.

Storage returns a summary per (bucket, field); this module, the same for every backend, turns
them into rows: the asked aggregates, buckets in order, empty ones left out or filled.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .domain import FieldSummary
from .errors import BadInput

AGGREGATES = ("mean", "min", "max", "sum", "count", "first", "last")
FILLS = ("none", "null", "previous")
# A request may not ask for more rows than this (a year of minutes is 525,600).
MAX_BUCKETS = 1_000_000

Value = float | int | str | bool | None
Row = tuple[int, dict[str, dict[str, Value]]]  # (bucket start, {field: {aggregate: value}})


def parse_aggregates(text: str) -> tuple[str, ...]:
    """``mean,max`` -> ("mean", "max"); each known, none twice."""
    names = tuple(name.strip() for name in text.split(","))
    for name in names:
        if name not in AGGREGATES:
            raise BadInput(f"agg: {name[:20]!r} is not one of {', '.join(AGGREGATES)}")
    if len(set(names)) != len(names):
        raise BadInput("agg: an aggregate is named twice")
    return names


@dataclass(frozen=True)
class Fill:
    """What an empty bucket becomes: left out (``none``), nulls, the previous bucket's values
    (``previous``), or a number."""

    mode: str
    value: float | int | None = None


def parse_fill(text: str) -> Fill:
    """``none``, ``null``, ``previous`` or a number such as ``0``."""
    if text in FILLS:
        return Fill(text)
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if number != number or number in (float("inf"), float("-inf")):
        raise BadInput(f"fill: {text[:20]!r} is not none, null, previous or a finite number")
    return Fill("value", int(number) if number.is_integer() and "." not in text else number)


def bucket_start(ts_us: int, every_us: int, offset_us: int) -> int:
    """The start of the bucket holding ``ts_us``: buckets start where local time (UTC plus
    ``offset_us``) is a whole multiple of ``every_us``."""
    return (ts_us + offset_us) // every_us * every_us - offset_us


def _mean(s: FieldSummary) -> Value:
    return s.sum / s.numeric if s.sum is not None else None


def _end(value: object, kind: str) -> Value:
    return bool(value) if kind == "boolean" and value is not None else value  # type: ignore[return-value]


_AGGREGATE: dict[str, Callable[[FieldSummary], Value]] = {
    "mean": _mean,
    "min": lambda s: s.min,
    "max": lambda s: s.max,
    "sum": lambda s: s.sum,
    "count": lambda s: s.numeric,
    "first": lambda s: _end(s.first, s.kind),
    "last": lambda s: _end(s.last, s.kind),
}


def aggregate_value(summary: FieldSummary, name: str) -> Value:
    """One aggregate of a field's numbers in a bucket (``first``/``last``: of its values)."""
    return _AGGREGATE[name](summary)


def numeric_fields(summaries: dict[tuple[int, str], FieldSummary]) -> list[str]:
    """The fields that hold a number somewhere in the result, by name."""
    return sorted({field for (_, field), s in summaries.items() if s.numeric})


def bucket_rows(
    summaries: dict[tuple[int, str], FieldSummary],
    fields: list[str],
    aggregates: tuple[str, ...],
    every_us: int,
    offset_us: int,
    span: tuple[int | None, int | None],
    fill: Fill,
    descending: bool = False,
) -> Iterator[Row]:
    """The rows of a downsampled range, oldest first (or newest first).

    Buckets with no number are left out, unless ``fill`` asks for them; then every bucket of
    the range is there (of the data, when the range is open), with each of ``fields``.
    """
    wanted = set(fields)
    getters = [(name, _AGGREGATE[name]) for name in aggregates]
    by_bucket: dict[int, dict[str, dict[str, Value]]] = {}
    for (bucket, field), summary in summaries.items():
        if summary.numeric and field in wanted:
            values = {name: get(summary) for name, get in getters}
            row = by_bucket.get(bucket)
            if row is None:
                by_bucket[bucket] = {field: values}
            else:
                row[field] = values
    if fill.mode == "none":
        for start in sorted(by_bucket, reverse=descending):
            found = by_bucket[start]
            yield start, {field: found[field] for field in fields if field in found}
        return
    first, last = min(by_bucket, default=None), max(by_bucket, default=None)
    lo = first if span[0] is None else bucket_start(span[0], every_us, offset_us)
    hi = last if span[1] is None else bucket_start(span[1], every_us, offset_us)
    if lo is None or hi is None:
        return
    if (hi - lo) // every_us >= MAX_BUCKETS:
        raise BadInput(
            f"every: that makes more than {MAX_BUCKETS:,} buckets; use a longer interval"
        )
    rows = list(_filled(by_bucket, fields, aggregates, lo, hi, every_us, fill))
    yield from reversed(rows) if descending else rows


def _filled(
    by_bucket: dict[int, dict[str, dict[str, Value]]],
    fields: list[str],
    aggregates: tuple[str, ...],
    lo: int,
    hi: int,
    every_us: int,
    fill: Fill,
) -> Iterator[Row]:
    previous: dict[str, dict[str, Value]] = {}
    empty: dict[str, Value] = dict.fromkeys(aggregates, fill.value)
    for start in range(lo, hi + 1, every_us):
        found = by_bucket.get(start, {})
        row: dict[str, dict[str, Value]] = {}
        for field in fields:
            if field in found:
                row[field] = previous[field] = found[field]
            elif fill.mode == "previous":
                row[field] = previous.get(field, dict.fromkeys(aggregates))
            else:
                row[field] = empty
        yield start, row
