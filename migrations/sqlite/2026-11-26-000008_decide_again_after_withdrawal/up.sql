-- A withdrawn decision (recalled code, suspended seller, blocked listing) no longer answers
-- for its content: asking again about the same listing decides anew.
DROP INDEX listing_checks_idempotency;
CREATE UNIQUE INDEX listing_checks_idempotency ON listing_checks (platform_id, listing_id, content_hash) WHERE withdrawn_at IS NULL;
