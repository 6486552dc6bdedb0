-- PostgreSQL partitions the decision log by month and files each decision-code link under
-- the month it was written. SQLite (one node, one file) keeps one table; the column exists
-- so that both backends have the same columns, and stays empty here.
ALTER TABLE listing_check_codes ADD COLUMN created_at TIMESTAMP;
