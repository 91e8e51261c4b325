-- Station store schema. Every table is STRICT; times are UTC text in a fixed-width RFC 3339 form so that
-- text order is time order; dates are YYYY-MM-DD in China Standard Time.

CREATE TABLE matters (
	code            TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	pinyin          TEXT NOT NULL,
	department      TEXT NOT NULL,
	category        TEXT NOT NULL,
	kind            TEXT NOT NULL CHECK (kind IN ('immediate', 'commitment')),
	time_limit_days INTEGER NOT NULL CHECK (time_limit_days >= 0),
	fee_cents       INTEGER NOT NULL CHECK (fee_cents >= 0),
	fee_note        TEXT NOT NULL,
	certificate     INTEGER NOT NULL CHECK (certificate IN (0, 1)),
	location        TEXT NOT NULL,
	conditions      TEXT NOT NULL, -- JSON array of strings
	materials       TEXT NOT NULL, -- JSON array of station.Material
	status          TEXT NOT NULL CHECK (status IN ('active', 'withdrawn')),
	version         INTEGER NOT NULL CHECK (version >= 1)
) STRICT;
CREATE INDEX matters_category ON matters (category);

CREATE TABLE calendar_days (
	date TEXT PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
	name TEXT NOT NULL
) STRICT;

CREATE TABLE residents (
	id         TEXT PRIMARY KEY,
	id_type    TEXT NOT NULL,
	id_cipher  TEXT NOT NULL,
	id_index   TEXT NOT NULL UNIQUE,
	id_masked  TEXT NOT NULL,
	name       TEXT NOT NULL,
	sex        TEXT NOT NULL,
	ethnicity  TEXT NOT NULL,
	birth_date TEXT NOT NULL,
	address    TEXT NOT NULL,
	community  TEXT NOT NULL,
	grid       TEXT NOT NULL,
	phone      TEXT NOT NULL,
	tags       TEXT NOT NULL, -- JSON array of strings
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE applications (
	id                  TEXT PRIMARY KEY,
	number              TEXT NOT NULL UNIQUE,
	matter_code         TEXT NOT NULL REFERENCES matters (code),
	matter_name         TEXT NOT NULL,
	department          TEXT NOT NULL,
	kind                TEXT NOT NULL CHECK (kind IN ('immediate', 'commitment')),
	status              TEXT NOT NULL,
	resident_id         TEXT REFERENCES residents (id),
	applicant_id_type   TEXT NOT NULL,
	applicant_id_cipher TEXT NOT NULL,
	applicant_id_index  TEXT NOT NULL,
	applicant_id_masked TEXT NOT NULL,
	applicant_id_last4  TEXT NOT NULL,
	applicant_name      TEXT NOT NULL,
	applicant_phone     TEXT NOT NULL,
	materials           TEXT NOT NULL, -- JSON array of station.MaterialCheck
	note                TEXT NOT NULL,
	received_at         TEXT NOT NULL,
	received_day        TEXT NOT NULL,
	received_by         TEXT NOT NULL,
	due_date            TEXT NOT NULL, -- '' when the matter has no time limit
	closed_at           TEXT,          -- completed or withdrawn
	closed_day          TEXT,
	updated_at          TEXT NOT NULL
) STRICT;
CREATE INDEX applications_status_due ON applications (status, due_date);
CREATE INDEX applications_received_day ON applications (received_day, number);
CREATE INDEX applications_applicant ON applications (applicant_id_index);

CREATE TABLE application_events (
	application_id TEXT NOT NULL REFERENCES applications (id),
	seq            INTEGER NOT NULL,
	at             TEXT NOT NULL,
	action         TEXT NOT NULL,
	from_status    TEXT NOT NULL,
	to_status      TEXT NOT NULL,
	actor          TEXT NOT NULL,
	role           TEXT NOT NULL,
	reason         TEXT NOT NULL,
	PRIMARY KEY (application_id, seq)
) STRICT;

CREATE TABLE users (
	username      TEXT PRIMARY KEY,
	display_name  TEXT NOT NULL,
	role          TEXT NOT NULL CHECK (role IN ('staff', 'reviewer', 'station_admin', 'technician')),
	password_hash TEXT NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	failed_logins INTEGER NOT NULL DEFAULT 0,
	locked_until  TEXT,
	created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	token_hash   TEXT NOT NULL UNIQUE,
	username     TEXT NOT NULL REFERENCES users (username),
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL,
	closed_at    TEXT,
	close_reason TEXT
) STRICT;

-- The audit log is append-only: triggers refuse changes, and each entry's hash covers the previous one.
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
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_object ON audit_log (object, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- The head of the audit chain, written in the same transaction as each entry; it lets verification
-- notice entries cut from the end.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash TEXT NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Every applied command, so that a command submitted twice (a retry, a log replay) is applied once.
CREATE TABLE commands (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	at         TEXT NOT NULL,
	audit_seq  INTEGER NOT NULL,
	object_id  TEXT NOT NULL,
	error_code TEXT NOT NULL, -- '' when applied
	error_msg  TEXT NOT NULL
) STRICT;

-- Records waiting for the data center, in the order they were committed.
CREATE TABLE outbox (
	seq         INTEGER PRIMARY KEY,
	id          TEXT NOT NULL UNIQUE,
	kind        TEXT NOT NULL,
	occurred_at TEXT NOT NULL,
	payload     TEXT NOT NULL,
	acked_at    TEXT
) STRICT;
