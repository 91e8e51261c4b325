-- How many times each outbox record was set aside: 1 for a dead letter seen once, more when a
-- technician retried it and it was refused again. Kept on the record, so a retry (which removes the
-- dead letter) does not forget it.
ALTER TABLE outbox ADD COLUMN set_aside INTEGER NOT NULL DEFAULT 0;
