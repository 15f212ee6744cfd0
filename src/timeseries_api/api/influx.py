"""InfluxDB's write endpoints, both dialects, so its clients and devices work unchanged.

- 1.x: ``POST /write?db=&rp=&precision=``, ``/ping``; errors ``{"error": ...}`` with the
  ``X-Influxdb-Error`` header; a partly bad body keeps its valid lines (a "partial write").
- 2.x: ``POST /api/v2/write?org=&bucket=&precision=``, ``/health``; errors
  ``{"code", "message"}``; a partly bad body is rejected whole.

A measurement and its tag set name one series in a bucket (the 1.x database), created on first
write; a line tagged ``series_id=N`` writes into the existing series N instead (see README).
"""

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .. import __version__
from ..auth import Writer, authenticate_writer
from ..context import app_context
from ..errors import BadInput, TimeseriesError, Unauthorized, Unavailable
from ..ingest.json_body import check_no_nul
from ..ingest.line_protocol_points import LineBatch, points_from_lines
from ..timeparse import now_us
from .errors import RETRY_AFTER_SECONDS, header_text
from .gzip import request_body
from .openapi import responses
from .routing import LeanRoute, one_of, query_parameters

router = APIRouter(route_class=LeanRoute)

# What we answer to clients that ask which InfluxDB they talk to.
INFLUX_1_VERSION = "1.8.10"
INFLUX_2_VERSION = "2.7.10"

V1_PRECISIONS = {"n": "ns", "ns": "ns", "u": "us", "us": "us", "ms": "ms", "s": "s", "m": "m",
                 "h": "h"}  # fmt: skip
V2_PRECISIONS = {"ns": "ns", "us": "us", "ms": "ms", "s": "s"}

# The shapes of each dialect's errors, for the OpenAPI description. A body over the size limit is
# refused before any endpoint runs, with our own {"message": ...}.
V1_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "anyOf": [{"required": ["error"]}, {"required": ["message"]}],
}
V2_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
    "required": ["message"],
}
LINE_PROTOCOL_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/plain": {"schema": {"type": "string", "description": "Line protocol"}}},
    }
}

Handler = Callable[[Request], Awaitable[Response]]


def _v1_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    all_headers = {
        "X-Influxdb-Error": header_text(message[:1000]),
        "X-Influxdb-Version": INFLUX_1_VERSION,
        **(headers or {}),
    }
    return Response(orjson.dumps({"error": message}), status, all_headers, "application/json")


def _v2_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    code = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not found",
            413: "request too large", 429: "too many requests",
            503: "unavailable"}.get(status, "internal error")  # fmt: skip
    return Response(orjson.dumps({"code": code, "message": message}), status, headers,
                    "application/json")  # fmt: skip


def _answer_errors(render: Callable[..., Response], realm: str) -> Callable[[Handler], Handler]:
    """Answer our domain errors in the dialect's own error shape."""

    def wrap(handler: Handler) -> Handler:
        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except TimeseriesError as exc:
                headers = None
                if isinstance(exc, Unauthorized):
                    headers = {"WWW-Authenticate": realm}
                elif isinstance(exc, Unavailable):
                    headers = {"Retry-After": RETRY_AFTER_SECONDS}
                return render(exc.status, exc.message, headers)

        handle.__name__ = handler.__name__
        handle.__doc__ = handler.__doc__
        return handle

    return wrap


async def _v1_writer(request: Request) -> Writer:
    """1.x credentials: ``u``/``p`` query parameters, HTTP Basic, or a Token/Bearer header.

    The password (or token) is one of our tokens or a write key; the user name is not checked.
    """
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token: str | None = None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8
            raise Unauthorized("unable to parse authentication credentials") from None
        token = decoded.partition(":")[2]
    elif scheme.lower() in ("token", "bearer"):
        token = value.strip()
    elif "p" in request.query_params:
        token = request.query_params["p"]
    if not token:
        raise Unauthorized("unable to parse authentication credentials")
    return await _writer(request, token, "authorization failed")


async def _v2_writer(request: Request) -> Writer:
    """2.x credentials: ``Authorization: Token <token>`` (or ``Bearer``)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() not in ("token", "bearer") or not value.strip():
        raise Unauthorized("authorization header is missing or malformed: use 'Token <token>'")
    return await _writer(request, value.strip(), "unauthorized access")


async def _writer(request: Request, token: str, unknown: str) -> Writer:
    """The writer holding ``token``, with InfluxDB's own message for an unknown one."""
    context = app_context(request)
    try:
        return await authenticate_writer(context.users, context.storage, token)
    except Unauthorized:
        raise Unauthorized(unknown) from None


