-- Disputes between buyers and sellers, worked by the Department of Industry and Trade of
-- the seller's province. `version` makes concurrent edits detectable (ETag / If-Match).
CREATE TABLE disputes (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    claim TEXT NOT NULL,
    description TEXT NOT NULL,
    platform_id TEXT NOT NULL REFERENCES clients (id),
    listing_id TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    listing_check_id TEXT,
    seller_id TEXT NOT NULL REFERENCES sellers (account_id),
    province TEXT NOT NULL,
    buyer_key TEXT NOT NULL,
    buyer_reference TEXT,
    buyer_email TEXT NOT NULL,
    buyer_language TEXT NOT NULL,
    buyer_token_hash TEXT,
    assignee_id TEXT,
    outcome TEXT,
    info_requested_from TEXT,
    paused_at TIMESTAMP,
    seller_due_at TIMESTAMP,
    buyer_due_at TIMESTAMP,
    resolution_due_at TIMESTAMP,
    appeal_due_at TIMESTAMP,
    reminded_at TIMESTAMP,
    escalated_at TIMESTAMP,
    decided_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX disputes_reference ON disputes (reference);
CREATE INDEX disputes_queue ON disputes (province, status);
CREATE INDEX disputes_seller ON disputes (seller_id);
-- One open case per buyer and listing: a second filing is linked to it, never doubled.
CREATE UNIQUE INDEX disputes_open_per_buyer ON disputes (buyer_key, platform_id, listing_id)
    WHERE status NOT IN ('filed', 'closed', 'withdrawn', 'settled');
CREATE INDEX disputes_buyer ON disputes (buyer_key, status);
CREATE UNIQUE INDEX disputes_buyer_token ON disputes (buyer_token_hash);

-- The last reference number given out per year (DSP-2026-000123).
CREATE TABLE dispute_counters (
    year INTEGER PRIMARY KEY NOT NULL,
    last_number BIGINT NOT NULL
);

-- Every step of a case, in order (ids are time-ordered); internal notes are never shown
-- to the parties. Each is also in the audit log.
CREATE TABLE dispute_events (
    id TEXT PRIMARY KEY NOT NULL,
    dispute_id TEXT NOT NULL REFERENCES disputes (id),
    occurred_at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    internal BOOLEAN NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX dispute_events_dispute ON dispute_events (dispute_id, id);

-- Decisions on a case: the first, and the one on appeal, each with the written statement
-- of reasons.
CREATE TABLE dispute_decisions (
    id TEXT PRIMARY KEY NOT NULL,
    dispute_id TEXT NOT NULL REFERENCES disputes (id),
    stage TEXT NOT NULL,
    outcome TEXT NOT NULL,
    statement TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX dispute_decisions_stage ON dispute_decisions (dispute_id, stage);

-- Evidence files: stored on disk by content, never changed or deleted once attached;
-- an officer may hide one, with a reason.
CREATE TABLE dispute_evidence (
    id TEXT PRIMARY KEY NOT NULL,
    dispute_id TEXT NOT NULL REFERENCES disputes (id),
    uploaded_by TEXT NOT NULL,
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_path TEXT NOT NULL,
    hidden_at TIMESTAMP,
    hidden_by TEXT,
    hidden_reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX dispute_evidence_dispute ON dispute_evidence (dispute_id);

-- Sanctions a decision applied (warning, listing block, code flag or revocation, strike,
-- suspension, with its end), so that strikes can be counted, blocks enforced, suspensions
-- ended and an appeal lift them.
CREATE TABLE dispute_sanctions (
    id TEXT PRIMARY KEY NOT NULL,
    dispute_id TEXT NOT NULL REFERENCES disputes (id),
    seller_id TEXT NOT NULL REFERENCES sellers (account_id),
    kind TEXT NOT NULL,
    target TEXT,
    days INTEGER,
    ends_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    lifted_at TIMESTAMP
);
CREATE INDEX dispute_sanctions_dispute ON dispute_sanctions (dispute_id);
CREATE INDEX dispute_sanctions_seller ON dispute_sanctions (seller_id, kind);
CREATE INDEX dispute_sanctions_target ON dispute_sanctions (kind, target);
