"""ThingSpeak's response shapes: channels, feed entries (values as text), CSV, errors.

A channel is one of our series; its numbered fields are the series' named fields (``field1`` is
``temp_C`` when the owner named it so) and any field stored as ``fieldN``.
"""

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

import orjson

from ..domain import SeriesInfo
from ..feed_aggregates import Entry
from ..ingest.thingspeak import FIELD_PARAM

EXTRA_COLUMNS = ("latitude", "longitude", "elevation", "status")
ERROR_CODES = {400: "error_bad_request", 401: "error_auth_required", 403: "error_auth_required",
               404: "error_resource_not_found", 413: "error_request_too_large",
               503: "error_service_unavailable"}  # fmt: skip


def iso_time(us: int, zone: tzinfo = UTC) -> str:
    """ThingSpeak's JSON time: ``2026-11-24T07:00:00Z`` (whole seconds), or with the offset of
    the request's ``timezone``: ``2026-11-24T02:00:00-05:00``."""
    local = _local(us, zone)
    if local is None:
        return datetime.fromtimestamp(us // 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return local.isoformat()


def csv_time(us: int, zone: tzinfo = UTC) -> str:
    """ThingSpeak's CSV time: ``2026-11-24 07:00:00 UTC``, or ``2026-11-24 02:00:00 -0500``."""
    local = _local(us, zone)
    if local is None:
        return datetime.fromtimestamp(us // 1_000_000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return local.strftime("%Y-%m-%d %H:%M:%S %z")


def _local(us: int, zone: tzinfo) -> datetime | None:
    """The time in ``zone``, or None for UTC (and for the rare time the zone would move past
    the year 1 or 9999)."""
    if zone is UTC:
        return None
    try:
        return datetime.fromtimestamp(us // 1_000_000, zone)
    except (OverflowError, ValueError):
        return None


def text(value: Any) -> str | None:
    """A value as ThingSpeak answers it: text (numbers as JSON writes them), or null."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


class FieldLayout:
    """Which stored field answers as which ThingSpeak ``fieldN``."""

    def __init__(self, names: Mapping[int, str]) -> None:
        self.names = dict(names)
        self._numbers = {name: number for number, name in names.items()}

    def name_of(self, number: int) -> str:
        """The stored name of field ``number``."""
        return self.names.get(number, f"field{number}")

    def number_of(self, name: str) -> int | None:
        """The field number a stored name answers as, if any."""
        if name in self._numbers:
            return self._numbers[name]
        match = FIELD_PARAM.fullmatch(name)
        if match and int(match[1]) not in self.names:
            return int(match[1])
        return None

    def numbers(self, entries: Iterable[Entry] = ()) -> list[int]:
        """The channel's field numbers: the named ones and those the entries hold."""
        found = set(self.names)
        for entry in entries:
            found.update(n for n in map(self.number_of, entry.fields) if n is not None)
        return sorted(found)


def entry_json(
    entry: Entry,
    layout: FieldLayout,
    numbers: Iterable[int],
    extras: Iterable[str] = (),
    zone: tzinfo = UTC,
) -> dict[str, Any]:
    """One feed entry: ``created_at``, ``entry_id``, ``fieldN`` as text, and asked extras."""
    shaped: dict[str, Any] = {
        "created_at": iso_time(entry.ts_us, zone),
        "entry_id": entry.entry_id,
    }
    for number in numbers:
        shaped[f"field{number}"] = text(entry.fields.get(layout.name_of(number)))
    for extra in extras:
        shaped[extra] = text(entry.fields.get(extra))
    return shaped


def channel_json(
    series: SeriesInfo,
    layout: FieldLayout,
    numbers: Iterable[int],
    last: Entry | None,
    zone: tzinfo = UTC,
) -> dict[str, Any]:
    """The ``channel`` object of a feed."""
    shaped: dict[str, Any] = {
        "id": series.id,
        "name": series.desc,
        "description": series.device_desc,
        "latitude": "0.0",
        "longitude": "0.0",
    }
    for number in numbers:
        shaped[f"field{number}"] = layout.name_of(number)
    shaped["created_at"] = iso_time(series.created_us, zone)
    shaped["updated_at"] = iso_time(last.ts_us if last else series.created_us, zone)
    shaped["last_entry_id"] = last.entry_id if last else None
    return shaped


def csv_header(numbers: list[int], extras: list[str]) -> str:
    """The first line of ThingSpeak's CSV feed: ``created_at,entry_id,field1,...``."""
    return ",".join(["created_at", "entry_id", *(f"field{n}" for n in numbers), *extras]) + "\n"


def csv_rows(
    entries: Iterable[Entry],
    layout: FieldLayout,
    numbers: list[int],
    extras: list[str],
    zone: tzinfo = UTC,
) -> str:
    """Lines of ThingSpeak's CSV feed, one per entry."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for entry in entries:
        values = [entry.fields.get(layout.name_of(n)) for n in numbers]
        values += [entry.fields.get(extra) for extra in extras]
        writer.writerow(
            [csv_time(entry.ts_us, zone), "" if entry.entry_id is None else entry.entry_id]
            + ["" if v is None else text(v) for v in values]
        )
    return out.getvalue()


def error_json(status: int, message: str) -> bytes:
    """ThingSpeak's documented JSON error object."""
    code = ERROR_CODES.get(status, "error_bad_request")
    return orjson.dumps({"status": str(status), "error": {"error_code": code, "message": message}})


def error_text(status: int) -> bytes:
    """ThingSpeak's text error: the bare error code."""
    return ERROR_CODES.get(status, "error_bad_request").encode()
