"""Reading points and summaries from PostgreSQL: the queries of ``sqlite_reads``.

As there, rows never reach Python one by one: documents (or CSV lines) are joined by
``string_agg`` in chunks, and aggregates come from ``GROUP BY`` over the hourly rollups (every
writer slot at once), or over the points for intervals the rollups cannot serve. Fields are
read as ``json``, not ``jsonb``, which keeps each value's text (1e300, -0.0) as it was sent.
"""

import orjson

from ..domain import FieldInfo, FieldSummary, PointKey, PointRange
from .postgres_rollups import JSON_DOC, number_from_text, value_from_json
from .postgres_writer import Connection
from .rollups import HOUR_US
from .sqlite_reads import RowText

# The ISO time of a stored document, always 32 characters, right after its ids.
_ISO_TIME = 'substr(doc, strpos(doc, \'"timestamp":"\') + 13, 32)'
_FIELDS = f"({JSON_DOC} -> 'fields')"
# Row texts read the point's fields from ``f``, parsed once per row by points_chunk.
_F = "f"

DOCUMENT = RowText("doc")


def document_with_fields(fields: tuple[str, ...]) -> RowText:
    """The point's document with only ``fields`` (those it has), in the order asked for."""
    pairs = ", ".join(f"%s || ({_F} -> %s)::text" for _ in fields)
    params: list[object] = []
    for name in fields:
        params += (orjson.dumps(name).decode() + ":", name)
    return RowText(
        f"""'{{"id":' || id || ',"series_id":' || series_id || ',"timestamp":"' || """
        f"""{_ISO_TIME} || '","fields":{{' || concat_ws(',', {pairs}) || '}}}}'""",
        tuple(params),
    )


def csv_line(columns: tuple[str, ...], may_be_text: set[str]) -> RowText:
    """The point as a CSV line: its ISO timestamp, then one cell per column (empty if absent);
    string cells quoted the CSV way, only for fields that have ever held a non-number."""
    parts = [_ISO_TIME]
    params: list[object] = []
    for name in columns:
        if name in may_be_text:
            parts.append(
                f"coalesce(CASE json_typeof({_F} -> %s) WHEN 'string' THEN "
                f"'\"' || replace({_F} ->> %s, '\"', '\"\"') || '\"' "
                f"ELSE ({_F} -> %s)::text END, '')"
            )
            params += (name, name, name)
        else:
            parts.append(f"coalesce(({_F} -> %s)::text, '')")
            params.append(name)
    return RowText(" || ',' || ".join(parts), tuple(params))


async def fields_with_non_numbers(conn: Connection, series_id: int) -> set[str]:
    """Fields of the series that ever held a boolean or a string."""
    cursor = await conn.execute(
        'SELECT DISTINCT field FROM rollups WHERE series_id = %s AND count > "numeric"',
        (series_id,),
    )
    return {row[0] for row in await cursor.fetchall()}


def _where(
    series_id: int, rng: PointRange, after: PointKey | None
) -> tuple[list[str], list[object]]:
    """Conditions for the points of ``rng`` strictly after ``after`` in the range's order."""
    conds = ["series_id = %s"]
    params: list[object] = [series_id]
    if rng.start_us is not None:
        conds.append("ts >= %s")
        params.append(rng.start_us)
    if rng.end_us is not None:
        conds.append("ts <= %s")
        params.append(rng.end_us)
    # Row comparisons: the (series_id, ts, id) index serves them as one range.
    if after is not None:
        conds.append(f"(ts, id) {'<' if rng.descending else '>'} (%s, %s)")
        params += after
    if rng.through is not None:
        conds.append(f"(ts, id) {'>=' if rng.descending else '<='} (%s, %s)")
        params += rng.through
    if rng.fields:
        conds.append("(" + " OR ".join(f"{_FIELDS} -> %s IS NOT NULL" for _ in rng.fields) + ")")
        params += rng.fields
    return conds, params


def _order(rng: PointRange) -> str:
    return "ORDER BY ts DESC, id DESC" if rng.descending else "ORDER BY ts, id"


