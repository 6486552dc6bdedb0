DROP INDEX listing_checks_idempotency;
CREATE UNIQUE INDEX listing_checks_idempotency ON listing_checks (platform_id, listing_id, content_hash);
