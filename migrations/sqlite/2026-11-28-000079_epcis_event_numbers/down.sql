CREATE TABLE epcis_events_hashed (
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
    body TEXT NOT NULL
);
INSERT INTO epcis_events_hashed
SELECT event_hash, event_id, event_type, event_time, record_time, action, biz_step,
       disposition, read_point, biz_location, captured_by, body
FROM epcis_events;
CREATE TABLE epcis_event_items_hashed (
    event_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    item TEXT NOT NULL,
    lot_key TEXT,
    quantity REAL,
    uom TEXT,
    PRIMARY KEY (event_hash, role, item)
);
INSERT INTO epcis_event_items_hashed
SELECT e.event_hash, i.role, i.item, i.lot_key, i.quantity, i.uom
FROM epcis_event_items i JOIN epcis_events e ON e.seq = i.event_seq;
CREATE TABLE epcis_event_parties_hashed (
    event_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    party_type TEXT NOT NULL,
    party TEXT NOT NULL,
    business_code TEXT,
    PRIMARY KEY (event_hash, role, party_type, party)
);
INSERT INTO epcis_event_parties_hashed
SELECT e.event_hash, p.role, p.party_type, p.party, p.business_code
FROM epcis_event_parties p JOIN epcis_events e ON e.seq = p.event_seq;
DROP TABLE epcis_event_parties;
DROP TABLE epcis_event_items;
DROP TABLE epcis_events;
ALTER TABLE epcis_events_hashed RENAME TO epcis_events;
ALTER TABLE epcis_event_items_hashed RENAME TO epcis_event_items;
ALTER TABLE epcis_event_parties_hashed RENAME TO epcis_event_parties;
CREATE INDEX epcis_events_by_time ON epcis_events (event_time, event_hash);
CREATE INDEX epcis_event_items_by_item ON epcis_event_items (item);
CREATE INDEX epcis_event_items_by_lot ON epcis_event_items (lot_key);
CREATE INDEX epcis_event_parties_by_party ON epcis_event_parties (party);
CREATE INDEX epcis_event_parties_by_business ON epcis_event_parties (business_code);
