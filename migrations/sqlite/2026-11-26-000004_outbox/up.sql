-- Messages to deliver (mail, webhooks), written in the transaction of the change that
-- causes them and delivered by a worker with retries.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    destination TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    delivered_at TIMESTAMP,
    dead_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_created ON outbox (created_at);
