-- Certificates (社区证明): docs/certificates.md. Templates are station/cert data; the tables here hold
-- what the station issued, the signing keys it verifies with, revocations and residents' ratings.

-- When the resident was registered as living in this community (居住登记); '' when unknown.
ALTER TABLE residents ADD COLUMN registered_since TEXT NOT NULL DEFAULT '';

CREATE TABLE certificates (
	id                  TEXT PRIMARY KEY,
	serial              TEXT NOT NULL UNIQUE, -- ZM20261124-0001
	type_code           TEXT NOT NULL,
	type_name           TEXT NOT NULL,
	category            TEXT NOT NULL,
	template_version    INTEGER NOT NULL CHECK (template_version >= 1),
	resident_id         TEXT NOT NULL REFERENCES residents (id),
	subject_name_masked TEXT NOT NULL,
	subject_id_masked   TEXT NOT NULL,
	text                TEXT NOT NULL, -- JSON station.CertificateText: what was printed
	inputs              TEXT NOT NULL, -- JSON object of the typed inputs
	content_hash        TEXT NOT NULL,
	payload             TEXT NOT NULL UNIQUE, -- the signed QR payload
	pdf_sha256          TEXT NOT NULL,
	issue_date          TEXT NOT NULL,
	valid_until         TEXT NOT NULL, -- '' when the type states no validity
	application_id      TEXT REFERENCES applications (id),
	channel             TEXT NOT NULL CHECK (channel IN ('kiosk', 'counter')),
	status              TEXT NOT NULL CHECK (status IN ('awaiting_approval', 'pending_print', 'issued', 'voided', 'revoked')),
	print_count         INTEGER NOT NULL DEFAULT 0,
	print_failures      INTEGER NOT NULL DEFAULT 0,
	reason              TEXT NOT NULL DEFAULT '', -- why it was voided or revoked
	created_at          TEXT NOT NULL,
	created_by          TEXT NOT NULL,
	issued_at           TEXT, -- the first confirmed print
	updated_at          TEXT NOT NULL
) STRICT;
CREATE INDEX certificates_resident ON certificates (resident_id, type_code, issue_date);
CREATE INDEX certificates_application ON certificates (application_id) WHERE application_id IS NOT NULL;
CREATE INDEX certificates_status ON certificates (status, created_at);

-- Every print attempt: confirmed prints (first and 补打) and failures, with the printer's reason.
CREATE TABLE certificate_prints (
	certificate_id TEXT NOT NULL REFERENCES certificates (id),
	seq            INTEGER NOT NULL,
	at             TEXT NOT NULL,
	actor          TEXT NOT NULL,
	reprint        INTEGER NOT NULL CHECK (reprint IN (0, 1)),
	printer        TEXT NOT NULL,
	pdf_sha256     TEXT NOT NULL,
	result         TEXT NOT NULL, -- ok, or the failure code (paper_out …)
	reason         TEXT NOT NULL,
	PRIMARY KEY (certificate_id, seq)
) STRICT;

-- Public keys the station verifies QR payloads with: its own (own = 1) and those the data center
-- distributed. A key id is bound to one station.
CREATE TABLE signing_keys (
	key_id       TEXT PRIMARY KEY,
	station_id   TEXT NOT NULL,
	station_name TEXT NOT NULL,
	algorithm    TEXT NOT NULL,
	public_key   TEXT NOT NULL, -- base64 PKIX
	own          INTEGER NOT NULL CHECK (own IN (0, 1)),
	added_at     TEXT NOT NULL
) STRICT;
CREATE INDEX signing_keys_station ON signing_keys (station_id);

-- Certificates revoked by the data center, of this station or any other.
CREATE TABLE revocations (
	station_id     TEXT NOT NULL,
	certificate_id TEXT NOT NULL,
	reason         TEXT NOT NULL,
	revoked_at     TEXT NOT NULL,
	PRIMARY KEY (station_id, certificate_id)
) STRICT;

-- Certificate templates the data center published; they override the built-in library at a higher
-- version.
CREATE TABLE certificate_templates (
	code    TEXT PRIMARY KEY,
	version INTEGER NOT NULL CHECK (version >= 1),
	body    TEXT NOT NULL -- station/cert Template JSON
) STRICT;

-- Residents' ratings (好差评) of certificates and applications.
CREATE TABLE ratings (
	id        TEXT PRIMARY KEY,
	subject   TEXT NOT NULL CHECK (subject IN ('certificate', 'application')),
	object_id TEXT NOT NULL,
	score     INTEGER NOT NULL CHECK (score BETWEEN 1 AND 3),
	channel   TEXT NOT NULL,
	at        TEXT NOT NULL
) STRICT;
CREATE INDEX ratings_object ON ratings (subject, object_id);
