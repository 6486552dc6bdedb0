#!/usr/bin/env bash
# A sign-in flood beside the listing gate, on this machine (loopback only, bounded):
#
#   cargo build --profile tuning && BIN=target/tuning/tracegate benches/load/login_flood.sh sqlite|postgres [SECONDS]
#
# Seeds a small data set, then measures listing checks paced at a modest rate (4
# connections) with nothing else running ("idle"), and again while 64 connections send
# sign-ins for emails that have no account for SECONDS (default 20) — each one a full
# argon2id check (19 MiB). Reports listing-check p50/p99 of both runs, the peak and final
# resident memory of the service, and how the sign-ins were answered. The per-source
# limit is lifted for the run (auth.max_failures_per_ip), so the flood stands for one
# coming from many addresses; from one address it would be locked after 50 failures.
# Needs wrk, curl, python3, sqlite3 and (for postgres) psql.
set -euo pipefail
cd "$(dirname "$0")/../.."
backend=${1:?sqlite or postgres}
seconds=${2:-20}
sellers=1000
codes=10000
bin=${BIN:-target/tuning/tracegate}
port=18091
dir=$(mktemp -d)
pg_db="tracegate_flood_$$"
export TRACEGATE_KEYS_FILE="$dir/keys.toml"
export TRACEGATE_MAIL_OUTBOX_DIR="$dir/outbox"
export TRACEGATE_SERVER_BIND="127.0.0.1:$port"
export TRACEGATE_SERVER_PUBLIC_URL="http://127.0.0.1:$port"
export TRACEGATE_LOG_FILTER=error
export TRACEGATE_AUTH_MAX_FAILURES_PER_IP=100000000
pid=""
sampler=""
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ "$backend" = postgres ] && psql -q -U postgres -h 127.0.0.1 -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT

case "$backend" in
  sqlite) export TRACEGATE_DATABASE_URL="sqlite://$dir/tracegate.db" ;;
  postgres)
    psql -q -U postgres -h 127.0.0.1 -c "CREATE DATABASE $pg_db" >/dev/null
    export TRACEGATE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$pg_db" ;;
  *) echo "backend must be sqlite or postgres" >&2; exit 2 ;;
esac

"$bin" migrate >/dev/null
created=$("$bin" admin create-client --kind platform --name "Load platform")
platform=$(echo "$created" | awk '/client_id/ {print $3}')
secret=$(echo "$created" | awk '/client_secret/ {print $3}')
PLATFORM="$platform" python3 benches/load/seed.py "$dir/csv" "$sellers" "$codes" >/dev/null
tables="clients issuers accounts sellers seller_bindings codes"
if [ "$backend" = sqlite ]; then
  {
    echo "PRAGMA journal_mode=WAL;"
    for t in $tables; do echo ".import --csv $dir/csv/$t.csv $t"; done
    echo "UPDATE clients SET disabled_at = NULLIF(disabled_at, '');"
    echo "UPDATE issuers SET code_prefix = NULLIF(code_prefix, ''), province = NULLIF(province, '');"
    echo "UPDATE accounts SET password_hash = NULL, role = NULL, totp_secret = NULL, totp_key_id = NULL, totp_confirmed_at = NULL, totp_last_step = NULL WHERE id LIKE 'load-%';"
    for c in national_id_sealed national_id_key national_id_index national_id_masked birth_date identity_reason business_reason authorisation_note reminder_sent_at suspended_at suspended_reason; do
      echo "UPDATE sellers SET $c = NULL WHERE $c = '';"
    done
    echo "UPDATE seller_bindings SET shop_name = NULL, revoked_at = NULL WHERE id LIKE 'load-%';"
    echo "UPDATE codes SET production_date = NULL WHERE production_date = '';"
    echo "UPDATE codes SET status_reason = NULL WHERE status_reason = '';"
  } | sqlite3 "$dir/tracegate.db"
else
  for t in $tables; do
    extra=""
    [ "$t" = accounts ] && extra=", FORCE_NOT_NULL (provinces)"
    psql -q -U postgres -h 127.0.0.1 -d "$pg_db" -c "\\copy $t FROM '$dir/csv/$t.csv' WITH (FORMAT csv$extra)"
  done
  psql -q -U postgres -h 127.0.0.1 -d "$pg_db" -c "ANALYZE"
fi

"$bin" serve &
pid=$!
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
token=$(curl -fs -u "$platform:$secret" -d grant_type=client_credentials "http://127.0.0.1:$port/v1/oauth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
export TOKEN="$token" SELLERS="$sellers" CODES="$codes" ACKED="$dir/acked"
mkdir -p "$ACKED"
url="http://127.0.0.1:$port"
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status"; }
checks() {
  # 4 connections, each pausing 5 ms between requests: a steady, modest rate.
  PHASE="$1" DELAY_MS=5 wrk -t1 -c4 -d"$2s" --latency -s benches/load/listing_check.lua "$url" \
    | grep -E "Requests/sec|50%|99%|Non-2xx"
}

# Warm up (first decisions, caches), then measure the idle figure.
checks warm 5 >/dev/null
echo "resident memory before: $(rss) MiB"
echo "== listing checks, idle"
checks idle "$seconds"

echo "== listing checks during a sign-in flood (64 connections, unknown emails)"
peak_file="$dir/peak"
echo 0 > "$peak_file"
( peak=0; while kill -0 "$pid" 2>/dev/null; do
    r=$(rss); [ "$r" -gt "$peak" ] && peak=$r && echo "$peak" > "$peak_file"; sleep 0.2
  done ) &
sampler=$!
wrk -t2 -c64 -d"$((seconds + 4))s" --timeout 10s -s benches/load/login_flood.lua "$url" > "$dir/flood.txt" &
flood=$!
sleep 2
checks flood "$seconds"
wait "$flood"
grep -E "Requests/sec|login answers|Non-2xx" "$dir/flood.txt"
curl -fs "$url/metrics" | grep -E '^tracegate_attempts_refused_total|^tracegate_http_requests_total\{method="POST",route="/v1/auth/login"' || true
echo "resident memory: peak $(cat "$peak_file") MiB during the flood, $(rss) MiB after"
