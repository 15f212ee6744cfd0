"""Every way a user may write a time, in one place. Times inside the service are integer
microseconds since the Unix epoch, UTC."""

import re
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache
from itertools import repeat
from operator import floordiv, mod
from zoneinfo import ZoneInfo, available_timezones

from .errors import BadInput

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Keep every time inside what datetime can represent and what an int64 holds.
MIN_US = -62135596800_000000  # 0001-01-01T00:00:00Z
MAX_US = 253402300799_999999  # 9999-12-31T23:59:59.999999Z


def now_us() -> int:
    """The current time in microseconds since the epoch."""
    return time.time_ns() // 1000


def format_us(us: int) -> str:
    """ISO 8601 with microseconds and the UTC offset, e.g. ``2026-11-24T02:12:38.000000+00:00``.

    Equal to ``datetime.isoformat(timespec="microseconds")`` (a test checks it) in a third of
    the time: every written point is formatted once, on the write path.
    """
    minutes, rest = divmod(us, 60_000_000)
    days, minute_of_day = divmod(minutes, 1440)
    seconds, micros = divmod(rest, 1_000_000)
    return f"{_iso_date(days)}T{_HOURS_MINUTES[minute_of_day]}{seconds:02d}.{micros:06d}+00:00"


_HOURS_MINUTES = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]


def iso_pieces(times: Sequence[int]) -> tuple[Iterable[str], Iterable[str], Iterable[str]]:
    """``format_us`` of many times, cut in three columns without the offset: date and minute
    (``2026-11-24T02:12:``), seconds (``38.``) and microseconds (``000000``). The date and
    minute are formatted once per distinct minute; the rest runs a column at a time in C."""
    minutes = list(map(floordiv, times, repeat(60_000_000)))
    prefixes = {m: format_us(m * 60_000_000)[:17] for m in set(minutes)}
    within = list(map(mod, times, repeat(60_000_000)))
    seconds = map(_SECONDS.__getitem__, map(floordiv, within, repeat(1_000_000)))
    micros = map(str.zfill, map(str, map(mod, within, repeat(1_000_000))), repeat(6))
    return map(prefixes.__getitem__, minutes), seconds, micros


_SECONDS = [f"{s:02d}." for s in range(60)]


@lru_cache(maxsize=1024)
def _iso_date(days_since_epoch: int) -> str:
    return (_EPOCH + timedelta(days=days_since_epoch)).date().isoformat()


def parse_iso(text: str, name: str = "time", zone: tzinfo = UTC) -> int:
    """Parse an ISO 8601 date or date-time; no offset means ``zone`` (UTC by default)."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(
            f"{name}: {text!r} is not an ISO 8601 time (example: 2026-11-24T08:30:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return (parsed - _EPOCH) // timedelta(microseconds=1)


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_zone(name: str, what: str = "timezone") -> tzinfo:
    """An IANA time zone (``Europe/Berlin``); ``UTC`` (and ``Etc/UTC``) is ``datetime.UTC``."""
    if name in ("UTC", "Etc/UTC"):
        return UTC
    # Only names of the zone database: a key is a path under it, so never probe other files.
    if name not in _zone_names():
        raise BadInput(f"{what} {name[:40]!r} is not an IANA time zone such as Europe/Berlin")
    return ZoneInfo(name)


# Units of epoch numbers, in microseconds. The InfluxDB names are accepted too.
EPOCH_UNITS_US = {"s": 1_000_000, "ms": 1_000, "us": 1, "u": 1, "ns": 0.001, "n": 0.001}


def parse_epoch_unit(unit: str | None, name: str = "precision") -> str:
    """Validate an epoch unit; None means seconds."""
    if unit is None:
        return "s"
    if unit not in EPOCH_UNITS_US:
        raise BadInput(f"{name} must be one of s, ms, us, ns (got {unit[:20]!r})")
    return unit


def parse_timestamp(value: object, unit: str, name: str) -> int:
    """A device timestamp: ISO 8601 text, or an epoch number in ``unit``. Microseconds out."""
    if isinstance(value, str):
        return parse_iso(value, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{name} must be ISO 8601 text or an epoch number")
    if unit in ("ns", "n") and isinstance(value, int):
        us = value // 1000  # exact integer arithmetic: a float would lose nanosecond epochs
    else:
        us = round(value * EPOCH_UNITS_US[unit])
    if not MIN_US <= us <= MAX_US:
        raise BadInput(f"{name} {value!r} is out of range for unit {unit}")
    return us


class TimeWindow:
    """The times a device may claim: not before ``min_us``, not more than ``max_ahead_us`` ahead.

    An ESP whose NTP sync failed sends 1970; refusing it loudly beats a chart that starts in 1970.
    """

    def __init__(self, min_us: int, max_ahead_us: int) -> None:
        self.min_us = min_us
        self.max_ahead_us = max_ahead_us

    def check(self, us: int, now: int, name: str) -> None:
        """Raise ``BadInput`` when ``us`` falls outside the window."""
        if us < self.min_us:
            raise BadInput(
                f"{name} {format_us(us)} is before {format_us(self.min_us)}: is the device's "
                "clock set (NTP)? The lower bound is the min_timestamp setting"
            )
        if us > now + self.max_ahead_us:
            raise BadInput(
                f"{name} {format_us(us)} is more than {self.max_ahead_us // 1_000_000} s in the "
                "future: is the device's clock right? The bound is the max_future_seconds setting"
            )


# Units of durations (``-7d``, ``every=1h``), in microseconds.
DURATION_UNITS_US = {
    "s": 1_000_000,
    "m": 60_000_000,
    "h": 3_600_000_000,
    "d": 86_400_000_000,
    "w": 604_800_000_000,
}
_DURATION = re.compile(r"(\d{1,9})([smhdw])")
_RELATIVE = re.compile(r"(?:now)?\s*([+-])\s*(\d{1,9}[smhdw])")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?")


def parse_duration(text: str, name: str) -> int:
    """A positive duration such as ``30s``, ``5m``, ``1h``, ``7d`` or ``2w``, in microseconds."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise BadInput(
            f"{name}: {text[:40]!r} is not a duration: a positive whole number and a unit, "
            "s, m, h, d or w (examples: 30s, 5m, 1h, 1d)"
        )
    return int(match.group(1)) * DURATION_UNITS_US[match.group(2)]


