-- Every event gets a number in capture order (`seq`), and what it names and its parties
-- refer to that number instead of the 89-character hash. Hashes are random: each row
-- keyed by one lands on a random page of its indexes, while numbers only ever append.
-- Capture writes a fraction of the index work per event (docs/PERFORMANCE.md, EPCIS).
CREATE SEQUENCE epcis_events_seq;
ALTER TABLE epcis_events ADD COLUMN seq BIGINT;
WITH numbered AS (
    SELECT event_hash, row_number() OVER (ORDER BY record_time, event_time, event_hash) AS n
    FROM epcis_events
)
UPDATE epcis_events SET seq = numbered.n FROM numbered
WHERE epcis_events.event_hash = numbered.event_hash;
SELECT setval('epcis_events_seq', COALESCE((SELECT MAX(seq) FROM epcis_events), 0) + 1, false);
ALTER TABLE epcis_events ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX epcis_events_by_seq ON epcis_events (seq);

CREATE TABLE epcis_event_items_numbered (
    event_seq BIGINT NOT NULL,
    role TEXT NOT NULL,
    item TEXT NOT NULL,
    lot_key TEXT,
    quantity DOUBLE PRECISION,
    uom TEXT,
    PRIMARY KEY (event_seq, role, item)
);
INSERT INTO epcis_event_items_numbered
SELECT e.seq, i.role, i.item, i.lot_key, i.quantity, i.uom
FROM epcis_event_items i JOIN epcis_events e ON e.event_hash = i.event_hash;
DROP TABLE epcis_event_items;
ALTER TABLE epcis_event_items_numbered RENAME TO epcis_event_items;
ALTER INDEX epcis_event_items_numbered_pkey RENAME TO epcis_event_items_pkey;
CREATE INDEX epcis_event_items_by_item ON epcis_event_items (item);
CREATE INDEX epcis_event_items_by_lot ON epcis_event_items (lot_key) WHERE lot_key IS NOT NULL;

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
FROM epcis_event_parties p JOIN epcis_events e ON e.event_hash = p.event_hash;
DROP TABLE epcis_event_parties;
ALTER TABLE epcis_event_parties_numbered RENAME TO epcis_event_parties;
ALTER INDEX epcis_event_parties_numbered_pkey RENAME TO epcis_event_parties_pkey;
CREATE INDEX epcis_event_parties_by_party ON epcis_event_parties (party);
-- Most parties of imported history are unknown businesses: only known ones are looked up.
CREATE INDEX epcis_event_parties_by_business ON epcis_event_parties (business_code)
    WHERE business_code IS NOT NULL;
