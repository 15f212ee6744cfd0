"""ThingSpeak-compatible endpoints, so a sketch written for ThingSpeak works by changing the host.

A channel is one of our series (channel id = series id). ``/update``'s ``api_key`` is a write key
of the series, or the owner's token together with ``channel_id``. Answers are ThingSpeak's own:
``/update`` answers the entry id (the point id) as plain text, ``0`` when the write is refused,
always with Content-Length, since the ThingSpeak Arduino library parses the raw reply.
Unlike ThingSpeak: any number of fields, no 15-second rule, no 8,000-result cap.
"""

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import tzinfo
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..auth import Writer, authenticate_writer
from ..context import AppContext, app_context
from ..counts import count_in, parse_count
from ..domain import SeriesInfo, SeriesWrite
from ..errors import BadInput, Forbidden, NotFound, TimeseriesError, Unauthorized, Unavailable
from ..feed_aggregates import Entry, parse_period, per_period
from ..ingest.json_body import parse_object
from ..ingest.thingspeak import (
    MAX_FIELD_NUMBER,
    bulk_points,
    parse_created_at,
    request_zone,
    update_point,
)
from ..keys import find_key, is_read_key
from ..storage.base import Storage
from ..timeparse import MIN_US, now_us, parse_iso
from .errors import RETRY_AFTER_SECONDS, header_text
from .gzip import request_body
from .ids import parse_id
from .openapi import responses
from .routing import LeanRoute, query_parameters
from .thingspeak_shapes import (
    EXTRA_COLUMNS,
    FieldLayout,
    channel_json,
    csv_header,
    csv_rows,
    entry_json,
    error_json,
    error_text,
    text,
)

router = APIRouter(route_class=LeanRoute)

TEXT = "text/plain; charset=utf-8"
JSON = "application/json; charset=utf-8"
CSV = "text/csv; charset=utf-8"
# Entries a feed answers when the request names neither a count nor a time range (ThingSpeak's).
DEFAULT_RESULTS = 100
AGGREGATIONS = ("timescale", "average", "median", "sum")
KEY_HEADERS = ("x-thingspeakapikey", "thingspeakapikey")

# What may not stand in a header value as is: a newline would end the header (and the server
# drops the connection rather than send it), and only latin-1 goes on the wire; ASCII is safest.

Handler = Callable[..., Awaitable[Response]]

# ThingSpeak's error shapes, for the OpenAPI description.
_ERROR_OBJECT = {
    "type": "object",
    "required": ["status", "error"],
    "properties": {"status": {"type": "string"}, "error": {"type": "object"}},
}
_PLAIN = {"text/plain": {"schema": {"type": "string"}}}


def _answers(ok: int, ok_media: tuple[str, ...], as_json: bool, *errors: int) -> dict[Any, Any]:
    """The responses of a ThingSpeak endpoint in its own shapes (a body over the size limit is
    refused before any endpoint runs, with our own ``{"message": ...}``)."""
    documented: dict[Any, Any] = {
        ok: {"description": "OK", "content": {media: {"schema": {}} for media in ok_media}},
        413: responses(413)[413],
    }
    for code in errors:
        content = {"application/json": {"schema": _ERROR_OBJECT}} if as_json else _PLAIN
        documented[code] = {"description": f"ThingSpeak's {code} error", "content": content}
    return documented


_READ_ERRORS = (400, 401, 403, 404)


def _error_headers(exc: TimeseriesError) -> dict[str, str]:
    """Our message in a header, since ThingSpeak's bodies (``0``, an error code) cannot say it."""
    headers = {"X-Timeseries-Error": header_text(exc.message[:500])}
    if isinstance(exc, Unavailable):
        headers["Retry-After"] = RETRY_AFTER_SECONDS
    return headers


