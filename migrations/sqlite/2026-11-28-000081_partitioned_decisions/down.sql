ALTER TABLE listing_check_codes DROP COLUMN created_at;
