"""InfluxDB line protocol: ``measurement,tag=v field=1.5,n=3i,s="x",ok=t 1465839830100400200``.

Single lines are parsed by ``line-protocol-parser`` (C, the archived InfluxDB 1.x parser's
semantics); this module splits a body into lines (a quoted string may span lines), skips comments
and blank lines, applies the request's precision and writes lines back (``serialize_point``).

The grammar as InfluxDB documents it: measurements escape commas and spaces; tag keys, tag
values and field keys escape commas, equals signs and spaces; string field values are
double-quoted with ``\\"`` and ``\\\\`` escapes and may span lines; integers end in ``i``,
unsigned integers in ``u``; booleans are t/T/true/True/TRUE and f/F/false/False/FALSE; the
timestamp is an integer in the request's precision; ``#`` starts a comment line. A backslash
before any other character is kept as it is.
"""

from dataclasses import dataclass
from typing import NamedTuple

from line_protocol_parser import LineFormatError, parse_line

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1

# Nanoseconds per unit of each accepted precision (InfluxDB 1.x names included).
PRECISION_NS = {"ns": 1, "n": 1, "us": 1_000, "u": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                "m": 60_000_000_000, "h": 3_600_000_000_000}  # fmt: skip


FieldValue = bool | int | float | str


class LineProtocolError(ValueError):
    """A request-level problem, such as an unknown precision."""


class LinePoint(NamedTuple):
    """One parsed line. ``tags`` are sorted by key; ``time_ns`` is None without a timestamp."""

    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: dict[str, FieldValue]
    time_ns: int | None


@dataclass(frozen=True, slots=True)
class LineError:
    """A line that could not be parsed, with InfluxDB's style of message."""

    line: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"unable to parse '{self.text[:200]}': {self.reason} (line {self.line})"


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Every good line as a point, every bad one as an error."""

    points: list[LinePoint]
    errors: list[LineError]


class _Bad(Exception):
    """Internal: the current line is malformed."""


def parse_lines(body: bytes | str, precision: str = "ns") -> ParseResult:
    """Parse a whole request body."""
    scale = precision_scale(precision)
    points: list[LinePoint] = []
    errors: list[LineError] = []
    for number, line in body_lines(body):
        parsed = parse_line_at(number, line, scale)
        if isinstance(parsed, LineError):
            errors.append(parsed)
        else:
            points.append(parsed)
    return ParseResult(points, errors)


def precision_scale(precision: str) -> int:
    """Nanoseconds per unit of ``precision``; ``LineProtocolError`` for an unknown one."""
    if precision not in PRECISION_NS:
        raise LineProtocolError(
            f"unknown precision {precision!r}: use one of {', '.join(PRECISION_NS)}"
        )
    return PRECISION_NS[precision]


def body_lines(body: bytes | str) -> list[tuple[int, str]]:
    """The body's lines with their numbers, stripped, without blank lines and comments."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    kept = []
    for number, line in _lines(text):
        stripped = line.strip(" \t\r")
        if stripped and stripped[0] != "#":
            kept.append((number, stripped))
    return kept


def parse_line_at(number: int, line: str, scale: int) -> LinePoint | LineError:
    """One stripped line: its point, or what is wrong with it."""
    try:
        return _parse_line(line, scale)
    except _Bad as exc:
        return LineError(number, line, str(exc))


def _lines(text: str) -> list[tuple[int, str]]:
    """Split on newlines, except inside a quoted string field value."""
    raw = text.split("\n")
    if '"' not in text:
        return list(enumerate(raw, start=1))
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 1
    for number, part in enumerate(raw, start=1):
        if not pending:
            start = number
        pending.append(part)
        joined = "\n".join(pending)
        if not _open_quote(joined):
            lines.append((start, joined))
            pending = []
    if pending:
        lines.append((start, "\n".join(pending)))
    return lines


def _open_quote(line: str) -> bool:
    """True when the line's field section ends inside a string value."""
    i, n = _skip_key(line)
    i = _skip_spaces(line, i, n)
    inside = after_equals = False
    while i < n:
        c = line[i]
        if c == "\\" and i + 1 < n:  # an escaped character, inside a string or in a key
            i += 2
            after_equals = False
            continue
        if inside:
            if c == '"':
                inside = False
        elif c == '"' and after_equals:  # a string value starts
            inside = True
        elif c == " ":
            return False  # the timestamp follows: any quote there is not a string
        after_equals = c == "=" and not inside
        i += 1
    return inside


def _skip_key(line: str) -> tuple[int, int]:
    """Index just past the series key (measurement and tags), and the line's length."""
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c == " ":
            return i, n
        i += 1
    return n, n


def _parse_line(line: str, scale: int) -> LinePoint:
    try:
        parsed = parse_line(line)
    except LineFormatError as exc:
        raise _Bad(str(exc).rstrip(".").lower() or "invalid line") from None
    # The parser hands fields over last first; give them back in the line's order.
    fields: dict[str, FieldValue] = dict(reversed(parsed["fields"].items()))
    time = parsed["time"]
    if time is not None:
        time *= scale
        if not INT64_MIN <= time <= INT64_MAX:
            raise _Bad("timestamp out of range for its precision")
    tags = parsed["tags"]
    return LinePoint(
        parsed["measurement"], tuple(sorted(tags.items())) if tags else (), fields, time
    )


def _skip_spaces(line: str, i: int, n: int) -> int:
    while i < n and line[i] in " \t":
        i += 1
    return i


# -- writing it: the inverse, for tests and benchmark data -----------------------------------


def _escape(text: str, specials: str) -> str:
    for c in specials:
        text = text.replace(c, "\\" + c)
    return text


def serialize_point(point: LinePoint, precision: str = "ns") -> str:
    """One line of line protocol for ``point``, escaping everything that needs it."""
    key = ",".join(
        [_escape(point.measurement, ", ")]
        + [f"{_escape(k, ',= ')}={_escape(v, ',= ')}" for k, v in point.tags]
    )
    fields = []
    for name, value in point.fields.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = f"{value}i"
        elif isinstance(value, float):
            text = repr(value)
        else:
            text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        fields.append(f"{_escape(name, ',= ')}={text}")
    line = f"{key} {','.join(fields)}"
    if point.time_ns is not None:
        line += f" {point.time_ns // PRECISION_NS[precision]}"
    return line