def parse_time(text: str, name: str, now: int) -> int:
    """A time a reader gives: ISO 8601, an epoch number in seconds, ``now``, or relative to now
    (``-1h``, ``-7d``, ``now-30m``). Microseconds out."""
    value = text.strip()
    if value == "now":
        return now
    relative = _RELATIVE.fullmatch(value)
    if relative is not None:
        sign = 1 if relative.group(1) == "+" else -1
        return _in_range(now + sign * parse_duration(relative.group(2), name), text, name)
    if _NUMBER.fullmatch(value):
        # Decimal: a float cannot hold epoch seconds with six decimals exactly.
        return _in_range(int((Decimal(value) * 1_000_000).to_integral_value()), text, name)
    try:
        # An unencoded "+" of an offset (…T08:30:00+09:00) arrives as a space in a query string.
        head, space, tail = value.rpartition(" ")
        iso = f"{head}+{tail}" if space and ":" in head else value
        return _in_range(parse_iso(iso, name), text, name)
    except BadInput:
        raise BadInput(
            f"{name}: {text[:40]!r} is not a time: use ISO 8601 (2026-11-24T08:30:00Z), epoch "
            "seconds (1763971200), now, or a time relative to now (-1h, -7d)"
        ) from None


def _in_range(us: int, text: str, name: str) -> int:
    if not MIN_US <= us <= MAX_US:
        raise BadInput(f"{name}: {text[:40]!r} is out of range (years 1 to 9999)")
    return us


def parse_utc_offset(text: str, name: str = "tz") -> int:
    """A fixed UTC offset, ``Z``, ``UTC``, ``+09:00``, ``-0530`` or ``+9``, in microseconds."""
    # An unencoded "+" in a query string arrives as a space.
    value = "+" + text[1:] if text[:1] == " " else text.strip()
    if value.upper() in ("Z", "UTC"):
        return 0
    match = _OFFSET.fullmatch(value)
    if match is None or int(match.group(2)) > 23 or int(match.group(3) or 0) > 59:
        raise BadInput(
            f"{name}: {text[:40]!r} is not a UTC offset: use Z, +09:00 or -05:30 (the day "
            "buckets of that offset start at its midnight)"
        )
    minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
    return (1 if match.group(1) == "+" else -1) * minutes * 60_000_000


def format_us_at(us: int, offset_us: int) -> str:
    """Like :func:`format_us`, but as the local time of a fixed UTC offset (``+09:00``)."""
    if offset_us == 0:
        return format_us(us)
    sign = "+" if offset_us > 0 else "-"
    hours, minutes = divmod(abs(offset_us) // 60_000_000, 60)
    return f"{format_us(us + offset_us)[:-6]}{sign}{hours:02d}:{minutes:02d}"
