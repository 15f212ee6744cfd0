-- Hourly summaries of every field, as in sqlite/005 (see storage/rollups.py), but with one row
-- per writer slot, like point_counts (003): each writer connection merges its points into rows
-- of its own (slot = its backend pid), so writers of one series never wait for each other.
-- Readers merge the slots (the view "hourly"); slots of writers that are gone are folded into
-- slot 0 at startup. sum/min/max are numeric (a scale tells 3.0 from 3, see
-- postgres_rollups.number_from_text); first/last values are json, not jsonb: json keeps a value's
-- text as sent (1e300, -0.0, an escaped NUL in a string), jsonb would normalize or refuse it.
CREATE TABLE rollups (
    series_id BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    field TEXT NOT NULL,
    slot INTEGER NOT NULL,
    count BIGINT NOT NULL,
    "numeric" BIGINT NOT NULL,
    sum NUMERIC,
    min NUMERIC,
    max NUMERIC,
    first_ts BIGINT NOT NULL,
    first_value JSON,
    last_ts BIGINT NOT NULL,
    last_value JSON,
    kind TEXT NOT NULL,
    PRIMARY KEY (series_id, hour, field, slot)
);

-- One row per series, hour and field, whatever the number of slots. Among slots with equal
-- times the lower slot's value is first and the higher one's last.
CREATE VIEW hourly AS
SELECT series_id, hour, field, sum(count)::bigint AS count, sum("numeric")::bigint AS "numeric",
       sum(sum) AS sum, min(min) AS min, max(max) AS max,
       min(first_ts) AS first_ts, (array_agg(first_value ORDER BY first_ts, slot))[1] AS first_value,
       max(last_ts) AS last_ts,
       (array_agg(last_value ORDER BY last_ts DESC, slot DESC))[1] AS last_value,
       (array_agg(kind ORDER BY last_ts DESC, slot DESC))[1] AS kind
FROM rollups
GROUP BY series_id, hour, field;

-- Summaries of the points written before this migration (postgres_rollups.REBUILD does the same
-- after an import). Fields are read as json, not jsonb, so that 1.0 stays a float.
INSERT INTO rollups (series_id, hour, field, slot, count, "numeric", sum, min, max, first_ts,
                     first_value, last_ts, last_value, kind)
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
      FROM points AS p,
           -- U+FFFD for each escaped NUL, which PostgreSQL's JSON functions refuse.
           json_each((CASE WHEN strpos(doc, '\u0000') = 0 THEN doc ELSE
                      regexp_replace(doc, '(?<=(?:^|[^\\])(?:\\\\)*)\\u0000', '\\ufffd', 'g')
                      END)::json -> 'fields') AS f) AS point_fields
GROUP BY series_id, hour, field;
