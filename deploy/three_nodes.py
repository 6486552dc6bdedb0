#!/usr/bin/env python3
"""Three tracegate nodes on one PostgreSQL behind HAProxy, on loopback, and what they do
when things change, die and restart.

    deploy/install-haproxy.sh
    deploy/three_nodes.py [--binary target/release/tracegate] [--samples 20] [--seconds 10]

Starts node A (`tracegate demo`: seeds the synthetic data set) on 8081, nodes B and C on
8082/8083, HAProxy (deploy/haproxy.cfg) on 8080, then measures:

1. propagation: a code registered and recalled through node A; how long until nodes B and
   C deny it (each sample polls both every 5 ms);
2. a node killed (SIGKILL) under load through HAProxy: failed requests, and acknowledged
   decisions missing from the database (lost);
3. a rolling restart (SIGTERM, start again, wait until ready) of every node under load:
   failed requests and lost decisions.

Needs PostgreSQL (TRACEGATE_TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres),
python3 with `cryptography` (signs the code batches with the demo issuer's key), haproxy.
Prints the figures as JSON at the end. Loopback only; creates and drops its own database.
"""

import argparse
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
PORTS = {"a": 8081, "b": 8082, "c": 8083}
FRONT = "http://127.0.0.1:8080"


def request(url, body=None, token=None, headers=None, timeout=10):
    data = None
    all_headers = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=all_headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def client_token(base, client_id, secret):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    status, body = request(
        f"{base}/v1/oauth/token",
        b"grant_type=client_credentials",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200, body
    return json.loads(body)["access_token"]


class Cluster:
    def __init__(self, binary, admin_url, work):
        self.binary = binary
        self.work = work
        self.db = f"tracegate_three_nodes_{os.getpid()}"
        self.admin_url = admin_url
        self.url = admin_url.rsplit("/", 1)[0] + "/" + self.db
        self.nodes = {}
        self.haproxy = None

    def psql(self, sql, url=None):
        out = subprocess.run(["psql", url or self.url, "-tAc", sql], check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def env(self, name):
        env = dict(os.environ)
        env.update({
            "TRACEGATE_DATABASE_URL": self.url,
            "TRACEGATE_SERVER_BIND": f"127.0.0.1:{PORTS[name]}",
            "TRACEGATE_SERVER_PUBLIC_URL": FRONT,
            "TRACEGATE_KEYS_FILE": str(self.work / "keys.toml"),
            "TRACEGATE_MAIL_OUTBOX_DIR": str(self.work / "mail"),
            "TRACEGATE_DISPUTES_EVIDENCE_DIR": str(self.work / "evidence"),
            "TRACEGATE_RETENTION_EXPORT_DIR": str(self.work / "retention"),
            "TRACEGATE_LOG_FILTER": "warn",
        })
        return env

    def start(self, name, command="serve"):
        log = open(self.work / f"node-{name}.log", "a")
        self.nodes[name] = subprocess.Popen([self.binary, command], env=self.env(name), cwd=self.work, stdout=log, stderr=log)
        self.wait_ready(name)

    def wait_ready(self, name, limit=120):
        started = time.time()
        while time.time() - started < limit:
            try:
                if request(f"http://127.0.0.1:{PORTS[name]}/readyz", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            if self.nodes[name].poll() is not None:
                sys.exit(f"node {name} exited; see {self.work}/node-{name}.log")
            time.sleep(0.1)
        sys.exit(f"node {name} not ready after {limit} s")

    def up(self):
        self.psql(f"CREATE DATABASE {self.db}", url=self.admin_url)
        self.start("a", "demo")
        self.start("b")
        self.start("c")
        # deploy/haproxy.cfg takes its addresses from the environment.
        addresses = dict(os.environ, TG_LB_BIND="127.0.0.1:8080",
                         TG_ADMIN_SOCKET=str(self.work / "haproxy.sock"),
                         **{f"TG_NODE{i}": f"127.0.0.1:{port}" for i, port in enumerate(PORTS.values(), 1)})
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
                                        stdout=open(self.work / "haproxy.log", "a"), stderr=subprocess.STDOUT,
                                        env=addresses)
        time.sleep(1.5)

    def down(self):
        for process in list(self.nodes.values()) + [self.haproxy]:
            if process and process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.psql(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)", url=self.admin_url)


class Load:
    """Threads asking for listing checks through HAProxy, each with a new listing id."""

    def __init__(self, token, shop, code, threads=8):
        self.token, self.shop, self.code = token, shop, code
        self.stop = threading.Event()
        self.acked, self.failed, self.lock = [], [], threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(threads)]

    def run(self, n):
        while not self.stop.is_set():
            listing = f"load-{n}-{uuid.uuid4().hex[:12]}"
            body = {"shop_id": self.shop, "listing_id": listing, "category": "cosmetics", "title": "Kem dưỡng", "codes": [self.code]}
            try:
                status, _ = request(f"{FRONT}/v1/listing-checks", body, self.token, timeout=10)
            except OSError as error:
                status = str(error)
            with self.lock:
                (self.acked if status == 200 else self.failed).append((time.time(), listing, status))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        for t in self.threads:
            t.join()


def lost(cluster, acked):
    if not acked:
        return 0
    path = cluster.work / "acked.txt"
    path.write_text("\n".join(listing for _, listing, _ in acked) + "\n")
    cluster.psql("CREATE TABLE IF NOT EXISTS acked (listing_id text)")
    cluster.psql("TRUNCATE acked")
    subprocess.run(["psql", cluster.url, "-c", f"\\copy acked FROM '{path}'"], check=True, capture_output=True)
    return int(cluster.psql("SELECT count(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM listing_checks c WHERE c.listing_id = a.listing_id)"))


def summary(load, seconds):
    failures = [status for _, _, status in load.failed]
    return {
        "acknowledged": len(load.acked),
        "per_second": round(len(load.acked) / seconds),
        "failed": len(failures),
        "failure_kinds": sorted({str(f)[:60] for f in failures}),
        "failure_window_s": round(max(t for t, _, _ in load.failed) - min(t for t, _, _ in load.failed), 2) if load.failed else 0,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / "target" / "debug" / "tracegate"))
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    admin = os.environ.get("TRACEGATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    work = Path(tempfile.mkdtemp(prefix="tracegate-three-nodes-"))
    cluster = Cluster(args.binary, admin, work)
    figures = {"binary": args.binary}
    try:
        cluster.up()
        creds = tomllib.loads((work / "demo-credentials.toml").read_text())
        node = {name: f"http://127.0.0.1:{port}" for name, port in PORTS.items()}
        platform = client_token(node["a"], creds["platform_client_id"], creds["platform_client_secret"])
        issuer = client_token(node["a"], creds["issuer_client_id"], creds["issuer_client_secret"])
        signing = Ed25519PrivateKey.from_private_bytes(base64.b64decode(creds["issuer_signing_seed"]))
        shop = creds["shop_id"]
        owner = cluster.psql("SELECT owner_code FROM codes WHERE status = 'active' AND category = 'cosmetics' LIMIT 1")

        def check(base, listing, code):
            status, body = request(f"{base}/v1/listing-checks", {"shop_id": shop, "listing_id": listing, "category": "cosmetics", "title": "Kem dưỡng", "codes": [code]}, platform)
            assert status == 200, body
            return json.loads(body)["decision"]

        # 1. Propagation of recalls.
        delays = []
        for n in range(args.samples):
            code = f"vnqr:NODES-{os.getpid()}-{n}"
            batch = json.dumps({"codes": [{"code": code, "owner": owner, "product_name": "Kem dưỡng Sen", "category": "cosmetics", "origin": "79", "expiry_date": "2030-12-31"}]}).encode()
            signature = base64.b64encode(signing.sign(batch)).decode()
            status, body = request(f"{node['a']}/v1/issuers/me/code-batches", batch, issuer,
                                   headers={"Tracegate-Signature": f"keyid={creds['issuer_key_id']},sig={signature}"})
            assert status == 201, body
            for name in ("b", "c"):
                deadline = time.time() + 5
                while check(node[name], f"warm-{n}", code) != "allow":
                    assert time.time() < deadline, f"node {name} never allowed {code}"
                    time.sleep(0.01)
            status, body = request(f"{node['a']}/v1/issuers/me/code-status", {"code": code, "status": "recalled", "reason": "Lô hàng nhiễm khuẩn"}, issuer)
            assert status == 200, body
            recalled = time.time()
            seen = {}

            def follow(name):
                k = 0
                while check(node[name], f"after-{n}-{k}", code) != "deny":
                    k += 1
                    time.sleep(0.005)
                seen[name] = (time.time() - recalled) * 1000

            threads = [threading.Thread(target=follow, args=(name,)) for name in ("b", "c")]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            delays.extend(seen.values())
        delays.sort()
        figures["propagation_ms"] = {
            "samples": len(delays),
            "p50": round(statistics.median(delays)),
            "p99": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))]),
            "max": round(delays[-1]),
        }
        print("propagation", figures["propagation_ms"], flush=True)

        allowed = creds["allowed_code"]
        # 2. A node killed under load.
        with Load(platform, shop, allowed) as load:
            time.sleep(args.seconds / 3)
            killed_at = time.time()
            cluster.nodes["c"].send_signal(signal.SIGKILL)
            time.sleep(args.seconds * 2 / 3)
        figures["kill"] = summary(load, args.seconds)
        figures["kill"]["lost"] = lost(cluster, load.acked)
        figures["kill"]["failures_after_kill_s"] = round(max((t - killed_at for t, _, _ in load.failed), default=0), 2)
        print("kill", figures["kill"], flush=True)
        cluster.nodes["c"].wait()
        cluster.start("c")
        time.sleep(1)

        # 3. A rolling restart under load.
        with Load(platform, shop, allowed) as load:
            started = time.time()
            for name in ("a", "b", "c"):
                cluster.nodes[name].send_signal(signal.SIGTERM)
                cluster.nodes[name].wait(30)
                cluster.start(name)
                time.sleep(1)  # HAProxy puts it back after two good checks
            rolled = time.time() - started
        figures["rolling"] = summary(load, rolled)
        figures["rolling"]["lost"] = lost(cluster, load.acked)
        figures["rolling"]["seconds"] = round(rolled, 1)
        print("rolling", figures["rolling"], flush=True)

        # Storage: bytes per stored decision (with its indexes and code links) and per code.
        def size(table):
            return int(cluster.psql(f"SELECT COALESCE(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('{table}')"))
        decisions = int(cluster.psql("SELECT count(*) FROM listing_checks"))
        codes = int(cluster.psql("SELECT count(*) FROM codes"))
        figures["storage"] = {
            "decisions": decisions,
            "bytes_per_decision": round((size("listing_checks") + size("listing_check_codes")) / max(decisions, 1)),
            "codes": codes,
            "bytes_per_code": round(int(cluster.psql("SELECT pg_total_relation_size('codes')")) / max(codes, 1)),
        }
        print("storage", figures["storage"], flush=True)
    finally:
        cluster.down()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
