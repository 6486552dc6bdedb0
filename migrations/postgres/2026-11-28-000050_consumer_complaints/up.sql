-- Complaints a consumer files from the public pages, named as a consumer knows the listing
-- (its link, the shop's name) rather than by the marketplace's internal ids. Each has a
-- reference the consumer can quote. When the shop is bound to a seller, `seller_id` and
-- `province` name who answers for it and which Department sees it; otherwise the complaint
-- is for the Ministry's officers to trace.
CREATE TABLE consumer_complaints (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL,
    code TEXT,
    platform_id TEXT,
    listing_link TEXT,
    shop_name TEXT,
    shop_id TEXT,
    seller_id TEXT,
    province TEXT,
    kind TEXT NOT NULL,
    claim TEXT NOT NULL,
    description TEXT NOT NULL,
    email TEXT NOT NULL,
    language TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX consumer_complaints_by_reference ON consumer_complaints (reference);
CREATE INDEX consumer_complaints_by_time ON consumer_complaints (created_at);
