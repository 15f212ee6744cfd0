"""The JSON document of a point, rendered once at write time and served as stored.

Reads are the hot path (a chart of 100,000 points must come back in milliseconds), so a point's
``{id, series_id, timestamp, fields}`` object is built when it is written and both backends store
those exact bytes: the JSON a client sees is identical whichever backend serves it.
"""

from collections.abc import Sequence
from itertools import repeat

from ..domain import COLUMNS_FROM
from ..timeparse import format_us, iso_pieces


def documents(
    point_ids: Sequence[int], series_id: int, times: Sequence[int], fields: Sequence[str]
) -> list[str]:
    """The documents of many points of one series (``fields``: each point's fields as JSON).

    The same text as :func:`point_document` for each, built a column at a time by C-level
    joins: formatting each point in Python cost more than parsing it. A few points (single
    writes, the common case) are formatted one by one, which costs less than setting up columns.
    """
    if len(times) < COLUMNS_FROM:
        return [
            f'{{"id":{point_id},"series_id":{series_id},"timestamp":"{format_us(ts_us)}",'
            f'"fields":{text}}}'
            for point_id, ts_us, text in zip(point_ids, times, fields, strict=True)
        ]
    dates, seconds, micros = iso_pieces(times)
    return list(
        map(
            "".join,
            zip(
                repeat('{"id":'),
                map(str, point_ids),
                repeat(f',"series_id":{series_id},"timestamp":"'),
                dates,
                seconds,
                micros,
                repeat('+00:00","fields":'),
                fields,
                repeat("}"),
            ),
        )
    )


def point_document(point_id: int, series_id: int, ts_us: int, fields_json: bytes) -> str:
    """The seed's point object as JSON text: ``{"id", "series_id", "timestamp", "fields"}``."""
    return (
        f'{{"id":{point_id},"series_id":{series_id},"timestamp":"{format_us(ts_us)}",'
        f'"fields":{fields_json.decode()}}}'
    )
