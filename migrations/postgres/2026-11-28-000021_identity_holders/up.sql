-- The seller accounts a person's citizen ID backs, one place each. The primary key is the
-- constraint behind `max_accounts_per_person` (policies/verification.toml): places run
-- from 0 to the limit less one, whatever the kind of seller, so two accounts verified with
-- one ID at the same moment cannot both take the last place.
CREATE TABLE identity_holders (
    national_id_index TEXT NOT NULL,
    place INTEGER NOT NULL,
    account_id TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (national_id_index, place)
);
INSERT INTO identity_holders (national_id_index, place, account_id, created_at)
SELECT national_id_index,
       ROW_NUMBER() OVER (PARTITION BY national_id_index ORDER BY identity_verified_at, account_id) - 1,
       account_id,
       COALESCE(identity_verified_at, updated_at)
FROM sellers
WHERE identity_status = 'verified' AND national_id_index IS NOT NULL;
