-- Notices may expire: shown from published_at until expires_at (NULL: until withdrawn).
ALTER TABLE notices ADD COLUMN expires_at TEXT;
