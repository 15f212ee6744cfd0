-- Device keys: a write key may only add points to its one series; a read key may only read it.
-- Only the SHA-256 digest of a key is stored (hex text, so the column ports as-is), and keys are
-- looked up by it on every request, so a revocation holds at once in every server process.
CREATE TABLE device_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('write', 'read')),
    digest TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL DEFAULT '',
    created_us INTEGER NOT NULL
);

CREATE INDEX device_keys_by_series ON device_keys (series_id);

-- ThingSpeak field names of a series: a JSON object such as {"1": "temp_C"}; NULL when unnamed.
ALTER TABLE series ADD COLUMN field_names TEXT;