def _answers_errors(as_json: bool) -> Callable[[Handler], Handler]:
    """Answer domain errors as ThingSpeak does: its JSON error object, or the bare error code."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def handle(request: Request, **path: str) -> Response:
            try:
                return await handler(request, **path)
            except TimeseriesError as exc:
                body = error_json(exc.status, exc.message) if as_json else error_text(exc.status)
                return Response(body, exc.status, _error_headers(exc), JSON if as_json else TEXT)

        return handle

    return wrap


async def _params(request: Request, context: AppContext) -> dict[str, Any]:
    """The query string's parameters, overridden by a form or JSON body's."""
    params: dict[str, Any] = dict(request.query_params)
    body = await request_body(request, context.settings.max_body_bytes)
    if body.strip():
        if "json" in request.headers.get("content-type", ""):
            params.update(parse_object(body))
        else:
            try:
                params.update(parse_qsl(body.decode(), keep_blank_values=True))
            except UnicodeDecodeError:
                raise BadInput("the form body is not UTF-8") from None
    return params


def _api_key(request: Request, params: Any, name: str = "api_key") -> str | None:
    """The key from ThingSpeak's header (the Arduino library sends it so) or a parameter."""
    for header in KEY_HEADERS:
        if request.headers.get(header):
            return request.headers[header].strip()
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise BadInput(f"{name} must be a string")
    return value


def _update_series(writer: Writer, params: dict[str, Any]) -> int:
    """The series an update goes to: the write key's, or ``channel_id`` for a user's token."""
    channel = params.get("channel_id")
    if writer.key is not None and channel in (None, ""):
        return writer.key.series_id
    if channel in (None, ""):
        raise BadInput("with a user's token, name the series: channel_id=N")
    series_id = parse_id(str(channel), "channel")
    writer.check_series(series_id)
    return series_id


async def _update(request: Request, as_json: bool) -> Response:
    context = app_context(request)
    try:
        params = await _params(request, context)
        api_key = _api_key(request, params)
        if not api_key:
            raise Unauthorized("api_key is required: in the query, the body or X-THINGSPEAKAPIKEY")
        writer = await authenticate_writer(context.users, context.storage, api_key)
        series_id = _update_series(writer, params)
        names = await context.storage.series_field_names(series_id)
        zone = request_zone(params)
        point = update_point(params, names, context.time_window, now_us(), zone)
        ids = await context.storage.write_points([SeriesWrite(writer.user_id, series_id, [point])])
    except Unavailable as exc:
        return Response(b"0", 503, _error_headers(exc), TEXT)
    except TimeseriesError as exc:  # ThingSpeak answers a refused update with 200 and 0
        return Response(b"-1" if as_json else b"0", 200, _error_headers(exc), TEXT)
    if not as_json:
        return Response(b"%d" % ids[0][0], 200, media_type=TEXT)
    layout = FieldLayout(names)
    entry = Entry(point.ts_us, ids[0][0], orjson.loads(point.fields_json))
    shaped = entry_json(entry, layout, layout.numbers([entry]), EXTRA_COLUMNS, zone)
    shaped = {"channel_id": series_id, **shaped}
    return Response(orjson.dumps(shaped), 200, media_type=JSON)


_UPDATE_DOC = query_parameters(
    ("api_key", "A write key of the series (or the X-THINGSPEAKAPIKEY header)"),
    ("field1", "Value of field 1 (field2, field3, ... likewise; any number of fields)"),
    ("created_at", "Time of the entry (ISO 8601; default: now)"),
    ("status", "Status text"),
    ("lat", "Latitude"),
    ("long", "Longitude"),
    ("elevation", "Elevation"),
    ("channel_id", "The series, when api_key is a user's token"),
    ("timezone", "IANA zone of a created_at without offset, and of the reply (default UTC)"),
)


@router.api_route(
    "/update",
    methods=["GET", "POST"],
    summary="ThingSpeak write",
    openapi_extra=_UPDATE_DOC,
    responses=_answers(200, ("text/plain",), False, 503),
)
async def update(request: Request) -> Response:
    """Add one entry; answers its id as plain text, or ``0`` when refused."""
    return await _update(request, as_json=False)


@router.api_route(
    "/update.json",
    methods=["GET", "POST"],
    summary="ThingSpeak write, answered as JSON",
    openapi_extra=_UPDATE_DOC,
    # A refused update answers -1 as text, as ThingSpeak does.
    responses=_answers(200, ("application/json", "text/plain"), False, 503),
)
async def update_json(request: Request) -> Response:
    """Add one entry; answers it as ThingSpeak's JSON entry, or ``-1`` when refused."""
    return await _update(request, as_json=True)


