-- Every change to a fact a listing decision rests on, numbered in commit order (every
-- SQLite write transaction is serial). Nodes follow it to keep their read models current;
-- the decision writer checks it so that no decision made on facts that changed meanwhile is
-- stored.
CREATE TABLE fact_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    fact_key TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);

-- Decisions become compact records replayed only while their facts are unchanged: the
-- replay key hashes the platform, listing, content and the versions of every fact the
-- decision rested on. A decision is in force until withdrawn (with a reason) or expired.
-- SQLite cannot relax a NOT NULL column, so the table is built again.
CREATE TABLE listing_checks_next (
    id TEXT PRIMARY KEY NOT NULL,
    platform_id TEXT NOT NULL,
    listing_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    seller_id TEXT,
    category TEXT NOT NULL,
    decision TEXT NOT NULL,
    record TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    attestation TEXT,
    created_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP,
    replay_key BLOB,
    facts_seq BIGINT NOT NULL,
    batch_id TEXT,
    expires_at TIMESTAMP NOT NULL,
    withdrawn_reason TEXT
);
INSERT INTO listing_checks_next (id, platform_id, listing_id, content_hash, shop_id, seller_id, category,
    decision, record, policy_version, attestation, created_at, withdrawn_at, replay_key, facts_seq, batch_id,
    expires_at, withdrawn_reason)
SELECT id, platform_id, listing_id, content_hash, shop_id, seller_id, category, decision, reasons,
    policy_version, attestation, created_at, withdrawn_at, NULL, 0, NULL,
    strftime('%Y-%m-%d %H:%M:%f', created_at, '+30 days'),
    CASE WHEN withdrawn_at IS NULL THEN NULL ELSE 'withdrawn' END
FROM listing_checks;

-- One row per code of a decision that let a listing go on, by the code's most specific
-- key; a change to a broader level finds it by key prefix. Written with the decision and
-- read only by code: the rows are their own index (no row id), no foreign key.
CREATE TABLE listing_check_codes_next (
    check_id TEXT NOT NULL,
    code_key TEXT NOT NULL,
    PRIMARY KEY (code_key, check_id)
) WITHOUT ROWID;
INSERT INTO listing_check_codes_next SELECT check_id, code_key FROM listing_check_codes;
DROP TABLE listing_check_codes;
DROP TABLE listing_checks;
ALTER TABLE listing_checks_next RENAME TO listing_checks;
ALTER TABLE listing_check_codes_next RENAME TO listing_check_codes;
-- A listing's decisions, and the one in force with a replay key. The single writer of
-- SQLite looks before it inserts; PostgreSQL's concurrent writers meet at a unique index.
CREATE INDEX listing_checks_listing ON listing_checks (platform_id, listing_id, replay_key);
-- Withdrawal finds the decisions in force that let a listing go on (allow or review) by
-- shop (a seller's through the shops bound to them), by listing, and (through
-- listing_check_codes) by code. Every index costs each decision a write: no other.
CREATE INDEX listing_checks_shop ON listing_checks (platform_id, shop_id) WHERE withdrawn_at IS NULL AND decision <> 'deny';

-- Batch decisions share one attestation over the digests of their decisions.
CREATE TABLE listing_check_batches (
    id TEXT PRIMARY KEY NOT NULL,
    platform_id TEXT NOT NULL,
    attestation TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