async def nth_key(
    conn: Connection, series_id: int, rng: PointRange, after: PointKey | None, n: int
) -> PointKey | None:
    """The key of the ``n``-th point (from 1) of the range after ``after``, if there is one."""
    conds, params = _where(series_id, rng, after)
    cursor = await conn.execute(
        f"SELECT ts, id FROM points WHERE {' AND '.join(conds)} {_order(rng)} OFFSET %s LIMIT 1",
        (*params, n - 1),
    )
    row = await cursor.fetchone()
    return None if row is None else PointKey(row[0], row[1])


async def points_chunk(
    conn: Connection,
    series_id: int,
    rng: PointRange,
    after: PointKey | None,
    row: RowText,
    separator: str,
    size: int,
) -> tuple[str | None, PointKey | None]:
    """Up to ``size`` rows of text after ``after``, joined, and the key to continue from
    (None at the end)."""
    # The chunk's last key first, so the text query has a closed range and a point inserted
    # between the two queries can neither be skipped nor sent twice.
    last = await nth_key(conn, series_id, rng, after, size)
    chunk_range = rng
    if last is not None:
        chunk_range = PointRange(rng.start_us, rng.end_us, rng.descending, None, last, rng.fields)
    conds, params = _where(series_id, chunk_range, after)
    # OFFSET 0 keeps the subquery apart, so each document is parsed once, not once per cell.
    cursor = await conn.execute(
        f"SELECT string_agg({row.sql}, %s {_order(rng)}) FROM (SELECT id, series_id, ts, doc, "
        f"{_FIELDS} AS {_F} FROM points WHERE {' AND '.join(conds)} OFFSET 0) AS points",
        (*row.params, separator, *params),
    )
    found = await cursor.fetchone()
    assert found is not None
    return found[0], last


async def latest_document(conn: Connection, series_id: int) -> str | None:
    """The document of the series' last point in time, if it has any."""
    cursor = await conn.execute(
        "SELECT doc FROM points WHERE series_id = %s ORDER BY ts DESC, id DESC LIMIT 1",
        (series_id,),
    )
    row = await cursor.fetchone()
    return None if row is None else str(row[0])


