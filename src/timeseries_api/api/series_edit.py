"""Editing a series' description: ``PATCH /series/<id>`` by its owner."""

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..auth import authenticate_user, request_token
from ..context import app_context
from ..domain import SeriesChanges
from ..errors import BadInput
from ..ingest.json_body import SeriesEdit, parse_object, validate
from .ids import parse_id
from .openapi import body_schema, responses
from .responses import json_response
from .routing import LeanRoute
from .seed import series_entry

router = APIRouter(route_class=LeanRoute)


@router.patch(
    "/series/{series_id}",
    summary="Edit a series' desc, device_desc or device_id",
    openapi_extra=body_schema(SeriesEdit),
    responses=responses(200, 400, 401, 403, 404, 413),
)
async def edit_series(request: Request, series_id: str) -> Response:
    """Change any of ``desc``, ``device_desc``, ``device_id`` of a series the token's user owns;
    answers the series as ``GET /series`` lists it."""
    context = app_context(request)
    sid = parse_id(series_id, "series")
    data = parse_object(await request.body())
    user = await authenticate_user(context.users, context.storage, request_token(request, data))
    body = validate(SeriesEdit, data)
    changes = SeriesChanges(body.desc, body.device_desc, body.device_id)
    if changes == SeriesChanges():
        raise BadInput("nothing to change: send desc, device_desc or device_id")
    info = await context.storage.update_series(user.id, sid, changes)
    return json_response(request, series_entry(info, context.users))
