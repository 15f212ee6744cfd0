"""OpenAPI pieces for endpoints that read their body themselves (for speed and exact errors)."""

import warnings
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

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


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Documented responses; every error answers ``{"message": ...}``."""
    documented: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"description": _DESCRIPTIONS[code]}
        if code >= 400:
            entry["content"] = {"application/json": {"schema": MESSAGE_SCHEMA}}
        documented[code] = entry
    return documented


def body_schema(*shapes: Any) -> dict[str, Any]:
    """``openapi_extra`` declaring a JSON request body of any of ``shapes`` (pydantic types)."""
    schemas = [TypeAdapter(shape).json_schema(ref_template=REF) for shape in shapes]
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# Inline definitions instead of components: each endpoint's body stays self-contained.
REF = "#/$defs/{model}"


def install_openapi(app: FastAPI) -> None:
    """``/openapi.json`` with an operation id per method: routes serving PUT and POST alike
    (the seed's devices use PUT, most HTTP libraries POST) would otherwise share one, which
    FastAPI warns about and code generators reject."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
                schema = get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            for path in schema.get("paths", {}).values():
                for method, operation in path.items():
                    if "operationId" in operation:
                        operation["operationId"] = f"{operation['operationId']}_{method}"
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
