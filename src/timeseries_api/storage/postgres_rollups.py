"""The hourly summaries on PostgreSQL: merged on write into the writer's own slot, recomputed
when a point goes, folded into slot 0 when writers are gone (see migration postgres/004)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import orjson

from ..domain import FieldSummary
from .rollups import HOUR_US, INT64_MAX, INT64_MIN, summarize

if TYPE_CHECKING:  # the writer calls this module
    from .postgres_writer import Connection

_MERGE = """
ON CONFLICT (series_id, hour, field, slot) DO UPDATE SET
    count = rollups.count + excluded.count,
    "numeric" = rollups."numeric" + excluded."numeric",
    sum = coalesce(rollups.sum + excluded.sum, rollups.sum, excluded.sum),
    min = least(rollups.min, excluded.min),
    max = greatest(rollups.max, excluded.max),
    first_value = CASE WHEN excluded.first_ts < rollups.first_ts
                  THEN excluded.first_value ELSE rollups.first_value END,
    first_ts = least(rollups.first_ts, excluded.first_ts),
    last_value = CASE WHEN excluded.last_ts >= rollups.last_ts
                 THEN excluded.last_value ELSE rollups.last_value END,
    kind = CASE WHEN excluded.last_ts >= rollups.last_ts THEN excluded.kind ELSE rollups.kind END,
    last_ts = greatest(rollups.last_ts, excluded.last_ts)
