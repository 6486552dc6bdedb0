-- Code issuers (national, provincial, GS1 member organisation, ministry systems): a
-- machine client with a profile, Ed25519 keys that sign batches, and for issuer-scoped
-- codes a prefix of its own.
CREATE TABLE issuers (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    code_prefix TEXT,
    province TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX issuers_prefix ON issuers (code_prefix);

CREATE TABLE issuer_keys (
    key_id TEXT PRIMARY KEY NOT NULL,
    issuer_id TEXT NOT NULL REFERENCES issuers (client_id),
    public_key BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX issuer_keys_issuer ON issuer_keys (issuer_id);

CREATE TABLE code_batches (
    id TEXT PRIMARY KEY NOT NULL,
    issuer_id TEXT NOT NULL REFERENCES issuers (client_id),
    key_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    rows_count INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Registered codes, one row per canonical key at its level (product, lot or serial).
CREATE TABLE codes (
    code_key TEXT PRIMARY KEY NOT NULL,
    level TEXT NOT NULL,
    gtin TEXT,
    issuer_id TEXT NOT NULL REFERENCES issuers (client_id),
    owner_code TEXT NOT NULL,
    product_name TEXT NOT NULL,
    category TEXT NOT NULL,
    origin TEXT,
    production_date TEXT,
    expiry_date TEXT,
    status TEXT NOT NULL,
    status_reason TEXT,
    batch_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX codes_owner ON codes (owner_code);
CREATE INDEX codes_gtin ON codes (gtin);

-- GS1 company prefixes licensed to enterprises, as a GS1 issuer reports them.
CREATE TABLE company_prefix_licences (
    prefix TEXT PRIMARY KEY NOT NULL,
    enterprise_code TEXT NOT NULL,
    issuer_id TEXT NOT NULL REFERENCES issuers (client_id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX licences_enterprise ON company_prefix_licences (enterprise_code);

-- An owner lets a distributor sell its product (GTIN) or lot until a date.
CREATE TABLE distributor_authorisations (
    id TEXT PRIMARY KEY NOT NULL,
    code_key TEXT NOT NULL,
    owner_code TEXT NOT NULL,
    distributor_code TEXT NOT NULL,
    valid_until TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX distributor_authorisations_code ON distributor_authorisations (code_key, distributor_code);

-- Listing decisions, kept as evidence, idempotent per platform, listing and content.
CREATE TABLE listing_checks (
    id TEXT PRIMARY KEY NOT NULL,
    platform_id TEXT NOT NULL,
    listing_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    seller_id TEXT,
    category TEXT NOT NULL,
    decision TEXT NOT NULL,
    reasons TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    attestation TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP
);
CREATE UNIQUE INDEX listing_checks_idempotency ON listing_checks (platform_id, listing_id, content_hash);
CREATE INDEX listing_checks_seller ON listing_checks (seller_id, decision);

-- The codes each decision rested on, to find the listings a recall touches.
CREATE TABLE listing_check_codes (
    check_id TEXT NOT NULL REFERENCES listing_checks (id),
    code_key TEXT NOT NULL,
    PRIMARY KEY (check_id, code_key)
);
CREATE INDEX listing_check_codes_code ON listing_check_codes (code_key);
