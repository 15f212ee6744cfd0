-- One row per series, hour and field (hours since the epoch, UTC): what downsampling and
-- GET /series/<id>/fields read instead of the points. Kept in the transaction that writes the
-- points (storage/rollups.py). "count" counts every value, "numeric" only numbers, which alone
-- make sum/min/max; first/last hold the earliest and latest value and their times, kind the
-- type of the latest (integer, float, boolean, string). Value columns have no declared type so
-- that SQLite keeps 3.0 a float and '12' a string (PostgreSQL: double precision and jsonb).
CREATE TABLE rollups (
    series_id INTEGER NOT NULL,
    field TEXT NOT NULL,
    hour INTEGER NOT NULL,
    count INTEGER NOT NULL,
    numeric INTEGER NOT NULL,
    sum,
    min,
    max,
    first_ts INTEGER NOT NULL,
    first_value,
    last_ts INTEGER NOT NULL,
    last_value,
    kind TEXT NOT NULL,
    PRIMARY KEY (series_id, hour, field)
) WITHOUT ROWID;

-- Summaries of the points written before this migration.
INSERT INTO rollups (series_id, field, hour, count, numeric, sum, min, max, first_ts, last_ts,
                     kind)
SELECT series_id, key, hour, count(*), count(v), sum(v), min(v), max(v), min(ts), max(ts), ''
FROM (SELECT p.series_id, f.key, p.ts,
             (p.ts - ((p.ts % 3600000000) + 3600000000) % 3600000000) / 3600000000 AS hour,
             CASE WHEN f.type IN ('integer', 'real') THEN f.value END AS v
      FROM points AS p, json_each(p.doc, '$.fields') AS f)
GROUP BY series_id, key, hour;

UPDATE rollups SET
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
              AND f.key = rollups.field ORDER BY p.id DESC LIMIT 1);