@router.post(
    "/channels/{series_id}/bulk_update.json",
    summary="ThingSpeak bulk write",
    responses=_answers(202, ("application/json",), True, 400, 401, 403, 404, 503),
)
@_answers_errors(as_json=True)
async def bulk_update(request: Request, series_id: str) -> Response:
    """``{"write_api_key", "updates": [{"created_at" | "delta_t", "field1", ...}]}``, all or
    nothing; answers ``202 {"success": true}``."""
    context = app_context(request)
    sid = parse_id(series_id, "channel")
    body = parse_object(await request_body(request, context.settings.max_body_bytes))
    writer = await authenticate_writer(
        context.users, context.storage, _api_key(request, body, "write_api_key")
    )
    writer.check_series(sid)
    names = await context.storage.series_field_names(sid)
    zone = request_zone(body)
    points = bulk_points(body.get("updates"), names, context.time_window, now_us(), zone)
    await context.storage.write_points([SeriesWrite(writer.user_id, sid, points)])
    return Response(b'{"success":true}', 202, media_type=JSON)


# -- reads ----------------------------------------------------------------------------------------


async def _readable_series(request: Request, series_id: str) -> tuple[SeriesInfo, FieldLayout]:
    """The series and its field layout, once the request may read it.

    Reads are public, as every GET of this server, unless the operator set ``private_reads``:
    then, as for a private ThingSpeak channel, an ``api_key`` is required. An ``api_key`` given
    must be a read key of the series or its owner's token, so a wrong or revoked key is refused
    rather than ignored.
    """
    context = app_context(request)
    sid = parse_id(series_id, "channel")
    token = _api_key(request, request.query_params)
    if not token and context.settings.private_reads:
        raise Unauthorized(f"channel {sid} is private: add api_key=<one of its read keys>")
    series = await context.storage.get_series(sid)
    if token and not await is_read_key(context.storage, token, sid):
        user = context.users.authenticate(token)
        if user is None or user.id != series.owner_id:
            key = await find_key(context.storage, token)
            if key is None and user is None:
                raise Unauthorized(f"api_key is not a read key of channel {sid}")
            raise Forbidden(f"this key cannot read channel {sid}: use one of its read keys")
    return series, FieldLayout(await context.storage.series_field_names(sid))


Chunks = AsyncIterator[list[Entry]]


def _entries(docs: list[Any]) -> list[Entry]:
    return [Entry(parse_iso(d["timestamp"]), d["id"], d["fields"]) for d in docs]


def _time(params: Any, name: str, zone: tzinfo) -> int | None:
    return parse_created_at(params[name], name, zone) if params.get(name) else None


def _count(params: Any, name: str) -> int | None:
    value = params.get(name)
    return None if value is None else parse_count(value, name)


async def _entries_in_range(
    storage: Storage, series_id: int, start: int | None, end: int | None
) -> Chunks:
    async for chunk in storage.series_points_json(series_id, start, end):
        yield _entries(orjson.loads(b"[" + chunk + b"]"))


async def _one_chunk(entries: list[Entry]) -> Chunks:
    yield entries


class Feed(NamedTuple):
    """The entries a feed request selects, in chunks, and the field numbers they hold."""

    chunks: Chunks
    numbers: list[int]
    streamed: bool  # read chunk by chunk as it is sent: a long time range


async def _feed(request: Request, series: SeriesInfo, layout: FieldLayout, zone: tzinfo) -> Feed:
    """The entries a feed request selects (``results``, ``start``, ``end``, ``days``,
    ``minutes``), combined per period when it asks for ``timescale`` or an aggregate."""
    storage = app_context(request).storage
    params = request.query_params
    start, end = _time(params, "start", zone), _time(params, "end", zone)
    if start is None and ("days" in params or "minutes" in params):
        minutes = (_count(params, "days") or 0) * 1440 + (_count(params, "minutes") or 0)
        start = max(MIN_US, now_us() - minutes * 60_000_000)  # days=99999999: everything
    results = _count(params, "results")
    periods = [(name, parse_period(params[name], name)) for name in AGGREGATIONS if name in params]
    if results is None and start is None and end is None:
        results = DEFAULT_RESULTS
    if results is not None:
        docs = await storage.last_points_json(series.id, results, start, end)
        entries = _entries([orjson.loads(doc) for doc in docs])
        feed = Feed(_one_chunk(entries), layout.numbers(entries), streamed=False)
    else:
        feed = await _range_feed(storage, series.id, layout, start, end)
    for name, minutes in periods[:1]:
        feed = feed._replace(chunks=per_period(feed.chunks, minutes, name))
    return feed


