"""ThingSpeak's write requests (``/update``, ``bulk_update.json``) into points, and the field
names a series gives ThingSpeak's numbered fields.

ThingSpeak sends every value as text (``field1=21.50000``); a value that reads as a number is
stored as one, so the series reads the same through every API. ``fieldN`` is stored under the
series' name for field N (``temp_C``) or as ``fieldN`` when unnamed; ``status``, ``lat``, ``long``
and ``elevation`` are stored as ``status``, ``latitude``, ``longitude`` and ``elevation``.
"""

import math
import re
from collections.abc import Mapping
from datetime import UTC, tzinfo
from typing import Any

import orjson

from ..counts import count_in
from ..domain import NewPoint
from ..errors import BadInput
from ..timeparse import MAX_US, MIN_US, TimeWindow, parse_iso, parse_zone
from .json_body import (
    INT64_MAX,
    INT64_MIN,
    MAX_FIELD_NAME_LENGTH,
    MAX_POINTS_PER_REQUEST,
    FieldsError,
    check_fields,
)

# No two times we can store are further apart.
_MAX_DELTA_SECONDS = (MAX_US - MIN_US) // 1_000_000
FIELD_PARAM = re.compile(r"field([1-9][0-9]{0,3})")
MAX_FIELD_NUMBER = 9999
# ThingSpeak's names for an entry's other values: request parameter -> stored field name.
EXTRAS = {"status": "status", "lat": "latitude", "long": "longitude", "elevation": "elevation",
          "latitude": "latitude", "longitude": "longitude"}  # fmt: skip
RESERVED_NAMES = frozenset(EXTRAS.values())
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# A time followed by an offset: " -0500", "-05:00", "-05" (ThingSpeak's docs), or " 09:00", which
# is what "+09:00" becomes when a device puts it in a form body without percent-encoding the "+".
_TIME_AND_OFFSET = re.compile(
    r"(.*[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?) ?([+-]| )([0-9]{2})(?::?([0-9]{2}))?"
)


def stored_value(value: Any) -> Any:
    """A ThingSpeak value as stored: text that reads as a number becomes that number."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if _INTEGER.fullmatch(text) and INT64_MIN <= int(text) <= INT64_MAX:
        return int(text)
    if _DECIMAL.fullmatch(text) and math.isfinite(float(text)):
        return float(text)
    return value


def entry_fields(params: Mapping[str, Any], names: Mapping[int, str]) -> dict[str, Any]:
    """The fields of one entry from its parameters; other parameters are ignored."""
    fields: dict[str, Any] = {}
    for param, value in params.items():
        match = FIELD_PARAM.fullmatch(param)
        if match:
            name = names.get(int(match[1]), param)
        elif param in EXTRAS:
            name = EXTRAS[param]
        else:
            continue
        if value is None or value == "":
            continue  # ThingSpeak's "no value"
        if name == "status":
            fields[name] = value if isinstance(value, str) else orjson.dumps(value).decode()
            continue
        fields[name] = stored_value(value)
        if name in RESERVED_NAMES and not isinstance(fields[name], int | float):
            raise BadInput(f"{param} must be a number, not {str(value)[:40]!r}")
    try:
        check_fields(fields)
    except FieldsError as exc:
        message = f"fields: {exc}" if fields else "the entry has no field: send field1=..."
        raise BadInput(message) from None
    return fields


def request_zone(params: Mapping[str, Any]) -> tzinfo:
    """The zone of a request's ``timezone`` parameter (an IANA name), UTC when not given: naive
    times are read in it, and replies write times in it, as ThingSpeak does."""
    name = params.get("timezone")
    if name is None or name == "":
        return UTC
    if not isinstance(name, str):
        raise BadInput("timezone must be an IANA time zone name such as Europe/Berlin")
    return parse_zone(name)


def parse_created_at(value: Any, name: str = "created_at", zone: tzinfo = UTC) -> int:
    """A ThingSpeak time: ISO 8601, MySQL's ``2026-11-24 07:00:00`` (optionally followed by an
    offset such as `` -0500`` or by ``UTC``), or epoch seconds. No offset means ``zone``."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadInput(f"{name} must be a time such as 2026-11-24 07:00:00")
    text = str(value).strip()
    if _DECIMAL.fullmatch(text):
        seconds = float(text)
        us = round(seconds * 1_000_000) if math.isfinite(seconds) else MAX_US + 1
    else:
        if text.endswith("UTC"):
            text, zone = text.removesuffix("UTC").strip(), UTC
        match = _TIME_AND_OFFSET.fullmatch(text)
        if match:
            sign = "+" if match[2] == " " else match[2]
            text = f"{match[1]}{sign}{match[3]}:{match[4] or '00'}"
        us = parse_iso(text, name, zone)
    return _in_range(us, name, text)


