"""Helpers of the read tests: write points at chosen times, read them back."""

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from .conftest import ROBIN_TOKEN

T0 = datetime(2025, 1, 1, tzinfo=UTC)
T0_US = 1_735_689_600_000_000  # T0 in microseconds since the epoch
HOUR_US = 3_600_000_000


def iso(us: int) -> str:
    """A time as the server writes it."""
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat(timespec="microseconds")


def write(
    client: TestClient, series_id: int, points: list[tuple[int, dict[str, Any]]]
) -> list[int]:
    """Write (time in µs, fields) points in one batch; their ids."""
    body = {
        "token": ROBIN_TOKEN,
        "series_id": series_id,
        "precision": "us",
        "points": [{"timestamp": ts, "fields": fields} for ts, fields in points],
    }
    response = client.post("/point/new", json=body)
    assert response.status_code == 201, response.text
    ids: list[int] = response.json()
    return ids


def get_json(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def bad_request(client: TestClient, path: str, **params: Any) -> str:
    """The message of a 400 answer."""
    response = client.get(path, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    message: str = response.json()["message"]
    return message
