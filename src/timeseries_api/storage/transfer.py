"""Copy everything from one database to another, either way between backends.

``timeseries-api migrate`` is a thin shell over :func:`copy_database`. Series and points keep
their ids, owners and times, and point documents are copied byte for byte, so every client sees
the same JSON from the new database. Copying is safe to run again: what the target already has
is kept, and the counts are verified at the end. Device keys (as digests) and ThingSpeak field
names come along.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..domain import SeriesInfo
from ..errors import BadInput
from .base import KeyRow, PointRow, Storage

CHUNK_POINTS = 5_000


class Source(Protocol):
    """What a copy reads: any storage backend, or the seed's original database."""

    async def list_series(self) -> list[SeriesInfo]: ...
    async def export_points(self, after_id: int, limit: int) -> list[PointRow]: ...
    async def export_device_keys(self) -> list[KeyRow]: ...
    async def series_field_names(self, series_id: int) -> dict[int, str]: ...
    async def id_high_water(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class CopyReport:
    """What the target holds after a copy."""

    series: int
    points: int


async def copy_database(
    source: Source, target: Storage, on_progress: Callable[[int], None] = lambda n: None
) -> CopyReport:
    """Copy every series and point of ``source`` into ``target`` and verify the counts.

    ``target`` must be empty or hold an earlier (perhaps interrupted) copy of ``source``.
    ``on_progress`` is called with the number of points of each chunk copied.
    """
    series = await source.list_series()
    _check_target(series_by_id={s.id: (s.owner_id, s.created_us) for s in series},
                  existing=await target.list_series())  # fmt: skip
    await target.import_series(series)
    after = 0
    while rows := await source.export_points(after, CHUNK_POINTS):
        await target.import_points(rows)
        after = rows[-1][0]
        on_progress(len(rows))
    await target.import_device_keys(await source.export_device_keys())
    for each in series:
        names = await source.series_field_names(each.id)
        if names:
            await target.set_series_field_names(each.owner_id, each.id, names)
    await target.finish_import(await source.id_high_water())
    copied = {s.id: s.count for s in await target.list_series()}
    expected = {s.id: s.count for s in await source.list_series()}
    if copied != expected:
        differing = sorted(sid for sid in expected if copied.get(sid) != expected[sid])
        raise BadInput(
            f"the copy's point counts differ from the source's for series {differing[:10]}: "
            "were points written to either while copying? Copy into an empty database, with "
            "the servers of both stopped"
        )
    return CopyReport(series=len(copied), points=sum(copied.values()))


def _check_target(series_by_id: dict[int, tuple[int, int]], existing: list[SeriesInfo]) -> None:
    """Refuse a target that holds series of its own."""
    for series in existing:
        if series_by_id.get(series.id) != (series.owner_id, series.created_us):
            raise BadInput(
                f"the target database already holds series {series.id}, which is not the "
                "source's: copy into an empty database"
            )
