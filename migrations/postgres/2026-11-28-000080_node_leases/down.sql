DROP TABLE worker_leases;
ALTER TABLE outbox DROP COLUMN lease_holder;