"""
_COLUMNS = (
    'series_id, hour, field, slot, count, "numeric", sum, min, max, first_ts, first_value, '
    "last_ts, last_value, kind"
)


def upsert_sql(slot: str, rows: str, where: str = "") -> str:
    """The INSERT that merges summaries (``rows``: a JSON parameter) into ``slot``, optionally
    only ``where`` a condition holds.

    The batch arrives as one JSON text (orjson writes it at C speed; no per-value dumper): JSON
    numbers become numeric from their text, so 3.0 keeps its decimal and stays a float. First and
    last values come as JSON texts inside it: PostgreSQL's JSON functions refuse an escaped NUL
    in their input (\\u0000), though the json type stores it.
    """
    return (
        f"INSERT INTO rollups ({_COLUMNS}) "
        f"SELECT s, h, f, {slot}, c, n, sum, min, max, ft, fv::json, lt, lv::json, k "
        f"FROM json_to_recordset({rows}::json) AS r(s bigint, h bigint, f text, c bigint, "
        "n bigint, sum numeric, min numeric, max numeric, ft bigint, fv text, lt bigint, lv text, "
        f"k text) {where}" + _MERGE
    )


_UPSERT = upsert_sql("%s", "%s")
# A document as json for PostgreSQL's JSON functions, with U+FFFD in place of each escaped NUL
# (\u0000) they would refuse; an escaped backslash before "u0000" is left alone.
JSON_DOC = (
    r"(CASE WHEN strpos(doc, '\u0000') = 0 THEN doc ELSE "
    r"regexp_replace(doc, '(?<=(?:^|[^\\])(?:\\\\)*)\\u0000', '\\ufffd', 'g') END)::json"
)


def number_from_text(text: str | None) -> float | int | None:
    """A numeric's text as the client's number: with decimals a float, without an integer;
    integers outside 64 bits were floats written with an exponent (``1e300``). (Text, not
    psycopg's Decimal: converting that costs several times more per value.)"""
    if text is None:
        return None
    if "." in text:
        return float(text)
    number = int(text)
    return number if INT64_MIN <= number <= INT64_MAX else float(number)


def value_from_json(text: str) -> object:
    """A first or last value from its JSON text, with ``number_from_text``'s rule for floats
    that JSON parsers read as huge integers."""
    value = orjson.loads(text)
    if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
        return float(value)
    return value


def rollups_json(summaries: Mapping[tuple[int, str, int], FieldSummary]) -> str:
    """Summaries keyed by (series id, field, hour) as the JSON rows ``upsert_sql`` reads."""
    dumps = orjson.dumps
    # A text column cannot hold NUL: a field name's reads as U+FFFD, as in JSON_DOC.
    rows = [
        {"s": sid, "h": hour, "f": name.replace("\x00", "\ufffd"), "c": s.count,
         "n": s.numeric, "sum": s.sum, "min": s.min, "max": s.max, "ft": s.first_us,
         "fv": dumps(s.first).decode(), "lt": s.last_us, "lv": dumps(s.last).decode(),
         "k": s.kind}
        for (sid, name, hour), s in summaries.items()
    ]  # fmt: skip
    return orjson.dumps(rows).decode()


async def add_to_rollups(
    conn: Connection, slot: int, summaries: Mapping[tuple[int, str, int], FieldSummary]
) -> None:
    """Merge new summaries, keyed by (series id, field, hour), into this writer's slot."""
    if summaries:
        await conn.execute(_UPSERT, (slot, rollups_json(summaries)))


async def recompute_hour(conn: Connection, slot: int, series_id: int, hour: int) -> None:
    """Summarize one hour of a series again from its points (after a point was deleted): every
    slot's row goes, one fresh row in this writer's slot replaces them."""
    await conn.execute("DELETE FROM rollups WHERE series_id = %s AND hour = %s", (series_id, hour))
    cursor = await conn.execute(
        "SELECT ts, doc FROM points WHERE series_id = %s AND ts >= %s AND ts < %s ORDER BY ts, id",
        (series_id, hour * HOUR_US, (hour + 1) * HOUR_US),
    )
    rows = await cursor.fetchall()
    summaries = summarize((ts, orjson.loads(doc)["fields"]) for ts, doc in rows)
    keyed = {(series_id, name, h): s for (name, h), s in summaries.items()}
    await add_to_rollups(conn, slot, keyed)


async def fold_rollup_slots(conn: Connection) -> None:
    """Merge the rollup slots of writers that are gone into slot 0, so slots do not pile up."""
    async with conn.transaction():
        await conn.execute(
            "WITH gone AS (DELETE FROM rollups WHERE slot <> 0 AND slot NOT IN "
            "(SELECT pid FROM pg_stat_activity) RETURNING *) "
            f"INSERT INTO rollups ({_COLUMNS}) "
            'SELECT series_id, hour, field, 0, sum(count), sum("numeric"), sum(sum), min(min), '
            "max(max), min(first_ts), (array_agg(first_value ORDER BY first_ts, slot))[1], "
            "max(last_ts), (array_agg(last_value ORDER BY last_ts DESC, slot DESC))[1], "
            "(array_agg(kind ORDER BY last_ts DESC, slot DESC))[1] "
            "FROM gone GROUP BY series_id, hour, field" + _MERGE
        )


# Summaries of every point, built in SQL after copying points in (migrate, import-seed): the
# statement of migration 004, which built them for the points written before it.
REBUILD = f"""
INSERT INTO rollups ({_COLUMNS})
SELECT series_id, hour, field, 0, count(*), count(v), sum(v), min(v), max(v),
       min(ts), (array_agg(value ORDER BY ts, id))[1],
       max(ts), (array_agg(value ORDER BY ts DESC, id DESC))[1],
       (array_agg(kind ORDER BY ts DESC, id DESC))[1]
FROM (SELECT p.series_id, p.id, p.ts, f.key AS field, f.value,
             (p.ts - mod(mod(p.ts, 3600000000) + 3600000000, 3600000000)) / 3600000000
                 AS hour,
             CASE WHEN json_typeof(f.value) = 'number' THEN f.value::text::numeric END AS v,
             CASE json_typeof(f.value)
                 WHEN 'number' THEN CASE WHEN f.value::text ~ '[.eE]' THEN 'float'
                                         ELSE 'integer' END
                 WHEN 'boolean' THEN 'boolean' ELSE 'string' END AS kind
      FROM points AS p, json_each({JSON_DOC} -> 'fields') AS f) AS point_fields
GROUP BY series_id, hour, field
"""


async def rebuild_rollups(conn: Connection) -> None:
    """Summarize every point of every series again, from scratch."""
    await conn.execute("DELETE FROM rollups")
    await conn.execute(REBUILD)
