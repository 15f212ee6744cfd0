"""The JSON document of a point, rendered once at write time and served as stored.

Reads are the hot path (a chart of 100,000 points must come back in milliseconds), so a point's
``{id, series_id, timestamp, fields}`` object is built when it is written and both backends store
those exact bytes: the JSON a client sees is identical whichever backend serves it.
"""

from ..timeparse import format_us


def document_rest(ts_us: int, fields_json: bytes) -> str:
    """Everything of a point's document after its ids: ``,"timestamp":...,"fields":{...}}``.

    Rendered before a write is queued, so that the single writer, which every server process
    waits for, only has to put the ids in front (``assemble``).
    """
    return f',"timestamp":"{format_us(ts_us)}","fields":{fields_json.decode()}}}'


def assemble(point_id: int, series_id: int, rest: str) -> str:
    """The complete document from its ids and its rest."""
    return f'{{"id":{point_id},"series_id":{series_id}{rest}'


def point_document(point_id: int, series_id: int, ts_us: int, fields_json: bytes) -> str:
    """The seed's point object as JSON text: ``{"id", "series_id", "timestamp", "fields"}``."""
    return assemble(point_id, series_id, document_rest(ts_us, fields_json))
