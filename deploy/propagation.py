#!/usr/bin/env python3
"""Recall propagation across nodes: for each of N codes, warm nodes B and C with a listing
check (allowed), recall the code through node A, then ask B and C again (every 10 ms, a new
listing each time) until both deny it with `code_recalled`. Prints one line per code and
the p50/p99/max of the time from the recall's answer to the last node's deny.

    propagation.py A_URL B_URL C_URL N   (PLATFORM_TOKEN, ISSUER_TOKEN, SELLERS, FIRST in the env)

Codes are those of benches/load/seed.py (lot level, `(01)<gtin>(10)L<n>`), FIRST onwards;
they must belong to the issuer of ISSUER_TOKEN. Codes run in parallel, started 250 ms
apart, so that a cache held for its full lifetime bounds the whole run, not each code.
"""
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

a, b, c, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
platform = os.environ["PLATFORM_TOKEN"]
issuer = os.environ["ISSUER_TOKEN"]
sellers = int(os.environ["SELLERS"])
first = int(os.environ.get("FIRST", "1000"))
limit = float(os.environ.get("PROPAGATION_LIMIT", "45"))


def check_digit(body):
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def code(n):
    body = f"893{n:09d}"
    return f"(01)0{body}{check_digit(body)}(10)L{n}"


def post(url, token, payload):
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


asked = 0
lock = threading.Lock()


def listing(node, n):
    global asked
    with lock:
        asked += 1
        k = asked
    return post(f"{node}/v1/listing-checks", platform, {
        "shop_id": f"shop-{n % sellers}", "listing_id": f"p-{n}-{k}", "category": "cosmetics",
        "title": "Propagation listing", "codes": [code(n)]})


results = {}


def one(i):
    n = first + i * 7
    for node in (b, c):
        status, body = listing(node, n)
        if status != 200 or '"decision":"allow"' not in body:
            results[i] = ("warm-up not allowed", status, body[:200])
            return
    status, body = post(f"{a}/v1/issuers/me/code-status", issuer,
                        {"code": code(n), "status": "recalled", "reason": "Propagation test"})
    recalled = time.monotonic()
    if status != 200:
        results[i] = ("recall failed", status, body[:200])
        return
    seen = {}
    while len(seen) < 2 and time.monotonic() - recalled < limit:
        for node in (b, c):
            if node not in seen:
                status, body = listing(node, n)
                if status == 200 and "code_recalled" in body:
                    seen[node] = time.monotonic() - recalled
        time.sleep(0.01)
    results[i] = ("ok", seen.get(b), seen.get(c))


threads = []
for i in range(count):
    t = threading.Thread(target=one, args=(i,))
    t.start()
    threads.append(t)
    time.sleep(0.25)
for t in threads:
    t.join()

times, failed = [], 0
for i in range(count):
    r = results.get(i)
    if r[0] != "ok" or r[1] is None or r[2] is None:
        failed += 1
        print(f"code {i}: {r}")
        continue
    times.append(max(r[1], r[2]))
    print(f"code {i}: node B {r[1] * 1000:.0f} ms, node C {r[2] * 1000:.0f} ms")
times.sort()
if times:
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"propagation over {len(times)} codes: p50 {pick(0.5) * 1000:.0f} ms, "
          f"p99 {pick(0.99) * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms; not seen within {limit:.0f} s or failed: {failed}")
else:
    print(f"propagation: no code measured; failed: {failed}")
sys.exit(1 if failed else 0)
