-- A person may close their account: it can no longer sign in, and its personal data is
-- pseudonymised once the retention policy's period after closing has passed (the account
-- id stays, since decisions, cases and the audit log name it).
ALTER TABLE accounts ADD COLUMN closed_at TIMESTAMP;
ALTER TABLE accounts ADD COLUMN pseudonymised_at TIMESTAMP;
-- The retention run looks for closed accounts not yet pseudonymised.
CREATE INDEX accounts_closed ON accounts (closed_at) WHERE closed_at IS NOT NULL AND pseudonymised_at IS NULL;
