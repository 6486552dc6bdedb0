DROP INDEX accounts_closed;
ALTER TABLE accounts DROP COLUMN pseudonymised_at;
ALTER TABLE accounts DROP COLUMN closed_at;
