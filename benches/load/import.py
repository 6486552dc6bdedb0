#!/usr/bin/env python3
"""Writes the files for the code import benchmark (import.sh): a signed CSV batch of ROWS
lot-level codes owned by enterprise 0799000033, the same rows as a CSV of the codes table
(for the bulk-load baseline), and the issuer's public key.

    import.py OUT_DIR ROWS ISSUER_ID

Needs the `cryptography` package (pip install cryptography).
"""
import base64
import csv
import os
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

out, rows, issuer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)


def check_digit(body: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


lines = ["code,owner,product_name,category,origin,production_date,expiry_date"]
with open(os.path.join(out, "codes_table.csv"), "w", newline="") as f:
    w = csv.writer(f)
    for n in range(rows):
        body = f"894{n:09d}"
        gtin = f"0{body}{check_digit(body)}"
        lines.append(f"(01){gtin}(10)I{n},0799000033,Product {n},cosmetics,79,2026-01-01,2030-01-01")
        w.writerow([f"/01/{gtin}/10/I{n}", "lot", gtin, issuer, "0799000033", f"Product {n}", "cosmetics", "79",
                    "2026-01-01", "2030-01-01", "active", "", "copy-batch", "2026-11-26 00:00:00", "2026-11-26 00:00:00"])
body = ("\n".join(lines) + "\n").encode()
with open(os.path.join(out, "batch.csv"), "wb") as f:
    f.write(body)
key = Ed25519PrivateKey.generate()
with open(os.path.join(out, "signature"), "w") as f:
    f.write(base64.b64encode(key.sign(body)).decode())
with open(os.path.join(out, "public_key.hex"), "w") as f:
    f.write(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex())
