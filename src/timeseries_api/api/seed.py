"""The seed's seven endpoints (plus ``/points/count``), with the shapes its clients rely on."""

from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..auth import Writer, authenticate_user, authenticate_writer, authorize_read, request_token
from ..context import app_context
from ..domain import SeriesInfo, SeriesMeta, SeriesWrite
from ..ingest.json_body import NewSeriesBody, PointBatch, SeedPoint, parse_object, validate
from ..ingest.json_points import parse_points_request
from ..timeparse import EPOCH_UNITS_US, format_us, now_us
from ..users import UsersFile
from .ids import parse_id
from .openapi import body_schema, responses
from .responses import JSON, json_response, no_content
from .routing import CALLBACK, TOKEN, LeanRoute, one_of, query_parameters

router = APIRouter(route_class=LeanRoute)


async def _optional_object(request: Request) -> dict[str, Any] | None:
    """A DELETE may carry the token in a JSON body (the seed's clients do) or not at all."""
    body = await request.body()
    return parse_object(body) if body.strip() else None


@router.get(
    "/series",
    summary="All series with their metadata",
    responses=responses(200, 400, 401),
    openapi_extra=query_parameters(TOKEN, CALLBACK),
)
async def list_series(request: Request) -> Response:
    """A JSON object keyed by series id; each value holds the series' metadata and point count."""
    context = app_context(request)
    await authorize_read(context, request)
    listing = {
        str(series.id): series_entry(series, context.users)
        for series in await context.storage.list_series()
    }
    return json_response(request, listing)


def series_entry(series: SeriesInfo, users: UsersFile) -> dict[str, Any]:
    """A series as ``GET /series`` lists it: metadata, owner's name, point count."""
    entry: dict[str, Any] = {
        "id": series.id,
        "desc": series.desc,
        "device_desc": series.device_desc,
        "device_id": series.device_id,
        "timestamp": format_us(series.created_us),
        "user": users.name_of(series.owner_id),
        "count": series.count,
    }
    if series.key is not None:  # created by line protocol: its name there, too
        entry["measurement"] = series.key.measurement
        entry["tags"] = dict(series.key.tags)
        entry["bucket"] = series.key.bucket
    return entry


@router.api_route(
    "/series/new",
    methods=["PUT", "POST"],
    status_code=201,
    summary="Create a series",
    openapi_extra=body_schema(NewSeriesBody),
    responses=responses(201, 400, 401, 413, 503),
)
async def new_series(request: Request) -> Response:
    """Create a series owned by the token's user; answers its id as a bare JSON integer."""
    context = app_context(request)
    data = parse_object(await request.body())
    user = await authenticate_user(context.users, context.storage, request_token(request, data))
    body = validate(NewSeriesBody, data)
    meta = SeriesMeta(desc=body.desc, device_desc=body.device_desc, device_id=body.device_id)
    series_id = await context.storage.create_series(user.id, meta, now_us())
    return Response(b"%d" % series_id, 201, media_type=JSON)


@router.delete(
    "/series/{series_id}",
    status_code=204,
    summary="Delete a series and all its points",
    responses=responses(204, 400, 401, 403, 404, 413, 503),
)
async def delete_series(request: Request, series_id: str) -> Response:
    """Delete a series the token's user owns, with all its points, atomically."""
    context = app_context(request)
    sid = parse_id(series_id, "series")
    token = request_token(request, await _optional_object(request))
    user = await authenticate_user(context.users, context.storage, token)
    await context.storage.delete_series(user.id, sid)
    return no_content()


@router.api_route(
    "/point/new",
    methods=["PUT", "POST"],
    status_code=201,
    summary="Add a point, or a batch of points",
    openapi_extra={
        **body_schema(SeedPoint, PointBatch, list[SeedPoint]),
        **query_parameters(
            ("precision", "Unit of epoch-number timestamps (default s)", one_of(*EPOCH_UNITS_US))
        ),
    },
    responses=responses(201, 400, 401, 403, 404, 413, 503),
)
async def new_point(request: Request) -> Response:
    """Add points. The seed's single point answers its id as a bare JSON integer; a list of
    points or ``{"points": [...]}`` answers the list of new ids, in order. All or nothing."""
    context = app_context(request)
    parsed = parse_points_request(
        await request.body(),
        request.query_params.get("precision"),
        context.time_window,
        now_us(),
    )
    header_token = request_token(request, None)
    writers: dict[str | None, Writer] = {}
    writes = []
    for group in parsed.groups:
        token = header_token or group.token
        if token not in writers:
            writers[token] = await authenticate_writer(context.users, context.storage, token)
        writers[token].check_series(group.series_id)
        writes.append(SeriesWrite(writers[token].user_id, group.series_id, group.points))
    ids = await context.storage.write_points(writes)
    if parsed.bare_id:
        return Response(b"%d" % ids[0][0], 201, media_type=JSON)
    return Response(orjson.dumps([i for group_ids in ids for i in group_ids]), 201, media_type=JSON)


@router.get(
    "/point/{point_id}",
    summary="One point",
    responses=responses(200, 400, 401, 404),
    openapi_extra=query_parameters(TOKEN, CALLBACK),
)
async def get_point(request: Request, point_id: str) -> Response:
    """The point as ``{id, series_id, timestamp, fields}``."""
    context = app_context(request)
    await authorize_read(context, request)
    doc = await context.storage.get_point_json(parse_id(point_id, "point"))
    return json_response(request, raw=doc.encode())


@router.delete(
    "/point/{point_id}",
    status_code=204,
    summary="Delete a point",
    responses=responses(204, 400, 401, 403, 404, 413, 503),
)
async def delete_point(request: Request, point_id: str) -> Response:
    """Delete one point of a series the token's user owns."""
    context = app_context(request)
    pid = parse_id(point_id, "point")
    token = request_token(request, await _optional_object(request))
    user = await authenticate_user(context.users, context.storage, token)
    await context.storage.delete_point(user.id, pid)
    return no_content()


@router.get(
    "/points/count",
    summary="Number of points in all series",
    responses=responses(200, 400, 401),
    openapi_extra=query_parameters(TOKEN, CALLBACK),
)
async def count_points(request: Request) -> Response:
    """The total number of points as a bare JSON integer."""
    context = app_context(request)
    await authorize_read(context, request)
    return json_response(request, await context.storage.count_points())
