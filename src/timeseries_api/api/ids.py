"""Ids in URLs: integers, with a clear 400 for anything else and 404 for what cannot exist."""

from ..errors import BadInput, NotFound
from ..storage.base import MAX_ID


def parse_id(text: str, what: str) -> int:
    """Parse a series or point id from a path segment."""
    if not text.isascii() or not text.isdigit():
        raise BadInput(f"{what} id must be a positive integer, not {text[:40]!r}")
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"{what} {text[:40]} does not exist")
    return value
