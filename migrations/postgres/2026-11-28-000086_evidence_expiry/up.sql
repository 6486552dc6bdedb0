-- When the retention run exported an evidence file and deleted it: the record (name, type,
-- size, SHA-256) stays with its case, the file is only in the export.
ALTER TABLE dispute_evidence ADD COLUMN expired_at TIMESTAMP;