async def _range_feed(
    storage: Storage, series_id: int, layout: FieldLayout, start: int | None, end: int | None
) -> Feed:
    """A time range, which may hold any number of entries. One chunk of storage is answered
    whole; a longer range is streamed, after a first pass that finds the field numbers every
    entry answers (the channel lists them before the first entry). An entry written between
    the passes shows only the fields of the first."""
    chunks = _entries_in_range(storage, series_id, start, end)
    first = await anext(chunks, list[Entry]())
    second = await anext(chunks, None)
    if second is None:
        return Feed(_one_chunk(first), layout.numbers(first), streamed=False)
    numbers = set(layout.numbers(first)) | set(layout.numbers(second))
    async for chunk in chunks:
        numbers.update(layout.numbers(chunk))
    chunks = _entries_in_range(storage, series_id, start, end)
    return Feed(chunks, sorted(numbers), streamed=True)


def _extras(request: Request) -> list[str]:
    """The extra columns asked for: ``location=true`` and ``status=true``."""
    params = request.query_params
    extras = []
    if params.get("location") == "true":
        extras += ["latitude", "longitude", "elevation"]
    if params.get("status") == "true":
        extras.append("status")
    return extras


async def _last_entry(request: Request, series: SeriesInfo) -> Entry | None:
    docs = await app_context(request).storage.last_points_json(series.id, 1, None, None)
    return _entries([orjson.loads(docs[0])])[0] if docs else None


async def _send(body: AsyncIterator[bytes], streamed: bool, media_type: str) -> Response:
    """A whole reply with its Content-Length (which the Arduino library needs), or a streamed
    one for a time range of any length."""
    if streamed:
        return StreamingResponse(body, 200, media_type=media_type)
    return Response(b"".join([piece async for piece in body]), 200, media_type=media_type)


_FEED_DOC = query_parameters(
    ("api_key", "A read key of the series (optional while reads are public)"),
    ("results", "The last N entries (default 100 when no time range is given; no cap)"),
    ("start", "From this time (YYYY-MM-DD HH:NN:SS, UTC or in timezone)"),
    ("end", "Up to this time"),
    ("days", "The last N days"),
    ("minutes", "The last N minutes"),
    ("timescale", "First entry per 10, 15, 20, 30, 60, 240, 720, 1440 minutes or daily"),
    ("average", "Average per period (same periods)"),
    ("median", "Median per period"),
    ("sum", "Sum per period"),
    ("status", "true: add each entry's status"),
    ("location", "true: add latitude, longitude, elevation"),
    ("timezone", "IANA zone of start/end without offset and of the times answered (default UTC)"),
)


@router.get(
    "/channels/{series_id}/feeds.json",
    summary="ThingSpeak feed",
    openapi_extra=_FEED_DOC,
    responses=_answers(200, ("application/json",), True, *_READ_ERRORS),
)
@_answers_errors(as_json=True)
async def feed_json(request: Request, series_id: str) -> Response:
    """``{"channel": {...}, "feeds": [{"created_at", "entry_id", "field1", ...}]}``."""
    zone = request_zone(request.query_params)
    series, layout = await _readable_series(request, series_id)
    feed = await _feed(request, series, layout, zone)
    extras = _extras(request)
    channel = channel_json(series, layout, feed.numbers, await _last_entry(request, series), zone)

    async def body() -> AsyncIterator[bytes]:
        yield b'{"channel":' + orjson.dumps(channel) + b',"feeds":['
        separator = b""
        async for chunk in feed.chunks:
            if chunk:
                shaped = (entry_json(e, layout, feed.numbers, extras, zone) for e in chunk)
                yield separator + b",".join(map(orjson.dumps, shaped))
                separator = b","
        yield b"]}"

    return await _send(body(), feed.streamed, JSON)