def _precision(request: Request, accepted: dict[str, str], default: str) -> str:
    given = request.query_params.get("precision", default)
    if given not in accepted:
        raise BadInput(f"invalid precision {given[:20]!r}: use one of {', '.join(accepted)}")
    return accepted[given]


async def _parse(request: Request, precision: str) -> LineBatch:
    context = app_context(request)
    body = await request_body(request, context.settings.max_body_bytes)
    return points_from_lines(body, precision, context.time_window, now_us())


async def _write(request: Request, writer: Writer, bucket: str, batch: LineBatch) -> None:
    writes = batch.series_writes(writer.user_id, bucket)
    for write in writes:
        writer.check_series(write.series_id)
    if writes:
        await app_context(request).storage.write_points(writes)


@router.post(
    "/write",
    status_code=204,
    summary="InfluxDB 1.x write (line protocol)",
    openapi_extra={
        **LINE_PROTOCOL_BODY,
        **query_parameters(
            ("db", "Database: the bucket the series belong to (required)"),
            ("rp", "Retention policy (accepted, not used)"),
            ("precision", "Timestamp unit (default ns)", one_of(*V1_PRECISIONS)),
            ("u", "User name (not checked)"),
            ("p", "Password: one of your tokens"),
        ),
    },
    responses=responses(204, 400, 401, 413, 503, error_schema=V1_ERROR_SCHEMA),
)
@_answer_errors(_v1_error, 'Basic realm="InfluxDB"')
async def write_v1(request: Request) -> Response:
    """Write line protocol; valid lines are kept when others are bad (a partial write)."""
    writer = await _v1_writer(request)
    db = request.query_params.get("db")
    if not db:
        raise BadInput("database is required")
    check_no_nul(db, "db")
    batch = await _parse(request, _precision(request, V1_PRECISIONS, "ns"))
    await _write(request, writer, db, batch)
    if batch.errors:
        return _v1_error(400, f"partial write: {batch.errors[0]} dropped={len(batch.errors)}")
    return Response(status_code=204, headers={"X-Influxdb-Version": INFLUX_1_VERSION})


@router.post(
    "/api/v2/write",
    status_code=204,
    summary="InfluxDB 2.x write (line protocol)",
    openapi_extra={
        **LINE_PROTOCOL_BODY,
        **query_parameters(
            ("bucket", "Bucket the series belong to (required)"),
            ("org", "Organization (accepted, not used)"),
            ("precision", "Timestamp unit (default ns)", one_of(*V2_PRECISIONS)),
        ),
    },
    responses=responses(204, 400, 401, 413, 503, error_schema=V2_ERROR_SCHEMA),
)
@_answer_errors(_v2_error, 'Token realm="InfluxDB"')
async def write_v2(request: Request) -> Response:
    """Write line protocol; one bad line rejects the whole body, as InfluxDB 2.x does."""
    writer = await _v2_writer(request)
    bucket = request.query_params.get("bucket")
    if not bucket:
        raise BadInput("bucket is required")
    check_no_nul(bucket, "bucket")
    batch = await _parse(request, _precision(request, V2_PRECISIONS, "ns"))
    if batch.errors:
        raise BadInput(str(batch.errors[0]))
    await _write(request, writer, bucket, batch)
    return Response(status_code=204)


@router.api_route(
    "/ping",
    methods=["GET", "HEAD"],
    summary="InfluxDB 1.x ping",
    openapi_extra=query_parameters(("verbose", "true: answer 200 with the version")),
    responses=responses(200, 204),
)
async def ping(request: Request) -> Response:
    """204 with version headers; ``verbose=true`` answers 200 and ``{"version": ...}``."""
    headers = {"X-Influxdb-Version": INFLUX_1_VERSION, "X-Influxdb-Build": "OSS"}
    if request.query_params.get("verbose", "").lower() in ("true", "1"):
        return Response(orjson.dumps({"version": INFLUX_1_VERSION}), 200, headers,
                        "application/json")  # fmt: skip
    return Response(status_code=204, headers=headers)


@router.get("/health", summary="InfluxDB 2.x health")
async def health(request: Request) -> Response:
    """InfluxDB 2.x's health object, which its client libraries probe."""
    body: dict[str, Any] = {
        "name": "influxdb",
        "message": "ready for queries and writes",
        "status": "pass",
        "checks": [],
        "version": INFLUX_2_VERSION,
        "commit": f"timeseries-api {__version__}",
    }
    return Response(orjson.dumps(body), 200, media_type="application/json")
