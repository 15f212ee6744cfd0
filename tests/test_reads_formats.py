"""Formats of series reads: JSON, CSV (parsed back with the csv module) and NDJSON."""

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .reads import HOUR_US, T0_US, get_json, iso, write

FIELDS = [
    {"temp_C": 21.5, "batt_V": 3.91, "n": 7},
    {"temp_C": 0.1 + 0.2, "ok": True, "note": 'comma, "quote"\nand newline'},
    {"n": -3, "ok": False, "note": "plain"},
    {"batt_V": 1e-7},
]


@pytest.fixture
def stored(client: TestClient, series_id: int) -> list[dict[str, Any]]:
    write(client, series_id, [(T0_US + i * 1000, f) for i, f in enumerate(FIELDS)])
    points: list[dict[str, Any]] = get_json(client, f"/series/{series_id}")
    return points


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def cell(value: Any) -> str:
    """How a JSON value reads in a CSV cell."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def test_csv_has_a_header_and_one_column_per_field(
    client: TestClient, series_id: int, stored: list[dict[str, Any]]
) -> None:
    response = client.get(f"/series/{series_id}", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="series-{series_id}.csv"'
    rows = read_csv(response.text)
    names = sorted({name for f in FIELDS for name in f})
    assert response.text.splitlines()[0] == ",".join(["timestamp", *names])
    assert [r["timestamp"] for r in rows] == [p["timestamp"] for p in stored]
    for row, point in zip(rows, stored, strict=True):
        assert set(row) == {"timestamp", *names}
        for name in names:
            value = point["fields"].get(name)
            if value is None:
                assert row[name] == ""
            elif isinstance(value, bool) or isinstance(value, str):
                assert row[name] == cell(value)
            else:  # the number, with its type and every digit
                assert json.loads(row[name]) == value
                assert type(json.loads(row[name])) is type(value)


def test_csv_of_chosen_fields_in_their_order(
    client: TestClient, series_id: int, stored: list[dict[str, Any]]
) -> None:
    response = client.get(f"/series/{series_id}", params={"format": "csv", "fields": "n,temp_C"})
    rows = read_csv(response.text)
    assert response.text.splitlines()[0] == "timestamp,n,temp_C"
    assert [(r["n"], r["temp_C"]) for r in rows] == [("7", "21.5"), ("", "0.30000000000000004"),
                                                    ("-3", "")]  # fmt: skip


def test_csv_streams_across_chunks(
    client: TestClient, series_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("timeseries_api.storage.sqlite_reads.CHUNK_POINTS", 7)
    write(client, series_id, [(T0_US + i, {"i": i}) for i in range(50)])
    for order in ("asc", "desc"):
        response = client.get(f"/series/{series_id}", params={"format": "csv", "order": order})
        values = [int(r["i"]) for r in read_csv(response.text)]
        assert values == (list(range(50)) if order == "asc" else list(range(49, -1, -1)))
    ndjson = client.get(f"/series/{series_id}", params={"format": "ndjson"}).text
    assert [json.loads(line)["fields"]["i"] for line in ndjson.splitlines()] == list(range(50))


def test_ndjson_is_one_stored_document_per_line(
    client: TestClient, series_id: int, stored: list[dict[str, Any]]
) -> None:
    response = client.get(f"/series/{series_id}", params={"format": "ndjson"})
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.text.endswith("\n")
    assert [json.loads(line) for line in response.text.splitlines()] == stored


@pytest.mark.parametrize(
    ("accept", "kind"),
    [("text/csv", "csv"), ("application/x-ndjson", "ndjson"), ("application/ndjson", "ndjson"),
     ("application/json", "json"), ("*/*", "json"), ("text/html, text/csv;q=0.9", "csv")],
)  # fmt: skip
def test_the_accept_header_chooses_the_format(
    client: TestClient, series_id: int, stored: list[dict[str, Any]], accept: str, kind: str
) -> None:
    response = client.get(f"/series/{series_id}", headers={"Accept": accept})
    expected = {"csv": "text/csv", "ndjson": "application/x-ndjson", "json": "application/json"}
    assert response.headers["content-type"].startswith(expected[kind])
    forced = client.get(f"/series/{series_id}?format=json", headers={"Accept": accept})
    assert forced.json() == stored


def test_empty_answers_in_every_format(client: TestClient, series_id: int) -> None:
    write(client, series_id, [(T0_US, {"v": 1})])
    empty = {"from": "2030-01-01"}
    assert client.get(f"/series/{series_id}", params={**empty, "format": "json"}).text == "[]"
    assert client.get(f"/series/{series_id}", params={**empty, "format": "ndjson"}).text == ""
    assert client.get(f"/series/{series_id}", params={**empty, "format": "csv"}).text == (
        "timestamp,v\n"
    )


def test_downsampled_csv_has_a_column_per_field_and_aggregate(
    client: TestClient, series_id: int
) -> None:
    write(client, series_id, [
        (T0_US, {"a": 1, "b": 2.5}), (T0_US + 1, {"a": 3}), (T0_US + HOUR_US, {"b": 4.0}),
    ])  # fmt: skip
    response = client.get(
        f"/series/{series_id}", params={"every": "1h", "agg": "mean,count", "format": "csv"}
    )
    assert response.text.splitlines()[0] == "timestamp,a_mean,a_count,b_mean,b_count"
    assert read_csv(response.text) == [
        {"timestamp": iso(T0_US), "a_mean": "2.0", "a_count": "2", "b_mean": "2.5", "b_count": "1"},
        {"timestamp": iso(T0_US + HOUR_US), "a_mean": "", "a_count": "", "b_mean": "4.0",
         "b_count": "1"},
    ]  # fmt: skip
    ndjson = client.get(f"/series/{series_id}", params={"every": "1h", "format": "ndjson"}).text
    as_json = get_json(client, f"/series/{series_id}", every="1h")
    assert [json.loads(line) for line in ndjson.splitlines()] == as_json


def test_jsonp_wraps_reads_of_every_kind(client: TestClient, series_id: int) -> None:
    write(client, series_id, [(T0_US, {"v": 1})])
    for params in ({}, {"limit": "1"}, {"every": "1h"}):
        response = client.get(f"/series/{series_id}", params={**params, "callback": "plot"})
        assert response.headers["content-type"] == "application/javascript"
        assert response.text.startswith("/**/plot([") and response.text.endswith("]);")


def test_a_string_holding_nul_reads_in_every_format(client: TestClient, series_id: int) -> None:
    """PostgreSQL's JSON functions cannot give NUL back: it reads as U+FFFD where a read takes
    values apart (CSV, fields=), and exactly in whole documents; nothing fails."""
    write(client, series_id, [(T0_US, {"s": "a\x00b", "v": 1}), (T0_US + 1, {"v": 2.5})])
    assert get_json(client, f"/series/{series_id}")[0]["fields"] == {"s": "a\x00b", "v": 1}
    response = client.get(f"/series/{series_id}", params={"format": "csv"})
    assert response.status_code == 200, response.text
    assert [r["v"] for r in read_csv(response.text)] == ["1", "2.5"]
    got = get_json(client, f"/series/{series_id}", fields="s")
    assert len(got) == 1 and got[0]["fields"]["s"] in ("a\x00b", "a\ufffdb")
    for every in ("1h", "30m"):  # from the rollups, and from the points
        hourly = get_json(client, f"/series/{series_id}", every=every, agg="first,last,sum")
        assert hourly[0]["fields"] == {"v": {"first": 1, "last": 2.5, "sum": 3.5}}