@router.get(
    "/channels/{series_id}/feeds.csv",
    summary="ThingSpeak feed as CSV",
    openapi_extra=_FEED_DOC,
    responses=_answers(200, ("text/csv",), False, *_READ_ERRORS),
)
@_answers_errors(as_json=False)
async def feed_csv(request: Request, series_id: str) -> Response:
    """``created_at,entry_id,field1,...`` with one line per entry."""
    zone = request_zone(request.query_params)
    series, layout = await _readable_series(request, series_id)
    feed = await _feed(request, series, layout, zone)
    extras = _extras(request)

    async def body() -> AsyncIterator[bytes]:
        yield csv_header(feed.numbers, extras).encode()
        async for chunk in feed.chunks:
            yield csv_rows(chunk, layout, feed.numbers, extras, zone).encode()

    return await _send(body(), feed.streamed, CSV)


async def _last(request: Request, series_id: str) -> tuple[Entry, FieldLayout]:
    series, layout = await _readable_series(request, series_id)
    last = await _last_entry(request, series)
    if last is None:
        raise NotFound(f"channel {series.id} has no entries yet")
    return last, layout


async def _last_feed(request: Request, series_id: str, media_type: str) -> Response:
    zone = request_zone(request.query_params)
    last, layout = await _last(request, series_id)
    shaped = entry_json(last, layout, layout.numbers([last]), _extras(request), zone)
    return Response(orjson.dumps(shaped), 200, media_type=media_type)


@router.get(
    "/channels/{series_id}/feeds/last.json",
    summary="ThingSpeak last entry",
    responses=_answers(200, ("application/json",), True, *_READ_ERRORS),
)
@_answers_errors(as_json=True)
async def last_feed_json(request: Request, series_id: str) -> Response:
    """The last entry: ``{"created_at", "entry_id", "field1", ...}``."""
    return await _last_feed(request, series_id, JSON)


@router.get(
    "/channels/{series_id}/feeds/last.txt",
    summary="ThingSpeak last entry (as text)",
    responses=_answers(200, ("text/plain",), False, *_READ_ERRORS),
)
@_answers_errors(as_json=False)
async def last_feed_txt(request: Request, series_id: str) -> Response:
    """The last entry's JSON as text, which the Arduino library's readStatus/readCreatedAt read."""
    return await _last_feed(request, series_id, TEXT)


def _field_number(field: str) -> int:
    number = count_in(field, MAX_FIELD_NUMBER)
    if not number:
        raise NotFound(f"no field {field[:20]!r}: fields are numbered 1 to {MAX_FIELD_NUMBER}")
    return number


async def _last_value(request: Request, series_id: str, field: str) -> Response:
    number = _field_number(field)
    last, layout = await _last(request, series_id)
    value = text(last.fields.get(layout.name_of(number)))
    return Response((value or "").encode(), 200, media_type=TEXT)


@router.get(
    "/channels/{series_id}/fields/{field}/last",
    summary="ThingSpeak last field value",
    responses=_answers(200, ("text/plain",), False, *_READ_ERRORS),
)
@_answers_errors(as_json=False)
async def last_field(request: Request, series_id: str, field: str) -> Response:
    """The field's value in the last entry, as plain text (what readFloatField parses)."""
    return await _last_value(request, series_id, field)


@router.get(
    "/channels/{series_id}/fields/{field}/last.txt",
    summary="ThingSpeak last field value",
    responses=_answers(200, ("text/plain",), False, *_READ_ERRORS),
)
@_answers_errors(as_json=False)
async def last_field_txt(request: Request, series_id: str, field: str) -> Response:
    """The same as ``/channels/<series_id>/fields/<field>/last``."""
    return await _last_value(request, series_id, field)


@router.get(
    "/channels/{series_id}/fields/{field}/last.json",
    summary="ThingSpeak last field entry",
    responses=_answers(200, ("application/json",), True, *_READ_ERRORS),
)
@_answers_errors(as_json=True)
async def last_field_json(request: Request, series_id: str, field: str) -> Response:
    """``{"created_at", "entry_id", "fieldN"}`` of the last entry."""
    number = _field_number(field)
    zone = request_zone(request.query_params)
    last, layout = await _last(request, series_id)
    shaped = entry_json(last, layout, [number], zone=zone)
    return Response(orjson.dumps(shaped), 200, media_type=JSON)
