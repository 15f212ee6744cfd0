"""Reading points and summaries from SQLite, with SQL doing the per-row work.

Fetching a row into Python costs about 2 µs, so nothing here hands points to Python one by one:
documents (or CSV lines) are concatenated by ``group_concat`` in chunks, and aggregates come from
``GROUP BY`` over the hourly rollups, or over the points for intervals the rollups cannot serve.
"""

import sqlite3
from dataclasses import dataclass
from typing import Any

from ..domain import FieldInfo, FieldSummary, PointKey, PointRange
from ..errors import BadInput
from .rollups import HOUR_US

# Points per streamed chunk: about 1.5 MB of JSON, few enough queries to stay fast.
CHUNK_POINTS = 10_000


def field_path(name: str) -> str:
    """The JSON path of a point's field; SQLite's quoted labels cannot hold a double quote."""
    if '"' in name:
        raise BadInput(f"fields: a field name cannot contain a double quote ({name[:64]!r})")
    return f'$.fields."{name}"'


@dataclass(frozen=True)
class RowText:
    """How each point becomes text: an SQL expression over ``points`` and its parameters."""

    sql: str
    params: tuple[object, ...] = ()


DOCUMENT = RowText("doc")


def document_with_fields(fields: tuple[str, ...]) -> RowText:
    """The point's document with only ``fields`` (those it has), keys in the stored order."""
    pairs = ", ".join("?, doc -> ?" for _ in fields)
    params: list[object] = []
    for name in fields:
        params += (name, field_path(name))
    return RowText(
        "json_object('id', id, 'series_id', series_id, 'timestamp', doc ->> '$.timestamp', "
        f"'fields', json_patch('{{}}', json_object({pairs})))",
        tuple(params),
    )


def csv_line(columns: tuple[str, ...], may_be_text: set[str]) -> RowText:
    """The point as a CSV line: its ISO timestamp, then one cell per column (empty if absent).

    Numbers and booleans are copied as their JSON text; string cells are quoted the CSV way,
    which costs more, so only for fields that have ever held a non-number.
    """
    # The stored document holds the ISO time, always 32 characters, right after its ids.
    parts = ['substr(doc, instr(doc, \'"timestamp":"\') + 13, 32)']
    params: list[object] = []
    for name in columns:
        path = field_path(name)
        if name in may_be_text:
            parts.append(
                "coalesce(CASE json_type(doc, ?) WHEN 'text' THEN "
                "'\"' || replace(doc ->> ?, '\"', '\"\"') || '\"' ELSE doc -> ? END, '')"
            )
            params += (path, path, path)
        else:
            parts.append("coalesce(doc -> ?, '')")
            params.append(path)
    return RowText(" || ',' || ".join(parts), tuple(params))


def fields_with_non_numbers(conn: sqlite3.Connection, series_id: int) -> set[str]:
    """Fields of the series that ever held a boolean or a string."""
    rows = conn.execute(
        "SELECT DISTINCT field FROM rollups WHERE series_id = ? AND count > numeric", (series_id,)
    ).fetchall()
    return {row[0] for row in rows}


def _where(
    series_id: int, rng: PointRange, after: PointKey | None
) -> tuple[list[str], list[object]]:
    """Conditions for the points of ``rng`` strictly after ``after`` in the range's order."""
    conds = ["series_id = ?"]
    params: list[object] = [series_id]
    if rng.start_us is not None:
        conds.append("ts >= ?")
        params.append(rng.start_us)
    if rng.end_us is not None:
        conds.append("ts <= ?")
        params.append(rng.end_us)
    # (ts, id) comparisons spelled out so that the (series_id, ts, id) index serves them.
    if after is not None:
        cmp, strict = ("<=", "<") if rng.descending else (">=", ">")
        conds.append(f"ts {cmp} ? AND (ts {strict} ? OR id {strict} ?)")
        params += (after.ts_us, after.ts_us, after.id)
    if rng.through is not None:
        cmp, strict = (">=", ">") if rng.descending else ("<=", "<")
        conds.append(f"ts {cmp} ? AND (ts {strict} ? OR id {cmp} ?)")
        params += (rng.through.ts_us, rng.through.ts_us, rng.through.id)
    if rng.fields:
        conds.append("(" + " OR ".join("doc -> ? IS NOT NULL" for _ in rng.fields) + ")")
        params += [field_path(name) for name in rng.fields]
    return conds, params


def _order(rng: PointRange) -> str:
    return "ORDER BY ts DESC, id DESC" if rng.descending else "ORDER BY ts, id"


def nth_key(
    conn: sqlite3.Connection, series_id: int, rng: PointRange, after: PointKey | None, n: int
) -> PointKey | None:
    """The key of the ``n``-th point (from 1) of the range after ``after``, if there is one."""
    conds, params = _where(series_id, rng, after)
    row = conn.execute(
        f"SELECT ts, id FROM points WHERE {' AND '.join(conds)} {_order(rng)} LIMIT 1 OFFSET ?",
        (*params, n - 1),
    ).fetchone()
    return None if row is None else PointKey(row[0], row[1])


