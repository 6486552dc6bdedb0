-- Scans of serialised codes on the public verification page, per network (a keyed hash of
-- the address's /24 or /48 prefix, never the address), to spot copied codes.
CREATE TABLE code_scans (
    code_key TEXT NOT NULL,
    place TEXT NOT NULL,
    first_at TIMESTAMP NOT NULL,
    last_at TIMESTAMP NOT NULL,
    scans BIGINT NOT NULL,
    PRIMARY KEY (code_key, place)
);

-- Serials whose scans went past the policy's limits: possible copies, for officers.
CREATE TABLE code_scan_flags (
    code_key TEXT PRIMARY KEY NOT NULL,
    flagged_at TIMESTAMP NOT NULL,
    places BIGINT NOT NULL,
    scans BIGINT NOT NULL
);
CREATE INDEX code_scan_flags_at ON code_scan_flags (flagged_at);
