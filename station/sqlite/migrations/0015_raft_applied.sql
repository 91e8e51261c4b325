-- The index of the last entry of the replicated command log (station/raft) the store has applied,
-- written in the same transaction as the entry's effects: after a crash the log replays only what
-- comes after it.
CREATE TABLE raft_applied (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    log_index INTEGER NOT NULL CHECK (log_index >= 0)
) STRICT;
