"""The seed's original database (Flask-RESTful + ``dataset`` on SQLite), read as a copy source.

``timeseries-api import-seed`` copies it with :func:`.transfer.copy_database`. The original kept
each series' owner as the owner's token and wrote naive local times; here owners become user
ids through the users file, times become UTC in the zone the original server ran in, and every
point's document is rendered as this server renders it, keeping its id.
"""

import sqlite3
from datetime import datetime, tzinfo
from pathlib import Path

import orjson

from ..domain import SeriesInfo
from ..errors import BadInput
from ..ingest.json_body import FieldsError, check_fields
from ..users import UsersFile
from .base import KeyRow, PointRow
from .documents import point_document

SERIES_TABLE = '"timeseries-api-series"'
POINTS_TABLE = '"timeseries-api-points"'


class SeedDatabase:
    """A read-only view of the seed's database, in the shapes of our storage."""

    def __init__(self, path: Path, users: UsersFile, zone: tzinfo) -> None:
        if not path.is_file():
            raise BadInput(f"there is no seed database at {path}")
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self._users = users
        self._zone = zone
        try:
            self._conn.execute(f"SELECT id FROM {SERIES_TABLE} LIMIT 1")
        except sqlite3.Error:
            raise BadInput(f"{path} is not a database of the seed's timeseries-api") from None

    def close(self) -> None:
        """Release the file."""
        self._conn.close()

    def _us(self, text: str, where: str) -> int:
        """A naive local time of the original as UTC microseconds."""
        try:
            local = datetime.fromisoformat(text)
        except (TypeError, ValueError):
            raise BadInput(f"{where}: unreadable timestamp {text!r}") from None
        if local.tzinfo is None:
            local = local.replace(tzinfo=self._zone)
        return int(local.timestamp() * 1_000_000)

    async def list_series(self) -> list[SeriesInfo]:
        """Every series, its owner found by its token in the users file."""
        rows = self._conn.execute(
            f'SELECT s.id, s.token, s."desc", s.device_desc, s.device_id, s.timestamp, '
            f"(SELECT count(*) FROM {POINTS_TABLE} p WHERE p.series_id = s.id) "
            f"FROM {SERIES_TABLE} s ORDER BY s.id"
        ).fetchall()
        series, unknown = [], []
        for series_id, token, desc, device_desc, device_id, created, count in rows:
            user = self._users.authenticate(token or "")
            if user is None:
                unknown.append(series_id)
                continue
            series.append(SeriesInfo(
                series_id, user.id, desc or "", device_desc or "", device_id or "",
                self._us(created, f"series {series_id}"), count,
            ))  # fmt: skip
        if unknown:
            raise BadInput(
                f"series {unknown[:10]} belong to tokens that are not in the users file: "
                "import with the users.json the original server used"
            )
        return series

    async def export_points(self, after_id: int, limit: int) -> list[PointRow]:
        """Points by id, each rendered as this server's document."""
        rows = self._conn.execute(
            # Points of deleted series (the original could leave them behind) are not copied.
            f"SELECT id, series_id, fields, timestamp FROM {POINTS_TABLE} "
            f"WHERE id > ? AND series_id IN (SELECT id FROM {SERIES_TABLE}) ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        points: list[PointRow] = []
        for point_id, series_id, fields_text, stamp in rows:
            where = f"point {point_id}"
            try:
                fields = check_fields(orjson.loads(fields_text or ""))
            except (orjson.JSONDecodeError, FieldsError) as exc:
                raise BadInput(f"{where}: fields cannot be imported: {exc}") from None
            ts_us = self._us(stamp, where)
            doc = point_document(point_id, series_id, ts_us, orjson.dumps(fields))
            points.append((point_id, series_id, ts_us, doc))
        return points

    async def export_device_keys(self) -> list[KeyRow]:
        """The original had no device keys."""
        return []

    async def series_field_names(self, series_id: int) -> dict[int, str]:
        """The original had no field names."""
        return {}

    async def id_high_water(self) -> dict[str, int]:
        """The largest ids the original holds (it kept no record of deleted ones beyond)."""
        series, points = self._conn.execute(
            f"SELECT (SELECT coalesce(max(id), 0) FROM {SERIES_TABLE}), "
            f"(SELECT coalesce(max(id), 0) FROM {POINTS_TABLE})"
        ).fetchone()
        return {"series": series, "points": points}
