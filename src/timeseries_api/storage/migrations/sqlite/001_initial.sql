-- Series and points. Times are integer microseconds since the epoch (UTC).
-- AUTOINCREMENT: ids are never reused after a delete, as devices may remember them.
CREATE TABLE series (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL,
    "desc" TEXT NOT NULL,
    device_desc TEXT NOT NULL,
    device_id TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    point_count INTEGER NOT NULL DEFAULT 0
);

-- doc is the point's JSON object exactly as clients receive it (see storage/documents.py).
CREATE TABLE points (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    doc TEXT NOT NULL
);

CREATE INDEX points_by_series_time ON points (series_id, ts, id);
