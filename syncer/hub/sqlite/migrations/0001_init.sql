-- Hub store schema. Times are UTC text in a fixed-width RFC 3339 form so that text order is time order.

CREATE TABLE tokens (
	hash         TEXT PRIMARY KEY, -- hex SHA-256 of the secret; the secret itself is never stored
	station_name TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL,
	used_at      TEXT,
	station_id   TEXT
) STRICT;

CREATE TABLE stations (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	cert_serial   TEXT NOT NULL,
	enrolled_at   TEXT NOT NULL,
	last_seen     TEXT NOT NULL DEFAULT '',
	backlog       INTEGER NOT NULL DEFAULT 0,
	dead_letters  INTEGER NOT NULL DEFAULT 0,
	version       TEXT NOT NULL DEFAULT '',
	clock_skew_ms INTEGER NOT NULL DEFAULT 0,
	acked_seq     INTEGER NOT NULL DEFAULT 0,
	cursor        TEXT NOT NULL DEFAULT '',
	state_hash    TEXT NOT NULL DEFAULT ''
) STRICT;

-- Every record under its permanent key (station, id): never updated, never overwritten.
CREATE TABLE records (
	station_id     TEXT NOT NULL REFERENCES stations (id),
	id             TEXT NOT NULL,
	seq            INTEGER NOT NULL,
	kind           TEXT NOT NULL,
	occurred_at    TEXT NOT NULL,
	payload        TEXT NOT NULL,
	payload_sha256 TEXT NOT NULL,
	application_id TEXT NOT NULL DEFAULT '',
	received_at    TEXT NOT NULL,
	PRIMARY KEY (station_id, id)
) STRICT;
CREATE INDEX records_seq ON records (station_id, seq);
CREATE INDEX records_application ON records (station_id, application_id, kind);

-- Records that arrived under a held key with different content.
CREATE TABLE conflicts (
	station_id     TEXT NOT NULL,
	id             TEXT NOT NULL,
	seq            INTEGER NOT NULL,
	kind           TEXT NOT NULL,
	payload        TEXT NOT NULL,
	payload_sha256 TEXT NOT NULL,
	held_sha256    TEXT NOT NULL,
	received_at    TEXT NOT NULL,
	PRIMARY KEY (station_id, id, payload_sha256)
) STRICT;

-- The downlink feed: station_id '' is every station. seq is the cursor.
CREATE TABLE feed (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	station_id   TEXT NOT NULL,
	key          TEXT NOT NULL,
	version      TEXT NOT NULL,
	body         TEXT NOT NULL, -- JSON station.Change
	published_at TEXT NOT NULL
) STRICT;
CREATE INDEX feed_key ON feed (key, station_id, seq);
CREATE INDEX feed_station ON feed (station_id, seq);
