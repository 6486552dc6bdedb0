-- When the retention run erased the complainant's email address: the complaint's facts
-- (what, where, when, traced to whom) stay; only the way to reach the person goes.
ALTER TABLE consumer_complaints ADD COLUMN email_erased_at TIMESTAMP;
