#!/usr/bin/env python3
"""An outbox worker killed with SIGKILL mid-delivery: what another node delivers, and when.

    deploy/outbox_kill.py [--binary target/debug/tracegate] [--lease 3]

Node A (`tracegate demo`, on 8081) queues 20 webhook events to a local receiver that takes
1 s to answer each; while A is delivering the first, it is killed (SIGKILL), and node B
(8082) starts. Prints how long until every event arrived and how many arrived twice (only
the one in flight may: same `Tracegate-Event-Id`). Uses the same PostgreSQL as
deploy/three_nodes.py; loopback only.
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from three_nodes import ROOT, Cluster, client_token, request  # noqa: E402


class Receiver(BaseHTTPRequestHandler):
    received = []
    lock = threading.Lock()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with Receiver.lock:
            Receiver.received.append((time.time(), self.headers.get("tracegate-event-id")))
        time.sleep(1)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / "target" / "debug" / "tracegate"))
    parser.add_argument("--lease", type=int, default=3, help="mail.lease_secs of both nodes")
    args = parser.parse_args()
    os.environ["TRACEGATE_MAIL_LEASE_SECS"] = str(args.lease)
    os.environ["TRACEGATE_MAIL_POLL_INTERVAL_MS"] = "100"
    admin = os.environ.get("TRACEGATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    work = Path(tempfile.mkdtemp(prefix="tracegate-outbox-kill-"))
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    cluster = Cluster(args.binary, admin, work)
    try:
        cluster.psql(f"CREATE DATABASE {cluster.db}", url=admin)
        cluster.start("a", "demo")
        import tomllib

        creds = tomllib.loads((work / "demo-credentials.toml").read_text())
        base = "http://127.0.0.1:8081"
        token = client_token(base, creds["platform_client_id"], creds["platform_client_secret"])
        req = request  # PUT is not in the helper: set the URL with urllib directly
        import urllib.request

        put = urllib.request.Request(f"{base}/v1/platforms/me/webhook", data=json.dumps({"url": hook}).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, method="PUT")
        urllib.request.urlopen(put).read()
        for _ in range(4):
            status, body = req(f"{base}/v1/platforms/me/webhook/test", {}, token)
            assert status == 202, body
        queued = int(cluster.psql("SELECT count(*) FROM outbox WHERE kind = 'webhook'"))
        while not Receiver.received:
            time.sleep(0.01)
        time.sleep(0.3)  # the first delivery is in flight
        cluster.nodes["a"].send_signal(signal.SIGKILL)
        killed = time.time()
        cluster.nodes["a"].wait()
        cluster.start("b")
        while True:
            ids = {event for _, event in Receiver.received}
            if len(ids) >= queued:
                break
            if time.time() - killed > 120:
                break
            time.sleep(0.1)
        done = time.time()
        events = [event for _, event in Receiver.received]
        figures = {
            "queued": queued,
            "delivered": len(set(events)),
            "received_twice": len(events) - len(set(events)),
            "all_delivered_after_kill_s": round(done - killed, 1),
            "lease_s": args.lease,
            "receiver_answers_after_s": 1,
        }
        print(json.dumps(figures, indent=2))
    finally:
        cluster.down()
        receiver.shutdown()


if __name__ == "__main__":
    main()
