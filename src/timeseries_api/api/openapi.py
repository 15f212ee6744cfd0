"""OpenAPI pieces for endpoints that read their body themselves (for speed and exact errors)."""

import warnings
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter
from starlette.routing import BaseRoute

_DESCRIPTIONS = {
    200: "OK",
    201: "Created: the new id as a bare JSON integer",
    204: "Done, no content",
    400: "Malformed request: the message says what to fix",
    401: "Missing or unknown token (on a GET: only when the server has --private-reads)",
    403: "The token's user does not own the series",
    404: "No such series or point",
    413: "Request body over the configured limit",
    503: "Writes unavailable (disk full, read-only database); retry later",
}

MESSAGE_SCHEMA = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}


_HEADERS = {
    401: {"WWW-Authenticate": "How to authenticate"},
    503: {"Retry-After": "Seconds to wait before retrying"},
}


def responses(
    *codes: int, error_schema: dict[str, Any] = MESSAGE_SCHEMA
) -> dict[int | str, dict[str, Any]]:
    """Documented responses; every error of ours answers ``{"message": ...}``."""
    documented: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"description": _DESCRIPTIONS[code]}
        if code >= 400:
            entry["content"] = {"application/json": {"schema": error_schema}}
        if code in _HEADERS:
            entry["headers"] = {
                name: {"description": text, "required": True, "schema": {"type": "string"}}
                for name, text in _HEADERS[code].items()
            }
        documented[code] = entry
    return documented


# Path parameters our endpoints parse themselves (api/ids.py): positive integers.
PATH_PARAMETERS = {
    "series_id": {"type": "integer", "minimum": 1, "description": "A series id"},
    "point_id": {"type": "integer", "minimum": 1, "description": "A point id"},
    "field": {"type": "integer", "minimum": 1, "description": "A ThingSpeak field number"},
}


def honest_openapi(app: FastAPI, routes: Sequence[BaseRoute]) -> None:
    """Make ``/openapi.json`` describe what the server really answers, its paths in the order
    of ``routes`` (the app may try its routes in another order).

    FastAPI documents a 422 we never send (ours is 400), gives an endpoint serving two methods
    the same operationId twice, types the path ids of our lean routes as strings, and knows
    nothing of JSONP answers (``callback=``).
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Duplicate Operation ID")
                schema = get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=routes,
                )
            for item in schema["paths"].values():
                for method, operation in item.items():
                    operation["responses"].pop("422", None)
                    name = operation["operationId"].rsplit("_", 1)[0]
                    operation["operationId"] = f"{name}_{method}"
                    for parameter in operation.get("parameters", []):
                        if parameter["in"] == "path" and parameter["name"] in PATH_PARAMETERS:
                            parameter["schema"] = PATH_PARAMETERS[parameter["name"]]
                        if parameter["name"] == "callback" and "200" in operation["responses"]:
                            content = operation["responses"]["200"].setdefault("content", {})
                            content["application/javascript"] = {"schema": {"type": "string"}}
            schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
            schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def body_schema(*shapes: Any) -> dict[str, Any]:
    """``openapi_extra`` declaring a JSON request body of any of ``shapes`` (pydantic types)."""
    schemas = [TypeAdapter(shape).json_schema(ref_template=REF) for shape in shapes]
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# Inline definitions instead of components: each endpoint's body stays self-contained.
REF = "#/$defs/{model}"
