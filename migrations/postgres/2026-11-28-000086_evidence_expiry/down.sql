ALTER TABLE dispute_evidence DROP COLUMN expired_at;
