-- Links of a registered code at its own level (product, lot or item), managed by the code's
-- issuer or owner and answered by the public GS1 resolver beside tracegate's own links.
-- `link_type` is the full URI of a GS1 Web Vocabulary link type; `href` an https URL.
-- A link is answered only between `active_from` and `active_until` when they are set.
CREATE TABLE code_links (
    id TEXT PRIMARY KEY NOT NULL,
    code_key TEXT NOT NULL,
    link_type TEXT NOT NULL,
    href TEXT NOT NULL,
    title TEXT NOT NULL,
    language TEXT,
    media_type TEXT,
    context TEXT,
    active_from TIMESTAMP,
    active_until TIMESTAMP,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX code_links_by_code ON code_links (code_key);
