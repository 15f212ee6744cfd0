"""Device keys of a series, managed by its owner: create (shown once), list, revoke."""

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..auth import authenticate_user, request_token
from ..context import AppContext, app_context
from ..domain import DeviceKey
from ..errors import BadInput
from ..ingest.json_body import check_no_nul, parse_object
from ..keys import create_key
from ..timeparse import format_us
from ..users import User
from .ids import parse_id
from .openapi import responses
from .responses import json_response, no_content
from .routing import LeanRoute

router = APIRouter(route_class=LeanRoute)


async def _body(request: Request) -> dict[str, Any]:
    body = await request.body()
    return parse_object(body) if body.strip() else {}


async def _owner(request: Request, context: AppContext, data: dict[str, Any]) -> User:
    return await authenticate_user(context.users, context.storage, request_token(request, data))


def describe(key: DeviceKey) -> dict[str, Any]:
    """A key as listings show it: never the key itself, which only its creation answers."""
    return {
        "id": key.id,
        "series_id": key.series_id,
        "kind": key.kind,
        "label": key.label,
        "created": format_us(key.created_us),
    }


def _text(data: dict[str, Any], name: str, default: str) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise BadInput(f"{name} must be a string")
    return check_no_nul(value, name)


@router.post(
    "/series/{series_id}/keys",
    status_code=201,
    summary="Create a device key for a series (shown only in this answer)",
    responses=responses(201, 400, 401, 403, 404),
)
async def new_key(request: Request, series_id: str) -> Response:
    """Body ``{"kind": "write" | "read", "label": "..."}`` (both optional; write by default).
    Answers the key's description with ``key``, the secret, which is never shown again."""
    context = app_context(request)
    sid = parse_id(series_id, "series")
    data = await _body(request)
    user = await _owner(request, context, data)
    kind, label = _text(data, "kind", "write"), _text(data, "label", "")
    key, token = await create_key(context.storage, user.id, sid, kind, label)
    return json_response(request, {**describe(key), "key": token}, status=201)


@router.get(
    "/series/{series_id}/keys",
    summary="The device keys of a series (never the keys themselves)",
    responses=responses(200, 400, 401, 403, 404),
)
async def list_keys(request: Request, series_id: str) -> Response:
    """The keys of a series the token's user owns, oldest first."""
    context = app_context(request)
    sid = parse_id(series_id, "series")
    user = await _owner(request, context, await _body(request))
    keys = await context.storage.list_device_keys(user.id, sid)
    return json_response(request, [describe(key) for key in keys])


@router.delete(
    "/series/{series_id}/keys/{key_id}",
    status_code=204,
    summary="Revoke a device key",
    responses=responses(204, 400, 401, 403, 404),
)
async def revoke_key(request: Request, series_id: str, key_id: str) -> Response:
    """Revoke one key of a series the token's user owns; it stops working at once."""
    context = app_context(request)
    sid, kid = parse_id(series_id, "series"), parse_id(key_id, "key")
    user = await _owner(request, context, await _body(request))
    await context.storage.revoke_device_key(user.id, sid, kid)
    return no_content()


@router.delete(
    "/series/{series_id}/keys",
    status_code=204,
    summary='Revoke a device key named in the body: {"id": N}',
    responses=responses(204, 400, 401, 403, 404),
)
async def revoke_key_by_body(request: Request, series_id: str) -> Response:
    """The same as ``DELETE /series/<series_id>/keys/<key_id>``, for clients that send a body."""
    data = await _body(request)
    key_id = data.get("id")
    if isinstance(key_id, bool) or not isinstance(key_id, int):
        raise BadInput('name the key to revoke: {"id": N} (ids are listed by GET)')
    return await revoke_key(request, series_id, str(key_id))
