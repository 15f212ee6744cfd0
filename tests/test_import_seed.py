"""``timeseries-api import-seed``: the seed's original database, served unchanged by this one."""

import json
import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from timeseries_api.app import create_app
from timeseries_api.cli import main
from timeseries_api.config import Settings

from .conftest import SEED_FIXTURES

SEED_DB = SEED_FIXTURES / "seed-original.sqlite"
SEED_USERS = SEED_FIXTURES / "seed-original-users.json"
TOKYO = ZoneInfo("Asia/Tokyo")

pytestmark = pytest.mark.skipif(not SEED_DB.is_file(), reason=f"no fixture at {SEED_DB}")


def import_seed(database_url: str, users: Path = SEED_USERS) -> str:
    result = CliRunner().invoke(main, [
        "import-seed", "--from", str(SEED_DB), "--to", database_url, "--users", str(users),
        "--timezone", "Asia/Tokyo",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def utc_iso(naive_local: str) -> str:
    local = datetime.fromisoformat(naive_local).replace(tzinfo=TOKYO)
    return local.astimezone(UTC).isoformat(timespec="microseconds")


def test_the_seed_database_reads_back_as_the_original_wrote_it(database_url: str) -> None:
    assert "Imported 3 series and 120 points" in import_seed(database_url)
    assert "Imported 3 series and 120 points" in import_seed(database_url)  # safe to rerun
    seed = sqlite3.connect(SEED_DB)
    owners = {token: user["name"] for token, user in json.loads(SEED_USERS.read_text()).items()}
    settings = Settings(database=database_url, users=SEED_USERS)
    with TestClient(create_app(settings)) as client:
        listing = client.get("/series").json()
        rows = seed.execute(
            'SELECT id, token, "desc", device_desc, device_id, timestamp '
            'FROM "timeseries-api-series" ORDER BY id'
        ).fetchall()
        assert list(listing) == [str(row[0]) for row in rows]
        for series_id, token, desc, device_desc, device_id, created in rows:
            entry = listing[str(series_id)]
            assert (entry["desc"], entry["device_desc"], entry["device_id"]) == (
                desc, device_desc, device_id)  # fmt: skip
            assert entry["user"] == owners[token]
            assert entry["timestamp"] == utc_iso(created)
            points = client.get(f"/series/{series_id}").json()
            expected = seed.execute(
                'SELECT id, fields, timestamp FROM "timeseries-api-points" WHERE series_id = ? '
                "ORDER BY timestamp, id",
                (series_id,),
            ).fetchall()
            assert entry["count"] == len(expected)
            # Downsampling reads the hourly summaries, which the import must build.
            daily = client.get(f"/series/{series_id}", params={"every": "1d", "agg": "count"})
            counted: Counter[str] = Counter()
            for row in daily.json():
                counted.update({name: aggs["count"] for name, aggs in row["fields"].items()})
            assert counted == Counter(name for _, f, _ in expected for name in json.loads(f))
            assert [(p["id"], p["fields"], p["timestamp"]) for p in points] == [
                (pid, json.loads(fields), utc_iso(stamp)) for pid, fields, stamp in expected
            ]

        # The original's devices keep working: same token, same series id, ids never reused.
        largest = seed.execute('SELECT max(id) FROM "timeseries-api-points"').fetchone()[0]
        body = {"token": "robin-legacy-token-0001", "series_id": 1, "fields": {"temp_C": 12.5}}
        assert client.put("/point/new", json=body).json() > largest
        body = {"token": "alice-legacy-token-0002", "series_id": 1, "fields": {"temp_C": 1}}
        assert client.put("/point/new", json=body).status_code == 403


def test_import_refuses_owners_missing_from_the_users_file(
    database_url: str, tmp_path: Path
) -> None:
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"robin-legacy-token-0001": {"name": "Robin", "id": 1}}))
    result = CliRunner().invoke(main, [
        "import-seed", "--from", str(SEED_DB), "--to", database_url, "--users", str(users),
    ])  # fmt: skip
    assert result.exit_code == 1
    assert "series [2] belong to tokens that are not in the users file" in result.output
    settings = Settings(database=database_url, users=users)
    with TestClient(create_app(settings)) as client:
        assert client.get("/series").json() == {}  # nothing half-imported