async def count_in_range(conn: Connection, series_id: int, start: int, end: int) -> int:
    """The number of points of the series from ``start`` to ``end`` inclusive."""
    cursor = await conn.execute(
        "SELECT count(*) FROM points WHERE series_id = %s AND ts >= %s AND ts <= %s",
        (series_id, start, end),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def field_infos(conn: Connection, series_id: int) -> list[FieldInfo]:
    """Every field the series' points have, from the hourly rollups, by name."""
    cursor = await conn.execute(
        "SELECT field, (array_agg(kind ORDER BY last_ts DESC, slot DESC))[1], sum(count), "
        "min(first_ts), max(last_ts) FROM rollups WHERE series_id = %s GROUP BY field",
        (series_id,),
    )
    # Sorted here: Python orders names by code point, as SQLite does, whatever the collation.
    return sorted(
        (FieldInfo(name, kind, int(count), first, last)
         for name, kind, count, first, last in await cursor.fetchall()),
        key=lambda info: info.name,
    )  # fmt: skip


Summaries = dict[tuple[int, str], FieldSummary]

# The start of the bucket of time t, floor division also right before 1970 (SQL's / truncates
# towards zero). Parameters: offset, offset, every, every, every, offset.
_BUCKET = "({t} + %s) - mod(mod({t} + %s, %s) + %s, %s) - %s"


def _bucket(t: str, every: int, offset: int) -> tuple[str, list[object]]:
    return _BUCKET.format(t=t), [offset, offset, every, every, every, offset]


def _filter(
    series: str, span: tuple[str, int | None, int | None, str], field: str,
    fields: tuple[str, ...] | None,
) -> tuple[str, list[object]]:  # fmt: skip
    """WHERE text: one series (a parameter), a span of a column (from ``lo``, up to ``hi`` by
    the given operator; None is open), and a field among ``fields`` (None: any)."""
    column, lo, hi, up_to = span
    conds = [f"{series} = %s"]
    params: list[object] = []
    if lo is not None:
        conds.append(f"{column} >= %s")
        params.append(lo)
    if hi is not None:
        conds.append(f"{column} {up_to} %s")
        params.append(hi)
    if fields:
        conds.append(f"{field} = ANY(%s)")
        params.append(list(fields))
    return " AND ".join(conds), params


# Over rows of (b, field, statistics, ends): one query per bucket and field. Rollups merge
# like the view "hourly"; points break ties in time by id, as in every read.
_ROLLUP_STATS = (
    'sum(count)::bigint, sum("numeric")::bigint, sum(sum)::text, min(min)::text, max(max)::text'
)
_ROLLUP_ENDS = (
    ", min(first_ts), (array_agg(first_value ORDER BY first_ts, slot))[1]::text, max(last_ts), "
    "(array_agg(last_value ORDER BY last_ts DESC, slot DESC))[1]::text, "
    "(array_agg(kind ORDER BY last_ts DESC, slot DESC))[1]"
)
_POINT_STATS = "count(*), count(v), sum(v)::text, min(v)::text, max(v)::text"
_POINT_ENDS = (
    ", min(ts), (array_agg(value ORDER BY ts, id))[1]::text, max(ts), "
    "(array_agg(value ORDER BY ts DESC, id DESC))[1]::text, "
    "(array_agg(kind ORDER BY ts DESC, id DESC))[1]"
)
# Each point's fields as rows (field, value, kind, v: the value if it is a number).
_POINT_FIELDS = (
    "SELECT {bucket} AS b, p.ts, p.id, f.key AS field, f.value, "
    "CASE WHEN json_typeof(f.value) = 'number' THEN f.value::text::numeric END AS v, "
    "CASE json_typeof(f.value) WHEN 'number' THEN CASE WHEN f.value::text ~ '[.eE]' "
    "THEN 'float' ELSE 'integer' END WHEN 'boolean' THEN 'boolean' ELSE 'string' END AS kind "
    f"FROM points AS p, json_each({JSON_DOC} -> 'fields') AS f WHERE {{where}}"
)


async def _grouped(
    conn: Connection, source: str, params: list[object], scale: int, stats: str, ends: str | None
) -> Summaries:
    """Summaries by (bucket start, field) from ``source``, rows with their bucket ``b`` (in
    units of ``scale`` microseconds); first and last values only with ``ends``."""
    cursor = await conn.execute(
        f"SELECT b, field, {stats}{ends or ''} FROM ({source}) AS bucketed GROUP BY b, field",
        params,
    )
    found: Summaries = {}
    for row in await cursor.fetchall():
        b, f, c, n, s, lo, hi = row[:7]
        summary = FieldSummary(
            c, n, number_from_text(s), number_from_text(lo), number_from_text(hi),
            0, None, 0, None, "",
        )  # fmt: skip
        if ends:
            ft, fv, lt, lv, kind = row[7:]
            summary.first_us, summary.first = ft, value_from_json(fv)
            summary.last_us, summary.last, summary.kind = lt, value_from_json(lv), kind
        found[b * scale, f] = summary
    return found


async def rollup_summaries(
    conn: Connection,
    series_id: int,
    every_h: int,
    offset_h: int,
    hours: tuple[int | None, int | None],
    fields: tuple[str, ...] | None,
    ends: bool = True,
) -> Summaries:
    """Summaries by (bucket start, field) from the hourly rollups of hours ``[lo, hi)``, in
    buckets of ``every_h`` hours shifted by ``offset_h`` (see ``sqlite_reads``)."""
    bucket, bucket_params = _bucket("hour", every_h, offset_h)
    where, params = _filter("series_id", ("hour", *hours, "<"), "field", fields)
    source = f"SELECT {bucket} AS b, * FROM rollups WHERE {where}"
    params = [*bucket_params, series_id, *params]
    return await _grouped(
        conn, source, params, HOUR_US, _ROLLUP_STATS, _ROLLUP_ENDS if ends else None
    )


async def point_summaries(
    conn: Connection,
    series_id: int,
    every_us: int,
    offset_us: int,
    span: tuple[int | None, int | None],
    fields: tuple[str, ...] | None,
    ends: bool = True,
) -> Summaries:
    """Summaries by (bucket start, field) computed from the points from ``start`` to ``end``
    inclusive: for intervals the hourly rollups cannot serve, and partial hours at the edges."""
    bucket, bucket_params = _bucket("p.ts", every_us, offset_us)
    where, params = _filter("p.series_id", ("p.ts", *span, "<="), "f.key", fields)
    source = _POINT_FIELDS.format(bucket=bucket, where=where)
    params = [*bucket_params, series_id, *params]
    return await _grouped(conn, source, params, 1, _POINT_STATS, _POINT_ENDS if ends else None)
