DROP TABLE epcis_receipts;
DROP TABLE epcis_event_parties;
DROP TABLE epcis_event_items;
DROP TABLE epcis_events;
