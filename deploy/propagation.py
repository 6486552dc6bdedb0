#!/usr/bin/env python3
"""Recall propagation across nodes: for each of N codes, warm nodes B and C with a listing
check (allowed), recall the code through node A, then ask B and C again (every 10 ms, a new
listing each time) until both deny it with `code_recalled`. Prints one line per code and
the p50/p99/max of the time from the recall's answer to the last node's deny.

    propagation.py A_URL B_URL C_URL N   (PLATFORM_TOKEN, ISSUER_TOKEN, SELLERS, FIRST in the env)

Codes are those of benches/load/seed.py (lot level, `(01)<gtin>(10)L<n>`), FIRST onwards;
they must belong to the issuer of ISSUER_TOKEN. Codes run in parallel, started 250 ms
apart, so that a cache held for its full lifetime bounds the whole run, not each code.

With KIND=binding it measures an unbinding instead: a seller is registered through node A
(the verification mail read from MAIL_DIR, the nodes' mail.outbox_dir), proves the
synthetic identity and business of the built-in registers, then N times: binds a new shop
to the platform, warms B and C with a listing check on it, revokes the binding through node
A (`DELETE /v1/me/bindings/{id}`), and asks B and C until both answer `seller_not_bound`.

With KIND=suspension it measures a seller suspended by an officer's decision: the
supervisor SUPERVISOR_EMAIL (made with `tracegate admin create-officer`; the invitation read
from MAIL_DIR) accepts, enrols TOTP and signs in through node A; then for N seeded sellers
(shops `shop-<FIRST + i>`): B and C are warmed with a listing check, a dispute is filed,
escalated and decided through node A with the sanction `suspend_seller`, and B and C are
asked until both answer `seller_suspended`.
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


def request(method, url, token=None, payload=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def mailed_token(address):
    """The token of the link in the newest mail to `address` in MAIL_DIR."""
    import email
    import email.policy
    import glob
    import re
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for path in sorted(glob.glob(os.path.join(os.environ["MAIL_DIR"], "*.eml")), key=os.path.getmtime, reverse=True):
            with open(path, "rb") as f:
                message = email.message_from_binary_file(f, policy=email.policy.default)
            if address not in str(message["To"]):
                continue
            text = message.get_body(preferencelist=("plain",)).get_content()
            found = re.search(r"token=([A-Za-z0-9_-]+)", text)
            if found:
                return found.group(1)
        time.sleep(0.1)
    raise SystemExit(f"no mail with a link to {address} in {os.environ['MAIL_DIR']}")


def seller_through(node):
    """A seller registered and verified through `node`: its access token."""
    address = f"propagation.{int(time.time() * 1000)}@example.vn"
    password = "violet-tractor-harbour-91"
    steps = [
        ("POST", "/v1/accounts", None, {"email": address, "password": password}, 202),
    ]
    for method, path, token, payload, want in steps:
        status, body = request(method, node + path, token, payload)
        assert status == want, (path, status, body[:300])
    status, body = request("POST", f"{node}/v1/accounts/email-verification", None,
                           {"token": mailed_token(address)})
    assert status == 204, ("email verification", status, body[:300])
    status, body = request("POST", f"{node}/v1/auth/login", None, {"email": address, "password": password})
    assert status == 200, ("login", status, body[:300])
    token = json.loads(body)["access_token"]
    # Synthetic person and business of the built-in registers (src/identity/synthetic).
    status, body = request("POST", f"{node}/v1/me/identity", token, {
        "national_id": "079085900001", "full_name": "Nguyễn Văn An", "birth_date": "1985-03-14"})
    assert status == 200 and '"verified"' in body, ("identity", status, body[:300])
    status, body = request("POST", f"{node}/v1/me/business", token, {"kind": "enterprise", "code": "0799000033"})
    assert status == 200 and '"verified"' in body, ("business", status, body[:300])
    return token


def shop_check(node, shop):
    global asked
    with lock:
        asked += 1
        k = asked
    return post(f"{node}/v1/listing-checks", platform, {
        "shop_id": shop, "listing_id": f"b-{shop}-{k}", "category": "cosmetics",
        "title": "Propagation listing", "codes": []})


def one_binding(i, seller):
    shop = f"propagation-shop-{i}"
    status, body = request("POST", f"{a}/v1/me/binding-codes", seller, {})
    if status != 201 and status != 200:
        results[i] = ("binding code failed", status, body[:200])
        return
    status, body = request("POST", f"{a}/v1/seller-bindings", platform,
                           {"binding_code": json.loads(body)["code"], "shop_id": shop})
    if status != 201:
        results[i] = ("bind failed", status, body[:200])
        return
    status, body = request("GET", f"{a}/v1/me/bindings", seller)
    bindings = json.loads(body)
    listed = bindings.get("bindings", bindings) if isinstance(bindings, dict) else bindings
    binding = next((b["id"] for b in listed if b.get("shop_id") == shop), None)
    if binding is None:
        results[i] = ("binding not listed", status, body[:200])
        return
    # B and C learn of the new binding through the change feed first.
    started = time.monotonic()
    for node in (b, c):
        while True:
            status, body = shop_check(node, shop)
            if status == 200 and "seller_not_bound" not in body:
                break
            if time.monotonic() - started > limit:
                results[i] = ("warm-up never bound", status, body[:200])
                return
            time.sleep(0.01)
    status, body = request("DELETE", f"{a}/v1/me/bindings/{binding}", seller)
    revoked = time.monotonic()
    if status != 204:
        results[i] = ("revoke failed", status, body[:200])
        return
    seen = {}
    while len(seen) < 2 and time.monotonic() - revoked < limit:
        for node in (b, c):
            if node not in seen:
                status, body = shop_check(node, shop)
                if status == 200 and "seller_not_bound" in body:
                    seen[node] = time.monotonic() - revoked
        time.sleep(0.01)
    results[i] = ("ok", seen.get(b), seen.get(c))


def totp(secret):
    """The current RFC 6238 code (SHA-1, 30 s, 6 digits) and its time step."""
    import base64
    import hashlib
    import hmac
    import struct
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    step = int(time.time() // 30)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000:06d}", step


def supervisor_through(node):
    """The invited supervisor, signed in with password and TOTP through `node`: its token."""
    address, password = os.environ["SUPERVISOR_EMAIL"], "violet-tractor-harbour-91"
    status, body = request("POST", f"{node}/v1/auth/invitation/accept", None,
                           {"token": mailed_token(address), "password": password})
    assert status == 204, ("invitation", status, body[:300])
    status, body = request("POST", f"{node}/v1/auth/login", None, {"email": address, "password": password})
    assert status == 200, ("login", status, body[:300])
    first = json.loads(body)["access_token"]
    status, body = request("POST", f"{node}/v1/me/totp", first, {})
    assert status == 201, ("totp", status, body[:300])
    secret = json.loads(body)["secret"]
    code, step = totp(secret)
    status, body = request("POST", f"{node}/v1/me/totp/confirm", first, {"code": code})
    assert status == 204, ("totp confirm", status, body[:300])
    # A code works once: sign in with the next time step's.
    while totp(secret)[1] == step:
        time.sleep(0.5)
    status, body = request("POST", f"{node}/v1/auth/login", None,
                           {"email": address, "password": password, "totp_code": totp(secret)[0]})
    assert status == 200, ("login with TOTP", status, body[:300])
    return json.loads(body)["access_token"]


def one_suspension(i, supervisor):
    shop = f"shop-{first + i}"
    listing_id = f"s-{shop}"
    for node in (b, c):
        status, body = post(f"{node}/v1/listing-checks", platform, {
            "shop_id": shop, "listing_id": listing_id, "category": "fashion",
            "title": "Propagation listing", "codes": []})
        if status != 200 or "seller_suspended" in body:
            results[i] = ("warm-up", status, body[:200])
            return
    status, body = request("POST", f"{a}/v1/disputes", platform, {
        "shop_id": shop, "listing_id": listing_id, "kind": "counterfeit", "claim": "refund",
        "description": "Hộp kem không có tem chống giả, mã QR dẫn tới trang lạ.",
        "buyer": {"reference": f"buyer-{i}", "email": f"mua.hang{i}@example.vn", "language": "vi"}})
    if status != 201:
        results[i] = ("dispute not filed", status, body[:200])
        return
    actions = f"{a}/v1/disputes/{json.loads(body)['id']}/actions"
    status, body = request("POST", actions, supervisor, {"action": "escalate"})
    if status != 200:
        results[i] = ("escalate failed", status, body[:200])
        return
    status, body = request("POST", actions, supervisor, {
        "action": "decide", "outcome": "upheld",
        "statement": "Mã truy xuất trên hộp không do tổ chức nào cấp; người bán không chứng minh được nguồn gốc hàng.",
        "sanctions": [{"kind": "suspend_seller", "days": 10}]})
    decided = time.monotonic()
    if status != 200:
        results[i] = ("decision failed", status, body[:200])
        return
    seen = {}
    while len(seen) < 2 and time.monotonic() - decided < limit:
        for node in (b, c):
            if node not in seen:
                status, body = shop_check(node, shop)
                if status == 200 and "seller_suspended" in body:
                    seen[node] = time.monotonic() - decided
        time.sleep(0.01)
    results[i] = ("ok", seen.get(b), seen.get(c))


kind = os.environ.get("KIND", "recall")
threads = []
if kind == "binding":
    seller = seller_through(a)
    work = lambda i: one_binding(i, seller)
elif kind == "suspension":
    supervisor = supervisor_through(a)
    work = lambda i: one_suspension(i, supervisor)
else:
    work = one
for i in range(count):
    t = threading.Thread(target=work, args=(i,))
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
        print(f"{kind} {i}: {r}")
        continue
    times.append(max(r[1], r[2]))
    print(f"{kind} {i}: node B {r[1] * 1000:.0f} ms, node C {r[2] * 1000:.0f} ms")
times.sort()
if times:
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"{kind} propagation over {len(times)} samples: p50 {pick(0.5) * 1000:.0f} ms, "
          f"p99 {pick(0.99) * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms; not seen within {limit:.0f} s or failed: {failed}")
else:
    print(f"{kind} propagation: nothing measured; failed: {failed}")
sys.exit(1 if failed else 0)
