-- A resent batch is recognised by its issuer and the SHA-256 of its bytes.
CREATE INDEX code_batches_by_digest ON code_batches (issuer_id, body_sha256);
