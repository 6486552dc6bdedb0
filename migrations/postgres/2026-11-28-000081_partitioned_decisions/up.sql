-- The decision log by month: listing_checks and its link table become declaratively
-- partitioned by created_at, one partition per month, so that old months are exported and
-- dropped whole (policies/retention.toml) instead of deleted row by row, and the month
-- being written stays small in memory. The service creates partitions ahead
-- (src/db/partitions.rs); a DEFAULT partition takes any row no month partition covers, so
-- a missing partition never fails a decision.
--
-- A unique index on a partitioned table must contain the partition key. The index of
-- decisions in force by replay key therefore stops being unique: it only ever kept two
-- writers racing on the same request with the same fact versions from storing two
-- identical decisions, and two such decisions in force are interchangeable (a replay
-- reads either; a change of facts withdraws both).
ALTER TABLE listing_checks RENAME TO listing_checks_unpartitioned;
ALTER INDEX listing_checks_pkey RENAME TO listing_checks_unpartitioned_pkey;
DROP INDEX listing_checks_replay;
DROP INDEX listing_checks_listing;
DROP INDEX listing_checks_shop;

CREATE TABLE listing_checks (
    id TEXT NOT NULL,
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
    replay_key BYTEA,
    facts_seq BIGINT NOT NULL,
    batch_id TEXT,
    expires_at TIMESTAMP NOT NULL,
    withdrawn_reason TEXT,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE listing_checks_default PARTITION OF listing_checks DEFAULT;

-- The link's month is the month it was written (the decision's transaction).
ALTER TABLE listing_check_codes RENAME TO listing_check_codes_unpartitioned;
ALTER INDEX listing_check_codes_pkey RENAME TO listing_check_codes_unpartitioned_pkey;
CREATE TABLE listing_check_codes (
    check_id TEXT NOT NULL,
    code_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT localtimestamp,
    PRIMARY KEY (code_key, check_id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE listing_check_codes_default PARTITION OF listing_check_codes DEFAULT;

-- Month partitions from the oldest decision to two months ahead (the service keeps
-- adding them ahead from then on).
DO $$
DECLARE
    month date := date_trunc('month', LEAST(
        COALESCE((SELECT min(created_at) FROM listing_checks_unpartitioned), localtimestamp),
        localtimestamp))::date;
    last date := date_trunc('month', localtimestamp + interval '2 months')::date;
BEGIN
    WHILE month <= last LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF listing_checks FOR VALUES FROM (%L) TO (%L)',
            'listing_checks_' || to_char(month, 'YYYY_MM'), month, (month + interval '1 month')::date);
        EXECUTE format('CREATE TABLE %I PARTITION OF listing_check_codes FOR VALUES FROM (%L) TO (%L)',
            'listing_check_codes_' || to_char(month, 'YYYY_MM'), month, (month + interval '1 month')::date);
        month := (month + interval '1 month')::date;
    END LOOP;
END $$;

INSERT INTO listing_checks SELECT * FROM listing_checks_unpartitioned;
-- A link of a decision made before is filed under that decision's month.
INSERT INTO listing_check_codes (check_id, code_key, created_at)
    SELECT l.check_id, l.code_key, COALESCE(c.created_at, localtimestamp)
    FROM listing_check_codes_unpartitioned l
    LEFT JOIN listing_checks_unpartitioned c ON c.id = l.check_id;
DROP TABLE listing_check_codes_unpartitioned;
DROP TABLE listing_checks_unpartitioned;

CREATE INDEX listing_checks_replay ON listing_checks (platform_id, listing_id, replay_key) WHERE withdrawn_at IS NULL;
CREATE INDEX listing_checks_listing ON listing_checks (platform_id, listing_id);
CREATE INDEX listing_checks_shop ON listing_checks (platform_id, shop_id) WHERE withdrawn_at IS NULL AND decision <> 'deny';
