"""Output formats of series reads: one small class per format, chosen by ``format=`` or Accept.

Points arrive from storage as chunks of ready text (documents or CSV lines); a renderer only
frames them, so a million points stream in constant memory. Downsampled rows are few and are
rendered here.
"""

from collections.abc import AsyncIterator, Iterable

import orjson
from starlette.requests import Request

from ..domain import PointText
from ..downsample import Row
from ..errors import BadInput
from ..timeparse import format_us_at
from .responses import JAVASCRIPT, JSON, jsonp_callback


class Renderer:
    """JSON, the seed's format: a list of point documents (or of bucket rows)."""

    name = "json"
    media_type = JSON

    def __init__(self, callback: str | None = None) -> None:
        self.callback = callback
        if callback:
            self.media_type = JAVASCRIPT

    def point_text(self, columns: tuple[str, ...]) -> PointText:
        """How storage should write each point for this format."""
        return PointText(separator=",")

    def head(self, columns: tuple[str, ...]) -> bytes:
        return b"/**/%s([" % self.callback.encode() if self.callback else b"["

    def tail(self, empty: bool) -> bytes:
        return b"]);" if self.callback else b"]"

    def headers(self, series_id: int) -> dict[str, str]:
        return {}

    async def points(
        self, chunks: AsyncIterator[bytes], columns: tuple[str, ...]
    ) -> AsyncIterator[bytes]:
        """The framed body of a stream of point chunks."""
        separator = self.point_text(columns).separator.encode()
        yield self.head(columns)
        empty = True
        async for chunk in chunks:
            yield chunk if empty else separator + chunk
            empty = False
        yield self.tail(empty)

    def buckets(
        self, rows: Iterable[Row], fields: list[str], aggregates: tuple[str, ...], offset_us: int
    ) -> bytes:
        """The whole body of downsampled rows."""
        objects = [
            {"timestamp": format_us_at(start, offset_us), "fields": values}
            for start, values in rows
        ]
        return self.head(()) + orjson.dumps(objects)[1:-1] + self.tail(not objects)


class NDJSONRenderer(Renderer):
    """Newline-delimited JSON: one document per line, for line-by-line consumers."""

    name = "ndjson"
    media_type = "application/x-ndjson"

    def buckets(
        self, rows: Iterable[Row], fields: list[str], aggregates: tuple[str, ...], offset_us: int
    ) -> bytes:
        lines = [
            orjson.dumps({"timestamp": format_us_at(start, offset_us), "fields": values})
            for start, values in rows
        ]
        return b"\n".join(lines) + self.tail(not lines)

    def point_text(self, columns: tuple[str, ...]) -> PointText:
        return PointText(separator="\n")

    def head(self, columns: tuple[str, ...]) -> bytes:
        return b""

    def tail(self, empty: bool) -> bytes:
        return b"" if empty else b"\n"


class CSVRenderer(Renderer):
    """CSV with a header row, one column per field, for spreadsheets and pandas."""

    name = "csv"
    media_type = "text/csv; charset=utf-8"

    def point_text(self, columns: tuple[str, ...]) -> PointText:
        return PointText(csv_columns=columns, separator="\n")

    def head(self, columns: tuple[str, ...]) -> bytes:
        return (",".join(["timestamp", *(_csv_cell(c) for c in columns)]) + "\n").encode()

    def tail(self, empty: bool) -> bytes:
        return b"" if empty else b"\n"

    def buckets(
        self, rows: Iterable[Row], fields: list[str], aggregates: tuple[str, ...], offset_us: int
    ) -> bytes:
        # One column per field and aggregate, e.g. temp_C_mean; a field a bucket lacks is empty.
        columns = tuple(f"{field}_{name}" for field in fields for name in aggregates)
        lines = []
        for start, values in rows:
            cells = [format_us_at(start, offset_us)]
            for field in fields:
                found = values.get(field, {})
                cells += (_csv_value(found.get(name)) for name in aggregates)
            lines.append(",".join(cells).encode())
        return self.head(columns) + b"\n".join(lines) + self.tail(not lines)

    def headers(self, series_id: int) -> dict[str, str]:
        return {"Content-Disposition": f'attachment; filename="series-{series_id}.csv"'}


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _csv_cell(value)
    return orjson.dumps(value).decode()


def _csv_cell(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


RENDERERS: dict[str, type[Renderer]] = {r.name: r for r in (Renderer, NDJSONRenderer, CSVRenderer)}
_BY_MEDIA_TYPE = {
    "text/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/json": "json",
}


def choose_renderer(request: Request) -> Renderer:
    """``format=json|csv|ndjson`` first, then the Accept header; JSON by default."""
    name = request.query_params.get("format")
    if name is None:
        accepted = request.headers.get("accept", "")
        for part in accepted.split(","):
            media_type = part.split(";", 1)[0].strip().lower()
            if media_type in _BY_MEDIA_TYPE:
                name = _BY_MEDIA_TYPE[media_type]
                break
        else:
            name = "json"
    renderer = RENDERERS.get(name)
    if renderer is None:
        raise BadInput(f"format must be one of {', '.join(RENDERERS)} (got {name[:20]!r})")
    if renderer is Renderer:
        return Renderer(jsonp_callback(request))
    return renderer()