def points_chunk(
    conn: sqlite3.Connection,
    series_id: int,
    rng: PointRange,
    after: PointKey | None,
    row: RowText,
    separator: str,
) -> tuple[str | None, PointKey | None]:
    """Up to CHUNK_POINTS rows of text after ``after``, joined, and the key to continue from
    (None at the end)."""
    # The chunk's last key first, so the text query has a closed range and a point inserted
    # between the two queries can neither be skipped nor sent twice.
    last = nth_key(conn, series_id, rng, after, CHUNK_POINTS)
    chunk_range = rng
    if last is not None:
        chunk_range = PointRange(rng.start_us, rng.end_us, rng.descending, None, last, rng.fields)
    conds, params = _where(series_id, chunk_range, after)
    # group_concat keeps the subquery's order (documented behaviour for this query shape).
    text = conn.execute(
        f"SELECT group_concat(line, ?) FROM (SELECT {row.sql} AS line FROM points "
        f"WHERE {' AND '.join(conds)} {_order(rng)})",
        (separator, *row.params, *params),
    ).fetchone()[0]
    return text, last


def latest_document(conn: sqlite3.Connection, series_id: int) -> str | None:
    """The document of the series' last point in time, if it has any."""
    row = conn.execute(
        "SELECT doc FROM points WHERE series_id = ? ORDER BY ts DESC, id DESC LIMIT 1",
        (series_id,),
    ).fetchone()
    return None if row is None else str(row[0])


def count_in_range(conn: sqlite3.Connection, series_id: int, start: int, end: int) -> int:
    """The number of points of the series from ``start`` to ``end`` inclusive."""
    row = conn.execute(
        "SELECT count(*) FROM points WHERE series_id = ? AND ts >= ? AND ts <= ?",
        (series_id, start, end),
    ).fetchone()
    return int(row[0])


def field_infos(conn: sqlite3.Connection, series_id: int) -> list[FieldInfo]:
    """Every field the series' points have, from the hourly rollups."""
    totals = conn.execute(
        "SELECT field, sum(count), min(first_ts), max(last_ts) FROM rollups "
        "WHERE series_id = ? GROUP BY field ORDER BY field",
        (series_id,),
    ).fetchall()
    # SQLite: with a single max(), the bare column comes from the row holding the maximum.
    kinds = dict(
        conn.execute(
            "SELECT field, kind FROM (SELECT field, max(last_ts), kind FROM rollups "
            "WHERE series_id = ? GROUP BY field)",
            (series_id,),
        ).fetchall()
    )
    return [FieldInfo(name, kinds[name], count, first, last) for name, count, first, last in totals]


Summaries = dict[tuple[int, str], FieldSummary]


def _filter(
    series: tuple[str, int],
    span: tuple[str, int | None, int | None, str],
    names: tuple[str, tuple[str, ...] | None],
) -> tuple[str, list[object]]:
    """WHERE text and parameters: one series, a span of a column (from ``lo``, up to ``hi``
    by the given operator; None is open), and a column among names (None: any)."""
    column, lo, hi, up_to = span
    conds = [f"{series[0]} = ?"]
    params: list[object] = [series[1]]
    if lo is not None:
        conds.append(f"{column} >= ?")
        params.append(lo)
    if hi is not None:
        conds.append(f"{column} {up_to} ?")
        params.append(hi)
    if names[1]:
        conds.append(f"{names[0]} IN ({','.join('?' * len(names[1]))})")
        params += names[1]
    return " AND ".join(conds), params


# The start of the bucket of time t: floor division, also right for times before 1970 (SQL's
# / truncates towards zero). Parameters: offset, offset, every, every, every, offset.
_BUCKET = "({t} + ?) - ((({t} + ?) % ?) + ?) % ? - ?"


def rollup_summaries(
    conn: sqlite3.Connection,
    series_id: int,
    every_h: int,
    offset_h: int,
    hours: tuple[int | None, int | None],
    fields: tuple[str, ...] | None,
    ends: bool = True,
) -> Summaries:
    """Summaries by (bucket start, field) from the hourly rollups of hours ``[lo, hi)``;
    without ``ends``, first and last values are left out (they cost two more queries).

    Buckets are ``every_h`` hours long and start where the local time of ``offset_h`` is a
    multiple of the interval (midnight, for days).
    """
    where, params = _filter(("series_id", series_id), ("hour", *hours, "<"), ("field", fields))
    if every_h == 1:  # each row is a bucket
        if not ends:
            rows = conn.execute(
                f"SELECT hour, field, count, numeric, sum, min, max FROM rollups WHERE {where}",
                params,
            ).fetchall()
            return {
                (h * HOUR_US, f): FieldSummary(c, n, s, lo_, hi_, 0, None, 0, None, "")
                for h, f, c, n, s, lo_, hi_ in rows
            }
        rows = conn.execute(
            "SELECT hour, field, count, numeric, sum, min, max, first_ts, first_value, "
            f"last_ts, last_value, kind FROM rollups WHERE {where}",
            params,
        ).fetchall()
        return {
            (h * HOUR_US, f): FieldSummary(c, n, s, lo_, hi_, ft, fv, lt, lv, k)
            for h, f, c, n, s, lo_, hi_, ft, fv, lt, lv, k in rows
        }
    bucketed = f"SELECT {_BUCKET.format(t='hour')} AS b, * FROM rollups WHERE {where}"
    bucket_params = (offset_h, offset_h, every_h, every_h, every_h, offset_h)
    return _grouped(conn, bucketed, [*bucket_params, *params], HOUR_US, _ROLLUP_QUERIES, ends)


