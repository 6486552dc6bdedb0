-- Every change to a fact a listing decision rests on, numbered in commit order (the
-- sequence is taken under the facts lock, see src/facts). Nodes follow it to keep their
-- read models current; the decision writer checks it so that no decision made on facts
-- that changed meanwhile is stored.
CREATE TABLE fact_changes (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    fact_key TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);

-- Decisions become compact records replayed only while their facts are unchanged: the
-- replay key hashes the platform, listing, content and the versions of every fact the
-- decision rested on. A decision is in force until withdrawn (with a reason) or expired.
ALTER TABLE listing_checks RENAME COLUMN reasons TO record;
ALTER TABLE listing_checks ALTER COLUMN attestation DROP NOT NULL;
ALTER TABLE listing_checks ADD COLUMN replay_key BYTEA;
ALTER TABLE listing_checks ADD COLUMN facts_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE listing_checks ADD COLUMN batch_id TEXT;
ALTER TABLE listing_checks ADD COLUMN expires_at TIMESTAMP;
ALTER TABLE listing_checks ADD COLUMN withdrawn_reason TEXT;
UPDATE listing_checks SET expires_at = created_at + INTERVAL '30 days';
UPDATE listing_checks SET withdrawn_reason = 'withdrawn' WHERE withdrawn_at IS NOT NULL;
ALTER TABLE listing_checks ALTER COLUMN expires_at SET NOT NULL;
ALTER TABLE listing_checks ALTER COLUMN facts_seq DROP DEFAULT;
-- One decision in force per listing and replay key (concurrent writers and nodes meet here).
DROP INDEX listing_checks_idempotency;
CREATE UNIQUE INDEX listing_checks_replay ON listing_checks (platform_id, listing_id, replay_key) WHERE withdrawn_at IS NULL;
-- Withdrawal finds the decisions in force that let a listing go on (allow or review) by
-- shop (a seller's through the shops bound to them), by listing, and (through
-- listing_check_codes) by code. Every index costs each decision a write: no other.
DROP INDEX listing_checks_seller;
CREATE INDEX listing_checks_shop ON listing_checks (platform_id, shop_id) WHERE withdrawn_at IS NULL AND decision <> 'deny';

-- One row per code of a decision that let a listing go on, by the code's most specific
-- key; a change to a broader level finds it by key prefix. Written with the decision and
-- read only by code: keyed by code, no foreign key.
ALTER TABLE listing_check_codes DROP CONSTRAINT IF EXISTS listing_check_codes_check_id_fkey;
ALTER TABLE listing_check_codes DROP CONSTRAINT IF EXISTS listing_check_codes_pkey;
ALTER TABLE listing_check_codes ADD PRIMARY KEY (code_key, check_id);
DROP INDEX listing_check_codes_code;

-- Batch decisions share one attestation over the digests of their decisions.
CREATE TABLE listing_check_batches (
    id TEXT PRIMARY KEY NOT NULL,
    platform_id TEXT NOT NULL,
    attestation TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
