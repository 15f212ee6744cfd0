"""Every way a user may write a time, in one place. Times inside the service are integer
microseconds since the Unix epoch, UTC."""

import time
from datetime import UTC, datetime, timedelta

from .errors import BadInput

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Keep every time inside what datetime can represent and what an int64 holds.
MIN_US = -62135596800_000000  # 0001-01-01T00:00:00Z
MAX_US = 253402300799_999999  # 9999-12-31T23:59:59.999999Z


def now_us() -> int:
    """The current time in microseconds since the epoch."""
    return time.time_ns() // 1000


def format_us(us: int) -> str:
    """ISO 8601 with microseconds and the UTC offset, e.g. ``2026-11-24T02:12:38.000000+00:00``."""
    return (_EPOCH + timedelta(microseconds=us)).isoformat(timespec="microseconds")


def parse_iso(text: str, name: str = "time") -> int:
    """Parse an ISO 8601 date or date-time; no offset means UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(
            f"{name}: {text!r} is not an ISO 8601 time (example: 2026-11-24T08:30:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // timedelta(microseconds=1)
