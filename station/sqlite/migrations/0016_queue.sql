-- The queue (排队叫号): the station's service lines, its tickets and each ticket's transitions.
-- A ticket's number is its line's sequence of the day, given inside the apply from the unique index
-- below; a transferred copy keeps its original's number and has no sequence of its own (NULL).
CREATE TABLE queue_lines (
    code              TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    prefix            TEXT NOT NULL,
    active            INTEGER NOT NULL CHECK (active IN (0, 1)),
    max_recalls       INTEGER NOT NULL DEFAULT 0,
    matter_categories TEXT NOT NULL DEFAULT '[]', -- JSON array
    updated_at        TEXT NOT NULL
) STRICT;

CREATE TABLE queue_tickets (
    id               TEXT PRIMARY KEY,
    line             TEXT NOT NULL REFERENCES queue_lines (code),
    day              TEXT NOT NULL, -- YYYY-MM-DD, China time
    seq              INTEGER,       -- NULL on a transferred copy
    number           TEXT NOT NULL,
    status           TEXT NOT NULL,
    priority         TEXT NOT NULL DEFAULT '',
    channel          TEXT NOT NULL,
    issued_at        TEXT NOT NULL,
    queued_at        TEXT NOT NULL, -- calls follow it: the issue, or the transfer for a copy
    called_at        TEXT,
    counter          TEXT NOT NULL DEFAULT '',
    called_by        TEXT NOT NULL DEFAULT '',
    recalls          INTEGER NOT NULL DEFAULT 0,
    served_at        TEXT,
    done_at          TEXT,
    transferred_from TEXT NOT NULL DEFAULT '',
    transferred_to   TEXT NOT NULL DEFAULT '',
    UNIQUE (line, day, seq)
) STRICT;

-- The next waiting ticket of these lines today.
CREATE INDEX queue_tickets_waiting ON queue_tickets (day, line, queued_at) WHERE status = 'waiting';
-- The day's figures and list.
CREATE INDEX queue_tickets_day ON queue_tickets (day, line, counter);

CREATE TABLE queue_events (
    seq         INTEGER PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES queue_tickets (id),
    at          TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    by          TEXT NOT NULL,
    counter     TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX queue_events_ticket ON queue_events (ticket_id, seq);
