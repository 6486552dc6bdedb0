#!/usr/bin/env bash
# Login latency: starts a release build on a fresh SQLite database, registers and verifies
# one seller, then times sequential logins over HTTP and prints p50/p90/p99 in ms.
#
#   cargo build --release && benches/load/login_latency.sh [LOGINS]
#
# Loopback only; bounded by LOGINS (default 200). Needs curl and sqlite3.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BIN:-target/release/tracegate}
logins=${1:-200}
port=${PORT:-18089}
dir=$(mktemp -d)
export TRACEGATE_DATABASE_URL="sqlite://$dir/tracegate.db"
export TRACEGATE_KEYS_FILE="$dir/keys.toml"
export TRACEGATE_MAIL_OUTBOX_DIR="$dir/outbox"
export TRACEGATE_SERVER_BIND="127.0.0.1:$port"
export TRACEGATE_LOG_FILTER=warn
"$bin" serve &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fs "$base/readyz" >/dev/null && break; sleep 0.1; done

email="bench.$(date +%s)@example.vn"
password="violet-tractor-harbour-91"
curl -fs -o /dev/null -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/v1/accounts"
token=$(sqlite3 "$dir/tracegate.db" "select payload from outbox where destination = '$email'" \
  | grep -o 'token=[A-Za-z0-9_-]*' | head -n 1 | cut -d= -f2)
curl -fs -o /dev/null -H 'content-type: application/json' \
  -d "{\"token\":\"$token\"}" "$base/v1/accounts/email-verification"

times=$(for _ in $(seq 1 "$logins"); do
  curl -s -o /dev/null -w '%{time_total}\n' -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/v1/auth/login"
done | sort -n)
pick() { echo "$times" | awk -v q="$1" -v n="$logins" 'NR == int(q * n + 0.999) { printf "%.1f", $1 * 1000 }'; }
echo "logins=$logins p50_ms=$(pick 0.50) p90_ms=$(pick 0.90) p99_ms=$(pick 0.99)"
