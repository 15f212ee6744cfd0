"""The names a series gives ThingSpeak's numbered fields (``field1`` -> ``temp_C``), so points
written through ``/update`` read the same through every API."""

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..auth import authenticate_user, authorize_read, request_token
from ..context import app_context
from ..ingest.json_body import parse_object
from ..ingest.thingspeak import parse_field_names
from .ids import parse_id
from .openapi import responses
from .responses import json_response
from .routing import CALLBACK, LeanRoute, query_parameters

router = APIRouter(route_class=LeanRoute)


def _shown(names: dict[int, str]) -> dict[str, str]:
    return {f"field{number}": names[number] for number in sorted(names)}


@router.get(
    "/series/{series_id}/thingspeak-fields",
    summary="The series' names for ThingSpeak's field1, field2, ...",
    responses=responses(200, 400, 404),
    openapi_extra=query_parameters(CALLBACK),
)
async def get_field_names(request: Request, series_id: str) -> Response:
    """``{"field1": "temp_C", ...}``; unnamed fields are stored as ``fieldN``."""
    context = app_context(request)
    sid = parse_id(series_id, "series")
    await authorize_read(context, request, sid)
    names = await context.storage.series_field_names(sid)
    return json_response(request, _shown(names))


@router.put(
    "/series/{series_id}/thingspeak-fields",
    summary="Name ThingSpeak's field1, field2, ... for a series",
    responses=responses(200, 400, 401, 403, 404),
)
async def set_field_names(request: Request, series_id: str) -> Response:
    """Body ``{"fields": {"field1": "temp_C", "field2": "hum_pct"}}``; replaces every name and
    answers the names now stored. Points already written keep the names they were written with."""
    context = app_context(request)
    sid = parse_id(series_id, "series")
    data = parse_object(await request.body())
    user = await authenticate_user(context.users, context.storage, request_token(request, data))
    names = parse_field_names(data.get("fields"))
    await context.storage.set_series_field_names(user.id, sid, names)
    return json_response(request, _shown(names))
