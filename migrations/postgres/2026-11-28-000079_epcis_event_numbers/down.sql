CREATE TABLE epcis_event_items_hashed (
    event_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    item TEXT NOT NULL,
    lot_key TEXT,
    quantity DOUBLE PRECISION,
    uom TEXT,
    PRIMARY KEY (event_hash, role, item)
);
INSERT INTO epcis_event_items_hashed
SELECT e.event_hash, i.role, i.item, i.lot_key, i.quantity, i.uom
FROM epcis_event_items i JOIN epcis_events e ON e.seq = i.event_seq;
DROP TABLE epcis_event_items;
ALTER TABLE epcis_event_items_hashed RENAME TO epcis_event_items;
ALTER INDEX epcis_event_items_hashed_pkey RENAME TO epcis_event_items_pkey;
CREATE INDEX epcis_event_items_by_item ON epcis_event_items (item);
CREATE INDEX epcis_event_items_by_lot ON epcis_event_items (lot_key);

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
ALTER TABLE epcis_event_parties_hashed RENAME TO epcis_event_parties;
ALTER INDEX epcis_event_parties_hashed_pkey RENAME TO epcis_event_parties_pkey;
CREATE INDEX epcis_event_parties_by_party ON epcis_event_parties (party);
CREATE INDEX epcis_event_parties_by_business ON epcis_event_parties (business_code);

DROP INDEX epcis_events_by_seq;
ALTER TABLE epcis_events DROP COLUMN seq;
DROP SEQUENCE epcis_events_seq;
