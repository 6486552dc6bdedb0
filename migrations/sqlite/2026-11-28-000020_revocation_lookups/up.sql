-- The revocation list reads the sessions ended since a moment, every quarter second.
CREATE INDEX refresh_tokens_revoked_at ON refresh_tokens (revoked_at);
