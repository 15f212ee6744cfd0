"""Point writes on PostgreSQL: their rows as COPY text, and a small batch of them in one
statement, outside any transaction block.

A commit batch of single-point requests is nearly all fixed cost: BEGIN, the owner check, the
count and rollup upserts, COPY and COMMIT are seven round trips, each of which wakes PostgreSQL
and our event loop. When every write names its series, one autocommit statement does it all: it
locks the series ``FOR KEY SHARE`` (as ``write_points`` does), checks that each exists and
belongs to the user writing to it, and only then inserts the points and adds to the counts and
rollups. When a check fails it writes nothing, and the writer runs the batch the usual way,
which refuses exactly the requests at fault (or creates a keyed series again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import orjson

from ..domain import FieldSummary
from .group_commit import Outcome
from .postgres_rollups import rollups_json, upsert_sql
from .rollups import merge_all
from .sqlite_points import PointWrite

if TYPE_CHECKING:  # the writer calls this module
    from .postgres_writer import Connection

BACKSLASH, ESCAPED_BACKSLASH = "\\", "\\\\"


@dataclass(frozen=True, slots=True)
class CopyPointWrite(PointWrite):
    """A request's points with their rows already in COPY's text format, one text per write
    (empty for a write whose series is only found, or created, in the transaction)."""

    copy_texts: Sequence[str]


def copy_text(params: Sequence[int | str]) -> str:
    """Flattened (id, series_id, ts, doc) rows as COPY FROM's text format.

    A document is JSON, so it holds no raw tab or newline; only its backslashes need escaping.
    Sending text this way costs a fraction of what psycopg's array or row dumpers cost per point.
    """
    fields = iter(params)
    return "".join(
        f"{pid}\t{sid}\t{ts}\t{str(doc).replace(BACKSLASH, ESCAPED_BACKSLASH)}\n"
        for pid, sid, ts, doc in zip(fields, fields, fields, fields, strict=True)
    )


# Bigger batches keep going in by COPY, the path measured with 1,000- and 5,000-point batches:
# what one statement saves is per batch. 200 is a round figure, not a measured crossover.
MAX_POINTS = 200

# ``claimed`` holds each (series, user, points added) of the batch; the points arrive as the
# writes' COPY texts (copy_text), split here as COPY would. Aggregates and joins are kept out:
# setting up this plan is a good part of what PostgreSQL spends on a small batch.
_WRITE = f"""
WITH claimed AS (
    SELECT * FROM json_to_recordset(%(claimed)s::json) AS c(id bigint, owner_id bigint, n bigint)
), locked AS (
    SELECT id FROM series JOIN claimed USING (id, owner_id) ORDER BY id FOR KEY SHARE OF series
), checked AS (
    SELECT count(*) = %(claims)s AS ok FROM locked
), inserted AS (
    INSERT INTO points (id, series_id, ts, doc)
    SELECT split_part(line, E'\\t', 1)::bigint, split_part(line, E'\\t', 2)::bigint,
           split_part(line, E'\\t', 3)::bigint, replace(split_part(line, E'\\t', 4), '\\\\', '\\')
    FROM unnest(string_to_array(%(points)s, E'\\n')) AS line
    WHERE line <> '' AND (SELECT ok FROM checked)
), counted AS (
    INSERT INTO point_counts (series_id, slot, n)
    SELECT id, %(slot)s, n FROM claimed WHERE (SELECT ok FROM checked)
    ON CONFLICT (series_id, slot) DO UPDATE SET n = point_counts.n + excluded.n
), summarized AS (
    {upsert_sql("%(slot)s", "%(rollups)s", "WHERE (SELECT ok FROM checked)")}
)
SELECT ok FROM checked
"""


def small_batch(operations: Sequence[object]) -> list[CopyPointWrite] | None:
    """The operations, if they are all point writes to named series with few points in all."""
    writes: list[CopyPointWrite] = []
    points = 0
    for operation in operations:
        if not isinstance(operation, CopyPointWrite):
            return None
        for write in operation.writes:
            if write.series_id is None:
                return None
            points += len(write.times)
        writes.append(operation)
    return writes if points <= MAX_POINTS else None


async def write_small_batch(
    conn: Connection, operations: Sequence[CopyPointWrite], slot: int
) -> list[Outcome] | None:
    """Write every request of the batch in one statement, or nothing (None) if one of them
    names a series that is gone or not its user's. ``conn`` must be in autocommit mode."""
    # Points added by (series, user). When every claim holds, no series is claimed twice (it
    # has one owner), so the count upsert touches each row once, as PostgreSQL requires.
    claimed: dict[tuple[int, int], int] = {}
    # Merged into copies: the writes stay as they were for the usual way, or a retry.
    summaries: dict[tuple[int, str, int], FieldSummary] = {}
    for operation in operations:
        for write in operation.writes:
            sid = write.series_id
            assert sid is not None  # small_batch() said so
            claimed[sid, write.user_id] = claimed.get((sid, write.user_id), 0) + len(write.ids)
            parts = write.summaries.items()
            merge_all(summaries, (((sid, f, h), replace(s)) for (f, h), s in parts))
    cursor = await conn.execute(
        _WRITE,
        {
            "claimed": orjson.dumps(
                [{"id": s, "owner_id": u, "n": n} for (s, u), n in claimed.items()]
            ).decode(),
            "claims": len(claimed),
            "points": "".join(text for op in operations for text in op.copy_texts),
            "slot": slot,
            "rollups": rollups_json(summaries),
        },
    )
    row = await cursor.fetchone()
    if row is None or not row[0]:
        return None
    return [
        (True, ([w.ids for w in op.writes], [w.series_id for w in op.writes])) for op in operations
    ]