# Over ``bucketed`` (the rows with their bucket ``b``): the statistics, then the first and
# the last value of each bucket and field. On rollups, SQLite takes a bare column from the row
# of the one min() or max() of its query (PostgreSQL: DISTINCT ON); hours never share a time.
_ROLLUP_QUERIES = (
    "SELECT b, field, sum(count), sum(numeric), sum(sum), min(min), max(max) FROM bucketed "
    "GROUP BY b, field ORDER BY b, field",
    "SELECT b, field, min(first_ts), first_value FROM bucketed GROUP BY b, field ORDER BY b, field",
    "SELECT b, field, max(last_ts), last_value, kind FROM bucketed GROUP BY b, field "
    "ORDER BY b, field",
)
# Points may share a time: their id breaks the tie, as in every read.
_POINT_QUERIES = (
    "SELECT b, field, count(*), count(v), sum(v), min(v), max(v) FROM bucketed "
    "GROUP BY b, field ORDER BY b, field",
    "SELECT b, field, ts, value FROM (SELECT b, field, ts, value, row_number() OVER "
    "(PARTITION BY b, field ORDER BY ts, id) AS r FROM bucketed) WHERE r = 1 ORDER BY b, field",
    "SELECT b, field, ts, value, kind FROM (SELECT b, field, ts, value, kind, row_number() OVER "
    "(PARTITION BY b, field ORDER BY ts DESC, id DESC) AS r FROM bucketed) WHERE r = 1 "
    "ORDER BY b, field",
)


def _grouped(
    conn: sqlite3.Connection,
    bucketed: str,
    params: list[object],
    scale: int,
    queries: tuple[str, str, str],
    ends: bool,
) -> Summaries:
    """Summaries by (bucket start, field) from ``bucketed``, a query of rows with their bucket
    ``b`` (in units of ``scale`` microseconds)."""

    def query(sql: str) -> list[Any]:
        return conn.execute(f"WITH bucketed AS ({bucketed}) {sql}", params).fetchall()

    stats = query(queries[0])
    if not ends:
        return {
            (b * scale, f): FieldSummary(c, n, s, lo, hi, 0, None, 0, None, "")
            for b, f, c, n, s, lo, hi in stats
        }
    found: Summaries = {}
    for (b, f, c, n, s, lo, hi), (_, _, ft, fv), (_, _, lt, lv, k) in zip(
        stats, query(queries[1]), query(queries[2]), strict=True
    ):
        found[b * scale, f] = FieldSummary(c, n, s, lo, hi, ft, fv, lt, lv, k)
    return found


# Each point's fields as rows (field, value, kind, v: the value if it is a number).
_POINT_FIELDS = (
    "(SELECT p.ts, p.id, f.key AS field, f.value AS value, "
    "CASE f.type WHEN 'integer' THEN 'integer' WHEN 'real' THEN 'float' "
    "WHEN 'text' THEN 'string' ELSE 'boolean' END AS kind, "
    "CASE WHEN f.type IN ('integer', 'real') THEN f.value END AS v "
    "FROM points AS p, json_each(p.doc, '$.fields') AS f WHERE {where})"
)


def point_summaries(
    conn: sqlite3.Connection,
    series_id: int,
    every_us: int,
    offset_us: int,
    span: tuple[int | None, int | None],
    fields: tuple[str, ...] | None,
    ends: bool = True,
) -> Summaries:
    """Summaries by (bucket start, field) computed from the points from ``start`` to ``end``
    inclusive: for intervals the hourly rollups cannot serve, and the partial hours at the
    edges of a range."""
    where, params = _filter(("p.series_id", series_id), ("p.ts", *span, "<="), ("f.key", fields))
    source = _POINT_FIELDS.format(where=where)
    bucketed = f"SELECT {_BUCKET.format(t='ts')} AS b, * FROM {source}"
    bucket_params = (offset_us, offset_us, every_us, every_us, every_us, offset_us)
    return _grouped(conn, bucketed, [*bucket_params, *params], 1, _POINT_QUERIES, ends)
