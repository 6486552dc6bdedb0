-- Answers to creating POSTs sent with an Idempotency-Key, kept 24 hours so that a retry
-- gets the first answer. `scope` is the caller (a client, an account, or anonymous);
-- `request_sha256` covers method, path, query, media type and body, so the same key with
-- another request is refused. `status` is NULL while the first request is in flight.
-- The answer is sealed (it can hold a secret shown once); `body_key` names the key.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    location TEXT,
    body_sealed BYTEA,
    body_key TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
