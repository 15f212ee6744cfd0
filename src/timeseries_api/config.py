"""One Settings class: CLI flags > environment (``TIMESERIES_*``) > defaults."""

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import BadInput
from .timeparse import TimeWindow, parse_iso

DEFAULT_USERS_FILE = Path("/etc/timeseries-api/users.json")


class Settings(BaseSettings):
    """Everything the server can be told. Each field is also ``TIMESERIES_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="TIMESERIES_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 for the LAN).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port to listen on.")
    database: str = Field(
        "sqlite:///timeseries.sqlite",
        description="sqlite:///relative/path, sqlite:////absolute/path or postgresql://...",
    )
    users: Path = Field(DEFAULT_USERS_FILE, description="The users file (the seed's format).")
    workers: int = Field(1, ge=1, le=64, description="Number of server processes.")
    max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Larger request bodies are refused with 413."
    )
    min_timestamp: str = Field(
        "2000-01-01T00:00:00Z",
        description="Device timestamps before this are refused (a clock never set sends 1970).",
    )
    max_future_seconds: int = Field(
        86400, ge=0, description="Device timestamps further ahead of the server are refused."
    )
    max_queued_writes: int = Field(
        10_000,
        ge=1,
        description="Writes waiting for the disk beyond this get 503 and Retry-After at once.",
    )
    request_timeout: float = Field(
        60,
        gt=0,
        description=(
            "Seconds a client has to send a whole request, headers and body; slower ones get "
            "408 and are disconnected (slowloris)."
        ),
    )
    sqlite_synchronous: Literal["full", "normal"] = Field(
        "full",
        description=(
            "full: a point is on disk before its 201, even across power loss. normal: safe "
            "across process crashes, may lose the last commits on power loss."
        ),
    )
    private_reads: bool = Field(
        False,
        description="Every GET needs a valid token too (Bearer header or ?token=).",
    )
    access_log: bool = Field(False, description="Log one line per request (tokens redacted).")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    @field_validator("min_timestamp")
    @classmethod
    def _iso_time(cls, value: str) -> str:
        try:
            parse_iso(value, "min_timestamp")
        except BadInput as exc:
            raise ValueError(exc.message) from None
        return value

    def time_window(self) -> TimeWindow:
        """The window of acceptable device timestamps."""
        return TimeWindow(parse_iso(self.min_timestamp), self.max_future_seconds * 1_000_000)
