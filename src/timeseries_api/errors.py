"""Domain errors raised anywhere below the HTTP layer.

One handler in :mod:`timeseries_api.api.errors` turns each into its status code and the seed's
``{"message": ...}`` body, so storage and parsers never need to know about HTTP.
"""


class TimeseriesError(Exception):
    """Base class: ``status`` is the HTTP status code the error maps to."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(TimeseriesError):
    """The request is malformed or a value is out of bounds."""

    status = 400


class Unauthorized(TimeseriesError):
    """No token, or a token that is not in the users file."""

    status = 401


class Forbidden(TimeseriesError):
    """A valid token acting on something its user does not own."""

    status = 403


class NotFound(TimeseriesError):
    """The series or point does not exist (or no longer does)."""

    status = 404


class PayloadTooLarge(TimeseriesError):
    """The request body is over the configured limit."""

    status = 413


class Unavailable(TimeseriesError):
    """The server cannot take writes right now (disk full, read-only database, shutting down)."""

    status = 503
