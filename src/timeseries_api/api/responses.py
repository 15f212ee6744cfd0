"""Response helpers: orjson bodies, the seed's JSONP ``callback=``, and streamed lists."""

import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

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


def json_list_stream(request: Request, chunks: AsyncIterator[bytes]) -> Response:
    """Stream comma-separated JSON chunks as one JSON list (or its JSONP wrapping)."""
    callback = jsonp_callback(request)

    async def body() -> AsyncIterator[bytes]:
        yield b"/**/%s([" % callback.encode() if callback else b"["
        first = True
        async for chunk in chunks:
            yield chunk if first else b"," + chunk
            first = False
        yield b"]);" if callback else b"]"

    return StreamingResponse(body(), media_type=JAVASCRIPT if callback else JSON)


def no_content() -> Response:
    """204, the seed's answer to a successful DELETE."""
    return Response(status_code=204)
