"""Counts users write as text (``results=100``, ``days=2``, ``field3``): ASCII digits only and
bounded, so neither ``"²"`` (a digit to ``str.isdigit``) nor a thousand digits reaches ``int``."""

from typing import Any

from .errors import BadInput

# Large enough for any count stored in an int64 column, small enough to fit one.
MAX_COUNT = 2**63 - 1


def count_in(text: Any, maximum: int) -> int | None:
    """The whole number from 0 to ``maximum`` that ``text`` writes in ASCII digits, else None."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(maximum)) or int(digits) > maximum:
        return None
    return int(digits)


def parse_count(text: Any, name: str, maximum: int = MAX_COUNT) -> int:
    """A whole number from 0 to ``maximum`` written in ASCII digits; ``BadInput`` otherwise."""
    count = count_in(text, maximum)
    if count is None:
        raise BadInput(f"{name} must be a whole number from 0 to {maximum}, not {str(text)[:40]!r}")
    return count
