-- The name an officer is shown by on pages ("Cán bộ Nguyễn Văn An"), instead of an id or
-- an address. Optional: pages fall back to the email address while it is not set.
ALTER TABLE accounts ADD COLUMN display_name TEXT;
