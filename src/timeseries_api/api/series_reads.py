"""Reading a series: ranges, paging, field selection, downsampling, formats, latest, fields."""

from dataclasses import replace
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..auth import authorize_read
from ..context import AppContext, app_context
from ..domain import PointKey, PointRange
from ..downsample import bucket_rows, numeric_fields, parse_aggregates, parse_fill
from ..errors import BadInput
from ..ingest.json_body import MAX_FIELD_NAME_LENGTH, MAX_FIELDS_PER_POINT, MAX_ID
from ..timeparse import format_us, now_us, parse_duration, parse_time, parse_utc_offset
from .ids import parse_id
from .openapi import responses
from .renderers import choose_renderer
from .responses import json_response
from .routing import CALLBACK, TOKEN, LeanRoute, query_parameters

router = APIRouter(route_class=LeanRoute)

MAX_LIMIT = 10_000_000
TIME_HELP = (
    "ISO 8601 (2026-11-24T08:30:00Z; no offset means UTC), epoch seconds (1763971200), now, "
    "or relative to now (-1h, -7d, now-30m); inclusive"
)
FROM = ("from", f"Only points at or after this time: {TIME_HELP}")
TO = ("to", f"Only points at or before this time: {TIME_HELP}")
READ_PARAMETERS = (
    FROM,
    TO,
    ("limit", "At most this many points (or buckets); a full page answers a Link rel=next"),
    ("after", "Paging cursor: only points after it, from the previous page's X-Next-After"),
    ("order", "asc (oldest first, the default) or desc (newest first)"),
    ("fields", "Comma-separated field names to keep, e.g. temp_C,batt_V"),
    ("every", "Downsample into buckets of this length: 30s, 5m, 1h, 1d, 1w"),
    ("agg", "With every: mean (default), min, max, sum, count, first, last; several: mean,max"),
    ("tz", "With every: UTC offset the buckets align to, e.g. +09:00 (days start at midnight)"),
    ("fill", "With every: empty buckets are left out (none, default), or null, previous, 0"),
    ("format", "json (default), csv or ndjson; or send Accept: text/csv, application/x-ndjson"),
    TOKEN,
    CALLBACK,
)


async def _reader(request: Request, series_id: str) -> tuple[AppContext, int]:
    """The app context and series id of a GET on a series, once the reader may read it."""
    context = app_context(request)
    sid = parse_id(series_id, "series")
    await authorize_read(context, request, sid)
    return context, sid


def _time_span(params: QueryParams) -> tuple[int | None, int | None]:
    now = now_us()
    start = parse_time(params["from"], "from", now) if "from" in params else None
    end = parse_time(params["to"], "to", now) if "to" in params else None
    return start, end


def _fields(params: QueryParams) -> tuple[str, ...] | None:
    if "fields" not in params:
        return None
    names = tuple(dict.fromkeys(name.strip() for name in params["fields"].split(",")))
    if not all(names) or any(len(name) > MAX_FIELD_NAME_LENGTH for name in names):
        raise BadInput(
            f"fields: comma-separated field names of 1 to {MAX_FIELD_NAME_LENGTH} characters"
        )
    if len(names) > MAX_FIELDS_PER_POINT:
        raise BadInput(f"fields: at most {MAX_FIELDS_PER_POINT} names")
    if any('"' in name for name in names):  # checked before the answer starts streaming
        raise BadInput("fields: a field name with a double quote cannot be selected")
    return names


def _limit(params: QueryParams) -> int | None:
    if "limit" not in params:
        return None
    text = params["limit"]
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise BadInput(f"limit must be a whole number from 1 to {MAX_LIMIT:,}")
    return int(text)


def _descending(params: QueryParams) -> bool:
    order = params.get("order", "asc")
    if order not in ("asc", "desc"):
        raise BadInput(f"order must be asc or desc (got {order[:20]!r})")
    return order == "desc"


def _cursor(params: QueryParams) -> PointKey | None:
    if "after" not in params:
        return None
    ts, sep, pid = params["after"].partition("_")
    if sep and ts.removeprefix("-").isdigit() and pid.isdigit():
        key = PointKey(int(ts), int(pid))
        if abs(key.ts_us) <= MAX_ID and key.id <= MAX_ID:
            return key
    raise BadInput("after must be a cursor from a previous page's X-Next-After header")


def cursor_text(key: PointKey) -> str:
    """The ``after`` value that continues after ``key``."""
    return f"{key.ts_us}_{key.id}"


