-- Machine clients (platforms, code issuers) using OAuth 2.0 client credentials.
CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    disabled_at TIMESTAMP
);
