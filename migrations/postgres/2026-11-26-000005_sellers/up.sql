-- A seller's verified identity and business. The citizen ID is stored sealed (AES-256-GCM,
-- with the id of the key that sealed it), found by a keyed hash, and shown only masked.
CREATE TABLE sellers (
    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    national_id_sealed BYTEA,
    national_id_key TEXT,
    national_id_index TEXT,
    national_id_masked TEXT,
    full_name TEXT,
    birth_date TEXT,
    residence_province TEXT,
    identity_status TEXT NOT NULL,
    identity_reason TEXT,
    identity_verified_at TIMESTAMP,
    business_kind TEXT,
    business_code TEXT,
    business_name TEXT,
    business_province TEXT,
    business_address TEXT,
    business_lines TEXT,
    business_status TEXT NOT NULL,
    business_reason TEXT,
    business_verified_at TIMESTAMP,
    business_checked_at TIMESTAMP,
    authorisation_note TEXT,
    verification_expires_at TIMESTAMP,
    reminder_sent_at TIMESTAMP,
    suspended_at TIMESTAMP,
    suspended_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX sellers_national_id ON sellers (national_id_index);
CREATE INDEX sellers_business ON sellers (business_code);
CREATE INDEX sellers_business_check ON sellers (business_status, business_checked_at);

-- One-time codes a seller gives a platform to bind a shop.
CREATE TABLE binding_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    seller_id TEXT NOT NULL REFERENCES sellers (account_id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX binding_codes_seller ON binding_codes (seller_id);

-- A platform shop bound to a seller.
CREATE TABLE seller_bindings (
    id TEXT PRIMARY KEY NOT NULL,
    seller_id TEXT NOT NULL REFERENCES sellers (account_id),
    platform_id TEXT NOT NULL REFERENCES clients (id),
    shop_id TEXT NOT NULL,
    shop_name TEXT,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX seller_bindings_active_shop ON seller_bindings (platform_id, shop_id) WHERE revoked_at IS NULL;
CREATE INDEX seller_bindings_seller ON seller_bindings (seller_id);

-- Where a platform receives signed webhooks, and the secret that signs them (sealed).
CREATE TABLE platform_webhooks (
    platform_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (id),
    url TEXT NOT NULL,
    secret_sealed BYTEA NOT NULL,
    secret_key TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
