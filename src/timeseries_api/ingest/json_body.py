"""The seed's JSON request bodies: parsing, validation and the limits that keep them sane."""

import math
from typing import Annotated, Any, Literal, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from ..errors import BadInput

MAX_FIELDS_PER_POINT = 100
MAX_FIELD_NAME_LENGTH = 64
MAX_STRING_VALUE_LENGTH = 256
MAX_TOKEN_LENGTH = 512
MAX_POINTS_PER_REQUEST = 100_000
MAX_ID = 2**63 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

BaseModelT = TypeVar("BaseModelT", bound=BaseModel)

# Strict: NewSeriesBody takes numbers as text for its other fields, never for a token.
Token = Annotated[StrictStr | None, Field(None, max_length=MAX_TOKEN_LENGTH)]


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be an integer id, not a boolean")
    return value


# Lax on purpose: the seed's original accepted "5" as well as 5.
SeriesId = Annotated[int, BeforeValidator(_not_a_boolean), Field(ge=1, le=MAX_ID)]


def parse_json(body: bytes) -> Any:
    """Decode a request body as JSON, with a message that says what is wrong."""
    if not body.strip():
        raise BadInput("the request body is empty: send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"the request body is not valid JSON: {exc}") from None


def parse_object(body: bytes) -> dict[str, Any]:
    """Decode a request body that must be a JSON object."""
    data = parse_json(body)
    if not isinstance(data, dict):
        raise BadInput(f"the request body must be a JSON object, not {_json_type(data)}")
    return data


class FieldsError(ValueError):
    """A point's fields break a rule; the message names the field."""


def check_fields(fields: Any) -> dict[str, Any]:
    """Validate a point's fields: a flat, non-empty object of numbers, booleans, short strings.

    Raises ``FieldsError``, a ``ValueError``, so pydantic prefixes where it happened.
    """
    if not isinstance(fields, dict):
        raise FieldsError('must be a JSON object such as {"temp_C": 21.5}')
    if not fields:
        raise FieldsError("is empty: a point needs at least one field")
    if len(fields) > MAX_FIELDS_PER_POINT:
        raise FieldsError(f"has {len(fields)} fields; at most {MAX_FIELDS_PER_POINT} allowed")
    for name, value in fields.items():
        if not name or len(name) > MAX_FIELD_NAME_LENGTH:
            raise FieldsError(f"field names must be 1 to {MAX_FIELD_NAME_LENGTH} characters")
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                raise FieldsError(f"{name!r}: integer out of the 64-bit range")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise FieldsError(f"{name!r}: numbers must be finite")
        elif isinstance(value, str):
            if len(value) > MAX_STRING_VALUE_LENGTH:
                raise FieldsError(
                    f"{name!r}: strings are limited to {MAX_STRING_VALUE_LENGTH} characters"
                )
        else:
            raise FieldsError(
                f"{name!r}: a field value must be a number, a boolean or a short string, "
                f"not {_json_type(value)}"
            )
    return fields


# Any (not dict[str, Any]): check_fields does every check, and pydantic would copy each dict.
Fields = Annotated[
    Any,
    AfterValidator(check_fields),
    WithJsonSchema(
        {
            "type": "object",
            "additionalProperties": {"type": ["number", "boolean", "string"]},
            "minProperties": 1,
            "maxProperties": MAX_FIELDS_PER_POINT,
        }
    ),
]
Timestamp = Annotated[
    str | int | float | None,
    Field(None, description="ISO 8601 (no offset means UTC) or an epoch number in `precision`"),
]
Precision = Annotated[
    Literal["s", "ms", "us", "ns"] | None,
    Field(None, description="Unit of epoch-number timestamps (default s)"),
]


def check_no_nul(text: str, name: str) -> str:
    """Refuse text holding NUL, which PostgreSQL's text cannot store: on every backend, so that
    both answer alike (``BadInput``)."""
    if "\x00" in text:
        raise BadInput(f"{name} must not contain the NUL character")
    return text


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain the NUL character")
    return text


def _text_or_number(max_length: int) -> WithJsonSchema:
    """The schema of text a number may stand for: the seed took ``"device_id": 5`` as "5"."""
    text = {"type": "string", "maxLength": max_length, "pattern": "^[^\\u0000]*$"}
    return WithJsonSchema({"anyOf": [text, {"type": "number"}]})


Description = Annotated[str, Field(max_length=1000), AfterValidator(_no_nul), _text_or_number(1000)]
DeviceId = Annotated[str, Field(max_length=200), AfterValidator(_no_nul), _text_or_number(200)]


class NewSeriesBody(BaseModel):
    """``PUT /series/new``: the seed's required ``device_id`` and ``device_desc``."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    token: Token
    desc: Description = ""
    device_desc: Description
    device_id: DeviceId


class SeriesEdit(BaseModel):
    """``PATCH /series/<id>``: any of ``desc``, ``device_desc``, ``device_id``, with the limits
    of ``/series/new``."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    token: Token
    desc: Description | None = None
    device_desc: Description | None = None
    device_id: DeviceId | None = None


class PointIn(BaseModel):
    """One point of a batch: its fields and, optionally, the device's timestamp."""

    model_config = ConfigDict(extra="ignore")

    fields: Fields
    timestamp: Timestamp


class SeedPoint(PointIn):
    """The seed's point object, ``{token, series_id, fields}``, plus an optional timestamp."""

    token: Token
    series_id: SeriesId
    precision: Precision


class PointBatch(BaseModel):
    """Many points for one series: ``{token, series_id, points: [{fields, timestamp?}]}``."""

    model_config = ConfigDict(extra="ignore")

    token: Token
    series_id: SeriesId
    precision: Precision
    points: list[PointIn] = Field(min_length=1, max_length=MAX_POINTS_PER_REQUEST)


SeedPointList = TypeAdapter(
    Annotated[list[SeedPoint], Field(min_length=1, max_length=MAX_POINTS_PER_REQUEST)]
)


def validate(model: type[BaseModelT], data: dict[str, Any]) -> BaseModelT:
    """Validate ``data`` against ``model``; errors become one readable ``BadInput``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadInput(validation_message(exc)) from None


def validation_message(exc: ValidationError) -> str:
    """The pydantic errors as one sentence a person can act on, e.g.
    ``points[3].fields: 'temp_C': numbers must be finite``."""
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        where = (
            "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
            ).lstrip(".")
            or "body"
        )
        message = error["msg"]
        if error["type"] == "missing":
            message = "this field is required"
        elif error["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def _json_type(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
