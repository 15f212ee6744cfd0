"""The fast path for line protocol: a whole body of plain lines parsed a series at a time.

Devices and agents send bodies of many lines per series, each line with the same fields in the
same order: ``weather,sensor=s1 temperature=21.5,humidity=40i 1700000000``. Parsing every line
on its own costs microseconds of Python per point. Here the lines of a series are matched by one
regular expression built for their shared layout (``temperature=(float),humidity=(int)i``) and
each field's values are converted as a column, so the per-point work runs in C.

The fast path only takes bodies it can read exactly as the line-by-line parser does: no escapes,
no comments, no carriage returns or tabs, every line of a series in its layout, every value and
timestamp valid and inside the time window. Anything else, and it declines (returns None): the
caller then parses the body line by line, which also explains what is wrong. A property test
checks that the two agree on every body the fast path accepts.
"""

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import orjson
from line_protocol_parser import LineFormatError, parse_line

from ..domain import FieldColumns, PointColumns
from ..timeparse import TimeWindow
from .json_body import MAX_STRING_VALUE_LENGTH, FieldsError, check_fields
from .line_protocol import INT64_MAX, INT64_MIN

Tags = tuple[tuple[str, str], ...]

# What a value of each kind looks like, as line protocol writes it and the parser accepts it
# (checked against the parser by the tests). Numbers are kept short enough that every match
# converts exactly: 18-digit integers fit in 64 bits, floats stay far from overflow and
# underflow. Digits are ASCII only: ``\d`` would also take other scripts' digits, which
# ``int()`` reads and the parser refuses. The float pattern is loose (a full one costs the
# regex engine twice the time): ``float()`` refuses what is not a number, such as ``1.2.3``.
_VALUE = {
    "float": r"(-?[0-9.]{1,60}(?:[eE][+-]?[0-9]{1,2})?)",
    "int": r"(-?[0-9]{1,18})i",
    "uint": r"([0-9]{1,18})u",
    "bool": r"(t|T|true|True|TRUE|f|F|false|False|FALSE)",
    "string": r'"([^"\n]*)"',
}
_BOOLEANS = {"t": True, "T": True, "true": True, "True": True, "TRUE": True,
             "f": False, "F": False, "false": False, "False": False, "FALSE": False}  # fmt: skip
_BOOLEAN_JSON = {True: b"true", False: b"false"}
_SUMMARY_KIND = {"float": "float", "int": "integer", "uint": "integer", "bool": "boolean",
                 "string": "string"}  # fmt: skip
_CONVERT: dict[str, Callable[[str], Any]] = {
    "float": float,
    "int": int,
    "uint": int,
    "bool": _BOOLEANS.__getitem__,
    "string": str,
}
# One field of a plain line, to learn a series' layout from its first line.
_FIELD = re.compile(r'([^,="\s]+)=("[^"\n]*"|[^,\s"]+)')


def bulk_points(
    text: str,
    scale: int,
    window: TimeWindow,
    now_us: int,
    target_of: Callable[[str, Tags], object],
) -> dict[Any, tuple[PointColumns, FieldColumns]] | None:
    """Every point of a body of plain lines, and their fields as columns, by series target
    (``target_of(measurement, tags)``) in the order the series first appear; None when the body
    needs the line-by-line parser."""
    if "\\" in text or "\r" in text or "\t" in text or "\x00" in text:
        return None
    groups: dict[str, list[str]] = {}
    for line in text.split("\n"):
        key, _, rest = line.partition(" ")
        if rest:
            lines = groups.get(key)
            if lines is None:
                groups[key] = [rest]
            else:
                lines.append(rest)
        elif line:
            return None  # no fields: let the parser say so
    found: dict[Any, tuple[PointColumns, FieldColumns]] = {}
    for key, rests in groups.items():
        series = _series(key)
        if series is None:
            return None
        target = target_of(*series)
        if isinstance(target, str) or target in found:
            return None  # a bad series_id tag, or tags written in two orders
        parsed = _group_points(rests, scale, window, now_us)
        if parsed is None:
            return None
        found[target] = parsed
    return found


@lru_cache(maxsize=4096)
def _series(key: str) -> tuple[str, Tags] | None:
    """The measurement and sorted tags of a series key, as the parser reads them."""
    if not key or key[0] == "#" or '"' in key:
        return None
    # Split naively (there are no escapes), then let the parser confirm the reading.
    measurement, *pairs = key.split(",")
    tags = []
    for pair in pairs:
        name, _, value = pair.partition("=")
        tags.append((name, value))
    tags.sort()
    try:  # the parser has the last word on what a key means (empty or repeated tags...)
        parsed = parse_line(f"{key} f=1")
    except LineFormatError:
        return None
    if parsed["measurement"] != measurement or sorted(parsed["tags"].items()) != tags:
        return None
    return measurement, tuple(tags)


