"""One error body for our endpoints: the seed's ``{"message": ...}``, with the right status."""

import logging
import re

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ..errors import TimeseriesError, Unauthorized, Unavailable

log = logging.getLogger(__name__)

# What a 503 asks clients to wait; device libraries (InfluxDB's Arduino client among them) honour
# Retry-After.
RETRY_AFTER_SECONDS = "1"


_NOT_HEADER_TEXT = re.compile(r"[^\x20-\x7e]")


def header_text(message: str) -> str:
    """``message`` fit for a header, which holds printable ASCII only: a message quoting bad
    input may hold anything, and one control character makes uvicorn drop the connection."""
    return _NOT_HEADER_TEXT.sub("?", message)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The error body every endpoint of ours answers with."""
    return Response(
        orjson.dumps({"message": message}),
        status,
        headers=headers,
        media_type="application/json",
    )


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TimeseriesError)
    headers = None
    if isinstance(exc, Unauthorized):
        headers = {"WWW-Authenticate": 'Bearer realm="timeseries-api"'}
    elif isinstance(exc, Unavailable):
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
    return error_response(exc.status, exc.message, headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {
        404: f"no such endpoint: {request.method} {request.url.path}",
        405: f"{request.method} is not allowed on {request.url.path}",
    }.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, message, dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return error_response(400, "; ".join(parts) or "invalid request")


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The client hung up (or was cut off for being too slow) mid-body: nobody reads this.
    return error_response(400, "the client disconnected before sending the whole body")


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal server error; the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Route every error, expected or not, to the one ``{"message": ...}`` shape."""
    app.add_exception_handler(TimeseriesError, _domain_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected_error)
