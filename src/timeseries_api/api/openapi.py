"""OpenAPI pieces for endpoints that read their body themselves (for speed and exact errors)."""

from typing import Any

from pydantic import TypeAdapter

_DESCRIPTIONS = {
    200: "OK",
    201: "Created: the new id as a bare JSON integer",
    204: "Done, no content",
    400: "Malformed request: the message says what to fix",
    401: "Missing or unknown token",
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
