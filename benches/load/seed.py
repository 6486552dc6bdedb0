#!/usr/bin/env python3
"""Writes a SYNTHETIC load data set as CSV files, one per table, for bulk loading:
N sellers (verified enterprises, each with a shop bound to one platform) and M codes
(lot level, active, owned by the sellers' businesses).

    seed.py OUT_DIR SELLERS CODES

The rows bypass the service's flows on purpose (no password hashing, no registers): they
exist to measure the listing gate, not to be real. See run.sh.
"""
import csv
import os
import sys

out, sellers, codes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
NOW = "2026-11-26 00:00:00"
FAR = "2099-01-01 00:00:00"
# The platform is made through the service (run.sh: tracegate admin create-client).
PLATFORM = os.environ["PLATFORM"]
ISSUER = "tgc_loadissuer"


def check_digit(body: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def gtin(n: int) -> str:
    body = f"893{n:09d}"
    return f"0{body}{check_digit(body)}"


def writer(name):
    f = open(os.path.join(out, f"{name}.csv"), "w", newline="")
    return f, csv.writer(f)


f, w = writer("clients")
w.writerow([ISSUER, "issuer", "Load issuer", "not-a-usable-secret", "codes:write", NOW, "load", ""])
f.close()

f, w = writer("issuers")
w.writerow([ISSUER, "Load issuer", "national", "", "", NOW])
f.close()

fa, wa = writer("accounts")
fs, ws = writer("sellers")
fb, wb = writer("seller_bindings")
for n in range(sellers):
    sid = f"load-seller-{n:07d}"
    wa.writerow([sid, "seller", f"seller{n}@load.example", NOW, "", "", "", "vi", "", "", "", "", "active", NOW, NOW, 1, "", "", ""])
    ws.writerow([sid, "enterprise", "active", "", "", "", "", "Load Seller", "", "79", "verified", "", NOW,
                 "enterprise", f"LOAD{n:07d}", "Load Enterprise", "79", "1 Load St", "2023,4791", "verified", "", NOW, NOW,
                 "", FAR, "", "", "", NOW, NOW, 1])
    wb.writerow([f"load-binding-{n:07d}", sid, PLATFORM, f"shop-{n}", "", NOW, ""])
fa.close(); fs.close(); fb.close()

f, w = writer("codes")
for n in range(codes):
    owner = f"LOAD{n % sellers:07d}"
    w.writerow([f"/01/{gtin(n)}/10/L{n}", "lot", gtin(n), ISSUER, owner, f"Product {n}", "cosmetics", "79", "", "2099-12-31",
                "active", "", "load-batch", NOW, NOW])
f.close()
