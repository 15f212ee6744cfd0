"""Response helpers: orjson bodies and the seed's JSONP ``callback=``."""

import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..errors import BadInput

JSON = "application/json"
JAVASCRIPT = "application/javascript"
CALLBACK_PATTERN = r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$"
_CALLBACK = re.compile(CALLBACK_PATTERN)
MAX_CALLBACK_LENGTH = 128


def jsonp_callback(request: Request) -> str | None:
    """The validated ``callback`` query parameter (the seed's plotting page uses JSONP)."""
    callback = request.query_params.get("callback")
    if callback is None:
        return None
    if len(callback) > MAX_CALLBACK_LENGTH or not _CALLBACK.fullmatch(callback):
        raise BadInput("callback must be a JavaScript function name such as handleData or app.plot")
    return callback


def json_response(
    request: Request, content: Any = None, *, raw: bytes | None = None, status: int = 200
) -> Response:
    """A JSON response, wrapped as JSONP when the request asks for it."""
    body = raw if raw is not None else orjson.dumps(content)
    callback = jsonp_callback(request) if request.method in ("GET", "HEAD") else None
    if callback:
        return Response(b"/**/%s(%s);" % (callback.encode(), body), status, media_type=JAVASCRIPT)
    return Response(body, status, media_type=JSON)


def no_content() -> Response:
    """204, the seed's answer to a successful DELETE."""
    return Response(status_code=204)
