"""ThingSpeak's ``timescale``, ``average``, ``median`` and ``sum`` over a channel's entries.

Done here in Python over points already read (``Storage.series_points_json``), so there is one
aggregation engine to replace: when storage grows range aggregates, point these functions at
them. Periods are aligned to the UTC epoch (a day starts at 00:00 UTC); only numeric values
(not booleans, not text) are combined.
"""

import statistics
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from .counts import count_in
from .errors import BadInput

# The periods ThingSpeak accepts, in minutes; "daily" is 1440.
PERIODS = (10, 15, 20, 30, 60, 240, 720, 1440)
US_PER_MINUTE = 60_000_000


class Entry(NamedTuple):
    """One entry of a feed: its time, its id (None for a combined period) and its fields."""

    ts_us: int
    entry_id: int | None
    fields: dict[str, Any]


def parse_period(text: str, name: str) -> int:
    """A period in minutes from ThingSpeak's ``10`` ... ``1440`` or ``daily``."""
    minutes = 1440 if text == "daily" else count_in(text, max(PERIODS))
    if minutes not in PERIODS:
        raise BadInput(f"{name} must be one of {', '.join(map(str, PERIODS))} or daily")
    return minutes


def _periods(entries: Iterable[Entry], minutes: int) -> dict[int, list[Entry]]:
    width = minutes * US_PER_MINUTE
    grouped: dict[int, list[Entry]] = {}
    for entry in entries:
        grouped.setdefault(entry.ts_us - entry.ts_us % width, []).append(entry)
    return grouped


def first_per_period(entries: Iterable[Entry], minutes: int) -> list[Entry]:
    """``timescale``: the first entry of each period, dated at the period's start."""
    return [
        Entry(start, group[0].entry_id, group[0].fields)
        for start, group in _periods(entries, minutes).items()
    ]


COMBINE: dict[str, Callable[[list[float]], float]] = {
    "average": statistics.fmean,
    "median": statistics.median,
    "sum": sum,
}


def combine_per_period(entries: Iterable[Entry], minutes: int, how: str) -> list[Entry]:
    """``average``, ``median`` or ``sum`` of each field's numeric values, per period."""
    combine = COMBINE[how]
    combined = []
    for start, group in _periods(entries, minutes).items():
        values: dict[str, list[float]] = {}
        for entry in group:
            for name, value in entry.fields.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    values.setdefault(name, []).append(value)
        combined.append(Entry(start, None, {n: combine(v) for n, v in values.items()}))
    return combined
