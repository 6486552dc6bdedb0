-- Every decision on a listing, withdrawn or not (the latest one for a complaint, the codes a
-- sanction may act on): the idempotency index is partial and cannot serve these.
CREATE INDEX listing_checks_listing ON listing_checks (platform_id, listing_id);
