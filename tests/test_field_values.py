"""Field values come back exactly as sent, whatever characters they hold, on every backend."""

from fastapi.testclient import TestClient

from .conftest import ROBIN_TOKEN

AWKWARD = {
    "backslash": "C:\\temp\\new",
    "quote": 'say "hi"',
    "controls": "tab\there\nnewline\r\x01",
    "unicode": "température 🌡 東京",
    "escapes_as_text": "\\t\\n\\\\",
    "int": -(2**63),
    "big": 2**63 - 1,
    "float": 1.5e-300,
    "bool": False,
}


def test_awkward_values_round_trip_in_single_points_and_batches(
    client: TestClient, series_id: int
) -> None:
    single = client.put(
        "/point/new", json={"token": ROBIN_TOKEN, "series_id": series_id, "fields": AWKWARD}
    )
    assert single.status_code == 201, single.text
    batch = client.post(
        "/point/new",
        json={"token": ROBIN_TOKEN, "series_id": series_id, "points": [{"fields": AWKWARD}] * 3},
    )
    assert batch.status_code == 201, batch.text
    for point in client.get(f"/series/{series_id}").json():
        assert point["fields"] == AWKWARD
    assert client.get(f"/point/{single.json()}").json()["fields"] == AWKWARD
