"""The hourly summaries on SQLite: merged on write, recomputed when a point goes."""

import sqlite3
from collections.abc import Mapping

import orjson

from ..domain import FieldSummary
from .rollups import HOUR_US, summarize

# 13 parameters a row, under SQLite's limit of 32,766 per statement.
UPSERT_ROWS = 2000
_UPSERT: dict[int, str] = {}

# Portable to PostgreSQL but for SQLite's two-argument min()/max() (there: least/greatest,
# which skip NULLs, so the coalesce() goes away). In a SET, every column name means the old value.
_ON_CONFLICT = """
ON CONFLICT (series_id, hour, field) DO UPDATE SET
    count = rollups.count + excluded.count,
    numeric = rollups.numeric + excluded.numeric,
    sum = coalesce(rollups.sum + excluded.sum, rollups.sum, excluded.sum),
    min = min(coalesce(rollups.min, excluded.min), coalesce(excluded.min, rollups.min)),
    max = max(coalesce(rollups.max, excluded.max), coalesce(excluded.max, rollups.max)),
    first_value = CASE WHEN excluded.first_ts < rollups.first_ts
                  THEN excluded.first_value ELSE rollups.first_value END,
    first_ts = min(rollups.first_ts, excluded.first_ts),
    last_value = CASE WHEN excluded.last_ts >= rollups.last_ts
                 THEN excluded.last_value ELSE rollups.last_value END,
    kind = CASE WHEN excluded.last_ts >= rollups.last_ts THEN excluded.kind ELSE rollups.kind END,
    last_ts = max(rollups.last_ts, excluded.last_ts)
"""


def _upsert_sql(rows: int) -> str:
    sql = _UPSERT.get(rows)
    if sql is None:
        sql = _UPSERT[rows] = (
            "INSERT INTO rollups (series_id, field, hour, count, numeric, sum, min, max, "
            "first_ts, first_value, last_ts, last_value, kind) VALUES "
            + ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?,?)"] * rows)
            + _ON_CONFLICT
        )
    return sql


def add_to_rollups(
    conn: sqlite3.Connection, summaries: Mapping[tuple[int, str, int], FieldSummary]
) -> None:
    """Merge new summaries, keyed by (series id, field, hour), into the stored ones."""
    params: list[object] = []
    for (series_id, name, hour), s in summaries.items():
        params += (series_id, name, hour, s.count, s.numeric, s.sum, s.min, s.max,
                   s.first_us, s.first, s.last_us, s.last, s.kind)  # fmt: skip
    step = UPSERT_ROWS * 13
    for start in range(0, len(params), step):
        chunk = params[start : start + step]
        conn.execute(_upsert_sql(len(chunk) // 13), chunk)


def recompute_hour(conn: sqlite3.Connection, series_id: int, hour: int) -> None:
    """Summarize one hour of a series again from its points (after a point was deleted)."""
    conn.execute("DELETE FROM rollups WHERE series_id = ? AND hour = ?", (series_id, hour))
    rows = conn.execute(
        "SELECT ts, doc -> '$.fields' FROM points WHERE series_id = ? AND ts >= ? AND ts < ? "
        "ORDER BY ts, id",
        (series_id, hour * HOUR_US, (hour + 1) * HOUR_US),
    ).fetchall()
    summaries = summarize((ts, orjson.loads(fields)) for ts, fields in rows)
    add_to_rollups(conn, {(series_id, name, h): s for (name, h), s in summaries.items()})


def drop_rollups(conn: sqlite3.Connection, series_id: int) -> None:
    """Forget a deleted series' summaries."""
    conn.execute("DELETE FROM rollups WHERE series_id = ?", (series_id,))


# Summaries of every point, built in SQL: after copying points in (migrate, import-seed). The
# same statements as migration 005, which built them for the points written before it.
REBUILD = (
    "DELETE FROM rollups",
    """INSERT INTO rollups (series_id, field, hour, count, numeric, sum, min, max, first_ts,
                            last_ts, kind)
       SELECT series_id, key, hour, count(*), count(v), sum(v), min(v), max(v), min(ts),
              max(ts), ''
       FROM (SELECT p.series_id, f.key, p.ts,
                    (p.ts - ((p.ts % 3600000000) + 3600000000) % 3600000000) / 3600000000 AS hour,
                    CASE WHEN f.type IN ('integer', 'real') THEN f.value END AS v
             FROM points AS p, json_each(p.doc, '$.fields') AS f)
       GROUP BY series_id, key, hour""",
    """UPDATE rollups SET
           first_value = (SELECT f.value FROM points AS p, json_each(p.doc, '$.fields') AS f
                          WHERE p.series_id = rollups.series_id AND p.ts = rollups.first_ts
                            AND f.key = rollups.field ORDER BY p.id LIMIT 1),
           last_value = (SELECT f.value FROM points AS p, json_each(p.doc, '$.fields') AS f
                         WHERE p.series_id = rollups.series_id AND p.ts = rollups.last_ts
                           AND f.key = rollups.field ORDER BY p.id DESC LIMIT 1),
           kind = (SELECT CASE f.type WHEN 'integer' THEN 'integer' WHEN 'real' THEN 'float'
                          WHEN 'text' THEN 'string' ELSE 'boolean' END
                   FROM points AS p, json_each(p.doc, '$.fields') AS f
                   WHERE p.series_id = rollups.series_id AND p.ts = rollups.last_ts
                     AND f.key = rollups.field ORDER BY p.id DESC LIMIT 1)""",
)


def rebuild_rollups(conn: sqlite3.Connection) -> None:
    """Summarize every point of every series again, from scratch."""
    for statement in REBUILD:
        conn.execute(statement)
