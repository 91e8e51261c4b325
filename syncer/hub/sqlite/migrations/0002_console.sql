-- The department console: accounts, sessions, the console's hash-chained audit log, and decisions (at
-- most one per application).

CREATE TABLE users (
	username      TEXT PRIMARY KEY,
	display_name  TEXT NOT NULL,
	role          TEXT NOT NULL,            -- clerk | admin
	department    TEXT NOT NULL DEFAULT '', -- a clerk's department
	password_hash TEXT NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	locked_until  TEXT NOT NULL DEFAULT '',
	created_at    TEXT NOT NULL
) STRICT;

-- Sessions: only the token's hash is kept.
CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	username   TEXT NOT NULL REFERENCES users (username),
	created_at TEXT NOT NULL,
	last_seen  TEXT NOT NULL,
	expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Console reads and decisions, hash-chained like the station's audit log (station.AuditEntry).
CREATE TABLE audit_log (
	seq       INTEGER PRIMARY KEY,
	at        TEXT NOT NULL,
	actor     TEXT NOT NULL,
	role      TEXT NOT NULL,
	action    TEXT NOT NULL,
	object    TEXT NOT NULL,
	result    TEXT NOT NULL,
	detail    TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
) STRICT;
CREATE INDEX audit_actor ON audit_log (actor, seq);
CREATE INDEX audit_object ON audit_log (object, seq);

-- The chain's head, kept apart so that entries removed from the end are detected.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash TEXT NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE decisions (
	station_id     TEXT NOT NULL,
	application_id TEXT NOT NULL,
	action         TEXT NOT NULL,
	reason         TEXT NOT NULL,
	department     TEXT NOT NULL,
	decided_at     TEXT NOT NULL,
	decided_by     TEXT NOT NULL,
	feed_seq       INTEGER NOT NULL,
	PRIMARY KEY (station_id, application_id)
) STRICT;
CREATE INDEX decisions_department ON decisions (department, decided_at);
