-- Authorisation letters an employee uploads when they are not the business's legal
-- representative, for officers to read when they review the authorisation. The file is
-- stored beside case evidence (`stored_path`, under the evidence root) with its SHA-256,
-- checked again whenever it is read.
CREATE TABLE authorisation_letters (
    id TEXT PRIMARY KEY NOT NULL,
    seller_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    stored_path TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX authorisation_letters_by_seller ON authorisation_letters (seller_id, created_at);
