-- Who holds an outbox message while delivering it: a lease is renewed only by its holder,
-- so a node that lost its lease (it stalled past it) cannot extend another node's.
ALTER TABLE outbox ADD COLUMN lease_holder TEXT;

-- Background jobs that one node at a time runs a round of (deadline worker, registry
-- monitor): the holder and until when; an expired lease is free for any node.
CREATE TABLE worker_leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
