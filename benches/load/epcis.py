#!/usr/bin/env python3
"""Writes the documents for the EPCIS capture benchmark (epcis.sh): DOCS EPCISDocuments of
EVENTS events each, every event distinct (its own lot and time), each a shipping
ObjectEvent of a lot class with a source and a destination business, as a distributor's
system would send them.

    epcis.py OUT_DIR DOCS EVENTS
"""
import json
import os
import sys

out, docs, events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
for d in range(docs):
    event_list = []
    for e in range(events):
        n = d * events + e
        second = n % 60
        minute = (n // 60) % 60
        hour = (n // 3600) % 24
        day = 1 + (n // 86400) % 28
        event_list.append({
            "type": "ObjectEvent",
            "eventTime": f"2026-10-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{n % 1000:03d}+07:00",
            "eventTimeZoneOffset": "+07:00",
            "epcList": [],
            "quantityList": [{"epcClass": f"urn:epc:class:lgtin:893850.0000101.B{n}", "quantity": 10 + n % 90}],
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "readPoint": {"id": "urn:epc:id:sgln:893850.00010.0"},
            "sourceList": [{"type": "owning_party", "source": "urn:vn:mst:0109000015"}],
            "destinationList": [{"type": "owning_party", "destination": "urn:vn:mst:0799000033"}],
        })
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-01T00:00:00Z",
        "epcisBody": {"eventList": event_list},
    }
    with open(os.path.join(out, f"doc{d:03d}.jsonld"), "w") as f:
        json.dump(document, f)
