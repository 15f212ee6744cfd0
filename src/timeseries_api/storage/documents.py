"""The JSON document of a point, rendered once at write time and served as stored.

Reads are the hot path (a chart of 100,000 points must come back in milliseconds), so a point's
``{id, series_id, timestamp, fields}`` object is built when it is written and both backends store
those exact bytes: the JSON a client sees is identical whichever backend serves it.
"""

from ..timeparse import format_us


def point_document(point_id: int, series_id: int, ts_us: int, fields_json: bytes) -> str:
    """The seed's point object as JSON text."""
    return (
        f'{{"id":{point_id},"series_id":{series_id},"timestamp":"{format_us(ts_us)}",'
        f'"fields":{fields_json.decode()}}}'
    )
