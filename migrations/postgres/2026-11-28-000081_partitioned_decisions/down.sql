-- Back to one table each (the data is copied; the partitions go).
ALTER TABLE listing_checks RENAME TO listing_checks_partitioned;
ALTER TABLE listing_check_codes RENAME TO listing_check_codes_partitioned;
ALTER INDEX listing_checks_replay RENAME TO listing_checks_partitioned_replay;
ALTER INDEX listing_checks_listing RENAME TO listing_checks_partitioned_listing;
ALTER INDEX listing_checks_shop RENAME TO listing_checks_partitioned_shop;
CREATE TABLE listing_checks (LIKE listing_checks_partitioned);
ALTER TABLE listing_checks ADD PRIMARY KEY (id);
INSERT INTO listing_checks SELECT * FROM listing_checks_partitioned;
CREATE TABLE listing_check_codes (
    check_id TEXT NOT NULL,
    code_key TEXT NOT NULL,
    PRIMARY KEY (code_key, check_id)
);
INSERT INTO listing_check_codes (check_id, code_key)
    SELECT DISTINCT check_id, code_key FROM listing_check_codes_partitioned;
DROP TABLE listing_check_codes_partitioned;
DROP TABLE listing_checks_partitioned;
CREATE UNIQUE INDEX listing_checks_replay ON listing_checks (platform_id, listing_id, replay_key) WHERE withdrawn_at IS NULL;
CREATE INDEX listing_checks_listing ON listing_checks (platform_id, listing_id);
CREATE INDEX listing_checks_shop ON listing_checks (platform_id, shop_id) WHERE withdrawn_at IS NULL AND decision <> 'deny';
