-- Series created by line protocol are named by a key: the bucket (1.x database), the
-- measurement and the tag set (canonical JSON, keys sorted). Seed series have no key.
ALTER TABLE series ADD COLUMN bucket TEXT;
ALTER TABLE series ADD COLUMN measurement TEXT;
ALTER TABLE series ADD COLUMN tags TEXT;

-- One series per user and key: two users writing "cpu,host=a" get a series each.
CREATE UNIQUE INDEX series_by_key ON series (owner_id, bucket, measurement, tags)
    WHERE measurement IS NOT NULL;
