"""ThingSpeak's ``timescale``, ``average``, ``median`` and ``sum`` over a channel's entries.

Done here in Python over points as they stream from storage (``Storage.series_points_json``),
so there is one aggregation engine to replace: when storage grows range aggregates, point
``per_period`` at them. Periods are aligned to the UTC epoch (a day starts at 00:00 UTC); only
numeric values (not booleans, not text) are combined.
"""

import statistics
from collections.abc import AsyncIterable, AsyncIterator, Callable
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


def _first(start_us: int, group: list[Entry]) -> Entry:
    """``timescale``: the period's first entry, dated at the period's start."""
    return Entry(start_us, group[0].entry_id, group[0].fields)


def _combiner(combine: Callable[[list[float]], float]) -> Callable[[int, list[Entry]], Entry]:
    def combined(start_us: int, group: list[Entry]) -> Entry:
        values: dict[str, list[float]] = {}
        for entry in group:
            for name, value in entry.fields.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    values.setdefault(name, []).append(value)
        return Entry(start_us, None, {n: combine(v) for n, v in values.items()})

    return combined


PER_PERIOD: dict[str, Callable[[int, list[Entry]], Entry]] = {
    "timescale": _first,
    "average": _combiner(statistics.fmean),
    "median": _combiner(statistics.median),
    "sum": _combiner(sum),
}


async def per_period(
    chunks: AsyncIterable[list[Entry]], minutes: int, how: str
) -> AsyncIterator[list[Entry]]:
    """Entries in time order, in chunks, combined per period (``how`` is one of
    ``PER_PERIOD``): one period's entries are held at a time, never the whole feed."""
    shape = PER_PERIOD[how]
    width = minutes * US_PER_MINUTE
    start, group = 0, list[Entry]()
    async for chunk in chunks:
        done = []
        for entry in chunk:
            entry_start = entry.ts_us - entry.ts_us % width
            if group and entry_start != start:
                done.append(shape(start, group))
                group = []
            start = entry_start
            group.append(entry)
        if done:
            yield done
    if group:
        yield [shape(start, group)]
