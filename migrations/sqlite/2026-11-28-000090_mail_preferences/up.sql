-- The mail categories a person chose not to receive, as a comma-separated list of category
-- codes. Only optional categories are ever stored (the service refuses the others, and
-- the outbox never silences a mandatory one even if one were listed). The language of the
-- person's mail stays in accounts.language. `version` detects concurrent edits.
CREATE TABLE mail_preferences (
    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id),
    silenced TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
