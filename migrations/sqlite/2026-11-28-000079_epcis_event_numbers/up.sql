-- Every event gets a number in capture order (`seq`), and what it names and its parties
-- refer to that number instead of the 89-character hash (see the PostgreSQL migration).
-- SQLite has one writer: capture numbers events from the largest number stored.
CREATE TABLE epcis_events_numbered (
    event_hash TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_time TIMESTAMP NOT NULL,
    record_time TIMESTAMP NOT NULL,
    action TEXT,
    biz_step TEXT,
    disposition TEXT,
    read_point TEXT,
    biz_location TEXT,
    captured_by TEXT NOT NULL,
    body TEXT NOT NULL,
    seq BIGINT NOT NULL
);
INSERT INTO epcis_events_numbered
SELECT event_hash, event_id, event_type, event_time, record_time, action, biz_step,
       disposition, read_point, biz_location, captured_by, body,
       row_number() OVER (ORDER BY record_time, event_time, event_hash)
FROM epcis_events;

CREATE TABLE epcis_event_items_numbered (
    event_seq BIGINT NOT NULL,
    role TEXT NOT NULL,
    item TEXT NOT NULL,
    lot_key TEXT,
    quantity REAL,
    uom TEXT,
    PRIMARY KEY (event_seq, role, item)
);
INSERT INTO epcis_event_items_numbered
SELECT e.seq, i.role, i.item, i.lot_key, i.quantity, i.uom
FROM epcis_event_items i JOIN epcis_events_numbered e ON e.event_hash = i.event_hash;

CREATE TABLE epcis_event_parties_numbered (
    event_seq BIGINT NOT NULL,
    role TEXT NOT NULL,
    party_type TEXT NOT NULL,
    party TEXT NOT NULL,
    business_code TEXT,
    PRIMARY KEY (event_seq, role, party_type, party)
);
INSERT INTO epcis_event_parties_numbered
SELECT e.seq, p.role, p.party_type, p.party, p.business_code
FROM epcis_event_parties p JOIN epcis_events_numbered e ON e.event_hash = p.event_hash;

DROP TABLE epcis_event_parties;
DROP TABLE epcis_event_items;
DROP TABLE epcis_events;
ALTER TABLE epcis_events_numbered RENAME TO epcis_events;
ALTER TABLE epcis_event_items_numbered RENAME TO epcis_event_items;
ALTER TABLE epcis_event_parties_numbered RENAME TO epcis_event_parties;
CREATE INDEX epcis_events_by_time ON epcis_events (event_time, event_hash);
CREATE UNIQUE INDEX epcis_events_by_seq ON epcis_events (seq);
CREATE INDEX epcis_event_items_by_item ON epcis_event_items (item);
CREATE INDEX epcis_event_items_by_lot ON epcis_event_items (lot_key) WHERE lot_key IS NOT NULL;
CREATE INDEX epcis_event_parties_by_party ON epcis_event_parties (party);
CREATE INDEX epcis_event_parties_by_business ON epcis_event_parties (business_code)
    WHERE business_code IS NOT NULL;
