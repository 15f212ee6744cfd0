"""The seed README's example, run as written against a real server (only the URL, the token and
the 5-second pauses differ)."""

import time
from types import SimpleNamespace

import requests

from .conftest import ROBIN_TOKEN, Server


def test_the_seed_readme_example_runs_unchanged(server: Server) -> None:
    url = server.url
    auth_token = ROBIN_TOKEN
    printed: list[object] = []
    fast_time = SimpleNamespace(sleep=lambda seconds: time.sleep(seconds / 100))

    # --- the seed's example, verbatim from here ---
    new_series = {
        "desc": "Temperature in Tokyo",
        "device_desc": "ESP32 with DS18B20 temperature sensor",
        "device_id": "12:AB:CD:XY:ZU:57",
        "token": auth_token,
    }

    new_points = [
        {"fields": {"temp_C": 13}},
        {"fields": {"temp_C": 13.5}},
        {"fields": {"temp_C": 12.5}},
    ]

    ret = requests.put(url + "/series/new", json=new_series)

    if ret.ok:
        series_id = ret.json()
    else:
        raise ValueError(f"{ret.status_code} {ret.text}")

    for point in new_points:
        point["token"] = auth_token  # type: ignore[assignment]
        point["series_id"] = series_id
        ret = requests.put(url + "/point/new", json=point)
        if not ret.ok:
            raise ValueError(f"{ret.status_code} {ret.text}")
        fast_time.sleep(5)

    ret = requests.get(url + "/series/" + str(series_id))
    data = ret.json()
    printed.append(data)
    # --- end of the example ---

    assert isinstance(series_id, int)
    assert [p["fields"] for p in data] == [{"temp_C": 13}, {"temp_C": 13.5}, {"temp_C": 12.5}]
    assert [p["series_id"] for p in data] == [series_id] * 3
    listing = requests.get(url + "/series").json()
    assert listing[str(series_id)]["desc"] == "Temperature in Tokyo"
    assert listing[str(series_id)]["count"] == 3
