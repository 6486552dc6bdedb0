-- GS1 EPCIS 2.0 events captured from every actor in a supply chain, keyed by their CBV
-- event hash (the same event sent twice is stored once). `body` is the event as captured
-- (JSON); the columns beside it are what queries filter on, in UTC.
CREATE TABLE epcis_events (
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
CREATE INDEX epcis_events_by_time ON epcis_events (event_time, event_hash);

-- What an event names, by role (epc, parent, child, input, output for instances;
-- quantity, child_quantity, input_quantity, output_quantity for classes). `item` is the
-- GS1 Digital Link path when the identifier is a GS1 key, else the URI as given; `lot_key`
-- the lot (/01/{gtin}/10/{lot}) the item falls in, when it names one. `quantity` is a
-- class's quantity, `uom` its unit (none: a count of items).
CREATE TABLE epcis_event_items (
    event_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    item TEXT NOT NULL,
    lot_key TEXT,
    quantity DOUBLE PRECISION,
    uom TEXT,
    PRIMARY KEY (event_hash, role, item)
);
CREATE INDEX epcis_event_items_by_item ON epcis_event_items (item);
CREATE INDEX epcis_event_items_by_lot ON epcis_event_items (lot_key);

-- Sources and destinations of an event. `business_code` is the enterprise the party
-- resolves to (by enterprise code, or by a GLN inside a licensed company prefix); NULL
-- when tracegate knows no such business (the party is recorded as unknown).
CREATE TABLE epcis_event_parties (
    event_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    party_type TEXT NOT NULL,
    party TEXT NOT NULL,
    business_code TEXT,
    PRIMARY KEY (event_hash, role, party_type, party)
);
CREATE INDEX epcis_event_parties_by_party ON epcis_event_parties (party);
CREATE INDEX epcis_event_parties_by_business ON epcis_event_parties (business_code);

-- A business received (some of) a lot: it is a destination of an event that moved the
-- lot, directly or inside a container aggregated before, captured by someone else.
-- `units` counts items when the event counts them (NULL: measured in a unit, or not
-- stated). `receiving` marks a receiving step: the same goods are often recorded when
-- shipped and when received, so units are summed on each side and the larger taken.
-- The listing gate reads these as the fact `custody`.
CREATE TABLE epcis_receipts (
    business_code TEXT NOT NULL,
    lot_key TEXT NOT NULL,
    event_hash TEXT NOT NULL,
    receiving BOOLEAN NOT NULL,
    units DOUBLE PRECISION,
    PRIMARY KEY (business_code, lot_key, event_hash)
);
