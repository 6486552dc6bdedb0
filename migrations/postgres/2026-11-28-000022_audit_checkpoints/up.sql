-- Signed checkpoints of the audit chain: the head (seq, hash) at a moment, signed with an
-- Ed25519 key the database never holds. A rewrite of entries up to a checkpoint no longer
-- matches it, and a checkpoint cannot be forged without the key.
CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY NOT NULL,
    head_hash TEXT NOT NULL,
    signed_at TIMESTAMP NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);
