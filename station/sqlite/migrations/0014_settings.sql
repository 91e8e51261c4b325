-- What the station knows about itself beyond its flags (the first-run setup's name and community):
-- one row per key.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
