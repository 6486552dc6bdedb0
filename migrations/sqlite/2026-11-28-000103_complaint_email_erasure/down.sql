ALTER TABLE consumer_complaints DROP COLUMN email_erased_at;