@router.get(
    "/series/{series_id}",
    summary="The points of one series: a range, a page, some fields, or downsampled",
    responses=responses(200, 400, 401, 404),
    openapi_extra=query_parameters(*READ_PARAMETERS),
)
async def get_series(request: Request, series_id: str) -> Response:
    """Every point of the series in time order, as the seed answers, or what the parameters
    ask for: a time range, a page, some fields, another order, buckets of aggregates, CSV or
    NDJSON. Large answers stream in constant memory."""
    context, sid = await _reader(request, series_id)
    params = request.query_params
    renderer = choose_renderer(request)
    span = _time_span(params)
    fields, limit, descending = _fields(params), _limit(params), _descending(params)
    if "every" in params:
        return await _downsampled(request, context, sid, span, fields, limit, descending)
    for name in ("agg", "tz", "fill"):
        if name in params:
            raise BadInput(f"{name} applies to downsampling: add every=, e.g. every=1h")
    points = PointRange(span[0], span[1], descending, _cursor(params), None, fields)
    info = await context.storage.get_series(sid)
    headers = renderer.headers(sid)
    if limit is not None:
        last = await context.storage.page_end(sid, points, limit)
        if last is not None:
            points = replace(points, through=last)
            after = cursor_text(last)
            # Never a token in a response: the client adds its own again.
            kept = {name: value for name, value in params.items() if name != "token"}
            query = urlencode({**kept, "after": after})
            headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
            headers["X-Next-After"] = after
    columns: tuple[str, ...] = ()
    if renderer.name == "csv":
        columns = fields or tuple(f.name for f in await context.storage.series_fields(info.id))
    chunks = context.storage.points_text(sid, points, renderer.point_text(columns))
    return StreamingResponse(
        renderer.points(chunks, columns), media_type=renderer.media_type, headers=headers
    )


async def _downsampled(
    request: Request,
    context: AppContext,
    sid: int,
    span: tuple[int | None, int | None],
    fields: tuple[str, ...] | None,
    limit: int | None,
    descending: bool,
) -> Response:
    params = request.query_params
    if "after" in params:
        raise BadInput("after pages through points; with every=, page with from/to instead")
    renderer = choose_renderer(request)
    every = parse_duration(params["every"], "every")
    aggregates = parse_aggregates(params.get("agg", "mean"))
    offset = parse_utc_offset(params["tz"]) if "tz" in params else 0
    fill = parse_fill(params.get("fill", "none"))
    await context.storage.get_series(sid)
    ends = "first" in aggregates or "last" in aggregates
    summaries = await context.storage.aggregate(sid, every, offset, span, fields, ends)
    # The requested fields, in their order, else every field holding numbers, by name.
    present = list(fields) if fields is not None else numeric_fields(summaries)
    rows = bucket_rows(summaries, present, aggregates, every, offset, span, fill, descending)
    body = renderer.buckets(islice(rows, limit), present, aggregates, offset)
    return Response(body, media_type=renderer.media_type, headers=renderer.headers(sid))


@router.get(
    "/series/{series_id}/latest",
    summary="The latest point of a series",
    responses=responses(200, 400, 401, 404),
    openapi_extra=query_parameters(TOKEN, CALLBACK),
)
async def latest_point(request: Request, series_id: str) -> Response:
    """The point with the latest timestamp, as ``{id, series_id, timestamp, fields}``; ``null``
    while the series has no point."""
    context, sid = await _reader(request, series_id)
    doc = await context.storage.latest_point_json(sid)
    if doc is None:
        await context.storage.get_series(sid)  # 404 for a series that does not exist
        return json_response(request, None)
    return json_response(request, raw=doc.encode())


@router.get(
    "/series/{series_id}/fields",
    summary="The fields of a series: name, type, count, first and last time",
    responses=responses(200, 400, 401, 404),
    openapi_extra=query_parameters(TOKEN, CALLBACK),
)
async def series_fields(request: Request, series_id: str) -> Response:
    """Each field the series' points have, by name: the type of its latest value (integer,
    float, boolean, string), how many points have it, and its first and last time."""
    context, sid = await _reader(request, series_id)
    await context.storage.get_series(sid)
    listing: list[dict[str, Any]] = [
        {
            "name": f.name,
            "type": f.type,
            "count": f.count,
            "first": format_us(f.first_us),
            "last": format_us(f.last_us),
        }
        for f in await context.storage.series_fields(sid)
    ]
    return json_response(request, listing)


@router.get(
    "/series/{series_id}/count",
    summary="The number of points of a series, in a time range",
    responses=responses(200, 400, 401, 404),
    openapi_extra=query_parameters(FROM, TO, TOKEN, CALLBACK),
)
async def count_series_points(request: Request, series_id: str) -> Response:
    """The number of points from ``from`` to ``to`` (all of them without), a bare integer."""
    context, sid = await _reader(request, series_id)
    start, end = _time_span(request.query_params)
    await context.storage.get_series(sid)
    return json_response(request, await context.storage.count_series_points(sid, start, end))
