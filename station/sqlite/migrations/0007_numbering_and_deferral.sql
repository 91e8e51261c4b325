-- Two register rules (issue 14).
--
-- 1. A certificate is numbered when it is printed, not when it is previewed (docs/certificates.md,
--    "Numbering"): until then serial and payload are NULL. SQLite cannot drop NOT NULL in place, so
--    certificates is rebuilt. Its child certificate_prints is copied out and rebuilt with it, so that no
--    foreign key ever points at a dropped or renamed table.
CREATE TABLE certificates_copy AS SELECT * FROM certificates;
CREATE TABLE certificate_prints_copy AS SELECT * FROM certificate_prints;
DROP TABLE certificate_prints;
DROP TABLE certificates;

CREATE TABLE certificates (
	id                  TEXT PRIMARY KEY,
	serial              TEXT UNIQUE, -- ZM20261124-0001; NULL until the certificate is numbered at its first print
	type_code           TEXT NOT NULL,
	type_name           TEXT NOT NULL,
	category            TEXT NOT NULL,
	template_version    INTEGER NOT NULL CHECK (template_version >= 1),
	resident_id         TEXT NOT NULL REFERENCES residents (id),
	subject_name_masked TEXT NOT NULL,
	subject_id_masked   TEXT NOT NULL,
	text                TEXT NOT NULL, -- JSON station.CertificateText: what was (or will be) printed
	inputs              TEXT NOT NULL, -- JSON object of the typed inputs
	content_hash        TEXT NOT NULL, -- '' until numbered
	payload             TEXT UNIQUE,   -- the signed QR payload; NULL until numbered
	pdf_sha256          TEXT NOT NULL, -- the preview PDF until numbered, then the PDF that is printed
	issue_date          TEXT NOT NULL, -- the day it was numbered (the preview's day before)
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
	updated_at          TEXT NOT NULL,
	numbered_at         TEXT  -- when the serial was assigned
) STRICT;
INSERT INTO certificates (id, serial, type_code, type_name, category, template_version, resident_id, subject_name_masked,
		subject_id_masked, text, inputs, content_hash, payload, pdf_sha256, issue_date, valid_until, application_id, channel,
		status, print_count, print_failures, reason, created_at, created_by, issued_at, updated_at, numbered_at)
	SELECT id, serial, type_code, type_name, category, template_version, resident_id, subject_name_masked,
		subject_id_masked, text, inputs, content_hash, payload, pdf_sha256, issue_date, valid_until, application_id, channel,
		status, print_count, print_failures, reason, created_at, created_by, issued_at, updated_at, created_at
	FROM certificates_copy;
CREATE INDEX certificates_resident ON certificates (resident_id, type_code, issue_date);
CREATE INDEX certificates_application ON certificates (application_id) WHERE application_id IS NOT NULL;
CREATE INDEX certificates_status ON certificates (status, created_at);

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
INSERT INTO certificate_prints SELECT * FROM certificate_prints_copy;
DROP TABLE certificate_prints_copy;
DROP TABLE certificates_copy;

-- 2. 容缺受理: an application accepted with required materials missing records which ones (JSON array of
--    material codes), why, and the day by which they are due. '[]' and '' when nothing was deferred.
ALTER TABLE applications ADD COLUMN deferred_materials TEXT NOT NULL DEFAULT '[]';
ALTER TABLE applications ADD COLUMN deferral_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN deferral_due TEXT NOT NULL DEFAULT '';
