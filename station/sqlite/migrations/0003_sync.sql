-- Sync with the data center (docs/sync-protocol.md).

-- Outbox records the hub refused for good (conflict, invalid) or the station cannot send (too large, a
-- blob missing). They stay in the outbox, are never pruned, and no longer hold up the records behind them.
CREATE TABLE outbox_dead_letters (
	seq     INTEGER PRIMARY KEY REFERENCES outbox (seq),
	code    TEXT NOT NULL,
	message TEXT NOT NULL,
	at      TEXT NOT NULL
) STRICT;
CREATE INDEX outbox_pending ON outbox (acked_at, seq);

-- The downlink cursor, stored in the same transaction as the changes it follows.
CREATE TABLE sync_cursor (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	cursor     TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	resyncs    INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO sync_cursor (id, cursor, updated_at) VALUES (1, '', '');

-- The downlink objects applied, by key (matter:CODE, calendar:YEAR, decision:APP, notice:ID), with the
-- hub's version and whether the station could apply the change; the state hash is computed over them.
CREATE TABLE sync_items (
	key     TEXT PRIMARY KEY,
	version TEXT NOT NULL,
	result  TEXT NOT NULL -- ok, or the domain error code that refused the change
) STRICT;

-- Notices published by the data center.
CREATE TABLE notices (
	id           TEXT PRIMARY KEY,
	title        TEXT NOT NULL,
	body         TEXT NOT NULL,
	published_at TEXT NOT NULL,
	withdrawn    INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn IN (0, 1))
) STRICT;