def _group_points(
    rests: list[str], scale: int, window: TimeWindow, now_us: int
) -> tuple[PointColumns, FieldColumns] | None:
    """The points of one series' lines (each without its key), or None to decline."""
    layout = _layout(rests[0])
    if layout is None:
        return None
    names, kinds, pattern = layout
    rows = pattern.findall("\n".join(rests))
    if len(rows) != len(rests):
        return None  # a line that does not follow the first one's layout
    columns = list(zip(*rows, strict=True))
    times = _times(columns.pop(), scale, window, now_us)
    if times is None:
        return None
    try:
        values = [list(map(_CONVERT[k], c)) for k, c in zip(kinds, columns, strict=True)]
    except ValueError:
        return None
    for kind, column in zip(kinds, values, strict=True):
        if kind == "string" and max(map(len, column)) > MAX_STRING_VALUE_LENGTH:
            return None
    try:  # the same names and kinds on every line: checking one is enough
        check_fields(dict(zip(names, (column[0] for column in values), strict=True)))
    except FieldsError:
        return None
    texts = [_json_texts(kind, column) for kind, column in zip(kinds, values, strict=True)]
    documents = list(map(_template(names).__mod__, zip(*texts, strict=True)))
    summary_kinds = tuple(_SUMMARY_KIND[kind] for kind in kinds)
    return PointColumns(times, documents), FieldColumns(names, summary_kinds, values)


def _json_texts(kind: str, column: list[Any]) -> list[bytes]:
    """Each value of a column as JSON, as ``orjson.dumps`` writes it inside an object."""
    if kind == "bool":
        return list(map(_BOOLEAN_JSON.__getitem__, column))
    if kind == "string":
        return list(map(orjson.dumps, column))
    return orjson.dumps(column)[1:-1].split(b",")  # numbers hold no comma


@lru_cache(maxsize=1024)
def _template(names: tuple[str, ...]) -> bytes:
    """``{"name":%b,...}``: a point's fields as JSON, from its values' JSON texts."""
    keys = (orjson.dumps(name).replace(b"%", b"%%") for name in names)
    return b"{" + b",".join(key + b":%b" for key in keys) + b"}"


def _layout(rest: str) -> tuple[tuple[str, ...], tuple[str, ...], re.Pattern[str]] | None:
    """Field names, value kinds and a pattern for lines laid out like ``rest`` (one series' first
    line after its key)."""
    names: list[str] = []
    kinds: list[str] = []
    position = 0
    while True:
        match = _FIELD.match(rest, position)
        if match is None:
            return None
        name, value = match.groups()
        names.append(name)
        kinds.append(_kind(value))
        position = match.end()
        if position == len(rest) or rest[position] == " ":
            break
        if rest[position] != ",":
            return None
        position += 1
    if len(set(names)) != len(names):
        return None
    return tuple(names), tuple(kinds), _pattern(tuple(names), tuple(kinds))


@lru_cache(maxsize=1024)
def _pattern(names: tuple[str, ...], kinds: tuple[str, ...]) -> re.Pattern[str]:
    """One line of a layout: its values, then its timestamp if it has one, as groups."""
    fields = ",".join(f"{re.escape(n)}={_VALUE[k]}" for n, k in zip(names, kinds, strict=True))
    return re.compile(rf"^{fields}(?: (-?[0-9]{{1,19}}))?$", re.MULTILINE)


def _kind(value: str) -> str:
    """The kind of a field value by its spelling; a wrong guess only fails the layout match."""
    if value[0] == '"':
        return "string"
    if value in _BOOLEANS:
        return "bool"
    if value[-1] == "i":
        return "int"
    if value[-1] == "u":
        return "uint"
    return "float"


def _times(
    stamps: tuple[str, ...], scale: int, window: TimeWindow, now_us: int
) -> list[int] | None:
    """Microseconds for each line's timestamp (``now_us`` where there is none), or None when one
    falls outside the 64-bit range or the time window."""
    if "" in stamps:
        if any(stamps):
            return None  # some lines stamped and some not: rare, left to the parser
        return [now_us] * len(stamps)
    raw = list(map(int, stamps))
    low, high = min(raw) * scale, max(raw) * scale
    if low < INT64_MIN or high > INT64_MAX:
        return None
    if scale % 1000 == 0:
        factor = scale // 1000
        times = raw if factor == 1 else [t * factor for t in raw]
    else:
        times = [t * scale // 1000 for t in raw]
    if min(times) < window.min_us or max(times) > now_us + window.max_ahead_us:
        return None
    return times
