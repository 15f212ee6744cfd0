-- Point counts move out of the series row. Every write used to update that row, and the row lock
-- it takes lasts until the commit: writers in different processes took turns on a busy series.
-- Now each writer connection adds to a row of its own (slot = its backend pid), and a series'
-- count is the sum of its rows; slots of writers that are gone are folded into slot 0.
CREATE TABLE point_counts (
    series_id BIGINT NOT NULL,
    slot INTEGER NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (series_id, slot)
);

INSERT INTO point_counts (series_id, slot, n) SELECT id, 0, point_count FROM series;

ALTER TABLE series DROP COLUMN point_count;