def _in_range(us: int, name: str, given: Any) -> int:
    if not MIN_US <= us <= MAX_US:
        raise BadInput(f"{name} {str(given)[:40]!r} is out of range")
    return us


def update_point(
    params: Mapping[str, Any],
    names: Mapping[int, str],
    window: TimeWindow,
    now_us: int,
    zone: tzinfo = UTC,
) -> NewPoint:
    """The point an ``/update`` request writes (a naive ``created_at`` is read in ``zone``)."""
    fields = entry_fields(params, names)
    ts_us = now_us
    if params.get("created_at"):
        ts_us = parse_created_at(params["created_at"], "created_at", zone)
        window.check(ts_us, now_us, "created_at")
    return NewPoint(ts_us, orjson.dumps(fields))


def bulk_points(
    updates: Any, names: Mapping[int, str], window: TimeWindow, now_us: int, zone: tzinfo = UTC
) -> list[NewPoint]:
    """The points of a ``bulk_update.json`` body's ``updates``. Each has ``created_at`` (naive
    times read in ``zone``) or ``delta_t``, the seconds since the previous update; the last update
    of a run of ``delta_t`` updates is taken as made now, as ThingSpeak does."""
    if not isinstance(updates, list) or not updates:
        raise BadInput("updates must be a non-empty list of entries")
    if len(updates) > MAX_POINTS_PER_REQUEST:
        raise BadInput(f"at most {MAX_POINTS_PER_REQUEST} updates per request")
    times: list[int | None] = []
    deltas: list[int] = []
    for i, update in enumerate(updates):
        if not isinstance(update, dict):
            raise BadInput(f"updates[{i}] must be an object")
        if update.get("created_at") not in (None, ""):
            name = f"updates[{i}].created_at"
            times.append(parse_created_at(update["created_at"], name, zone))
            deltas.append(0)
        elif "delta_t" in update:
            times.append(None)
            deltas.append(_delta_us(update["delta_t"], f"updates[{i}].delta_t"))
        else:
            raise BadInput(f"updates[{i}] needs created_at or delta_t")
    # Relative times count back from the next absolute time, or from now.
    anchor = now_us
    for i in range(len(updates) - 1, -1, -1):
        given = times[i]
        if given is not None:
            anchor = given
        else:
            times[i] = anchor
            anchor -= deltas[i]
    points = []
    for i, (update, ts_us) in enumerate(zip(updates, times, strict=True)):
        assert ts_us is not None
        _in_range(ts_us, f"updates[{i}] time", "counted back by delta_t")
        window.check(ts_us, now_us, f"updates[{i}] time")
        try:
            fields = entry_fields(update, names)
        except BadInput as exc:
            raise BadInput(f"updates[{i}]: {exc.message}") from None
        points.append(NewPoint(ts_us, orjson.dumps(fields)))
    return points


def _delta_us(value: Any, name: str) -> int:
    stored = stored_value(value)
    number = -1 if isinstance(stored, bool) or not isinstance(stored, int | float) else stored
    if not 0 <= number <= _MAX_DELTA_SECONDS:
        raise BadInput(f"{name} must be a number of seconds from 0 to {_MAX_DELTA_SECONDS}")
    return round(number * 1_000_000)


def parse_field_names(data: Any) -> dict[int, str]:
    """The names a series gives its numbered fields: ``{"1": "temp_C"}`` or
    ``{"field1": "temp_C"}``; a null or empty name leaves the field unnamed."""
    if not isinstance(data, dict):
        raise BadInput('fields must be an object such as {"field1": "temp_C"}')
    names: dict[int, str] = {}
    for key, name in data.items():
        number = count_in(key.removeprefix("field"), MAX_FIELD_NUMBER)
        if not number:
            raise BadInput(f"{key[:40]!r} is not a field: use field1 to field{MAX_FIELD_NUMBER}")
        if name is None or name == "":
            continue
        if not isinstance(name, str) or len(name) > MAX_FIELD_NAME_LENGTH:
            raise BadInput(f"{key}: a name is a string of 1 to {MAX_FIELD_NAME_LENGTH} characters")
        other = FIELD_PARAM.fullmatch(name)
        if name in RESERVED_NAMES or (other and int(other[1]) != number):
            raise BadInput(f"{key}: {name!r} is taken by another ThingSpeak value")
        if name in names.values():
            raise BadInput(f"{key}: {name!r} names two fields")
        names[number] = name
    return names
