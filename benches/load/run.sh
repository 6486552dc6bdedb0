#!/usr/bin/env bash
# Load test of the listing gate on this machine (loopback only, bounded in time):
#
#   cargo build --release && benches/load/run.sh sqlite|postgres [SELLERS] [CODES] [SECONDS]
#
# Seeds SELLERS verified sellers with bound shops and CODES registered codes (default
# 100000 and 1000000; SYNTHETIC rows loaded in bulk), starts the release binary, then
# drives /healthz and POST /v1/listing-checks with wrk and prints requests/s, latency and
# the service's resident memory. Needs wrk, curl, python3, sqlite3 and (for postgres) psql.
set -euo pipefail
cd "$(dirname "$0")/../.."
backend=${1:?sqlite or postgres}
sellers=${2:-100000}
codes=${3:-1000000}
seconds=${4:-20}
bin=target/release/tracegate
port=18090
dir=$(mktemp -d)
pg_db="tracegate_load_$$"
export TRACEGATE_KEYS_FILE="$dir/keys.toml"
export TRACEGATE_MAIL_OUTBOX_DIR="$dir/outbox"
export TRACEGATE_SERVER_BIND="127.0.0.1:$port"
export TRACEGATE_SERVER_PUBLIC_URL="http://127.0.0.1:$port"
export TRACEGATE_LOG_FILTER=warn
export TRACEGATE_DATABASE_MAX_CONNECTIONS=${POOL:-8}
pid=""
cleanup() {
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

echo "seeding $sellers sellers and $codes codes (CSV)..."
PLATFORM="$platform" python3 benches/load/seed.py "$dir/csv" "$sellers" "$codes"
tables="clients issuers accounts sellers seller_bindings codes"
start=$(date +%s.%N)
if [ "$backend" = sqlite ]; then
  {
    echo "PRAGMA journal_mode=WAL;"
    for t in $tables; do echo ".import --csv $dir/csv/$t.csv $t"; done
    # The CSV import writes empty strings; the schema wants NULL for absent values.
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
end=$(date +%s.%N)
echo "bulk load of all tables: $(echo "$end - $start" | bc) s"

"$bin" serve &
pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
token=$(curl -fs -u "$platform:$secret" -d grant_type=client_credentials "http://127.0.0.1:$port/v1/oauth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
export TOKEN="$token" SELLERS="$sellers" CODES="$codes"

echo "== /healthz"
wrk -t2 -c64 -d"${seconds}s" --latency "http://127.0.0.1:$port/healthz" | grep -E "Requests/sec|50%|99%"
echo "== POST /v1/listing-checks, 64 connections"
wrk -t2 -c64 -d"${seconds}s" --latency -s benches/load/listing_check.lua "http://127.0.0.1:$port" | grep -E "Requests/sec|50%|99%|Non-2xx"
full=$(wrk -t2 -c64 -d"${seconds}s" -s benches/load/listing_check.lua "http://127.0.0.1:$port" | awk '/Requests\/sec/ {print int($2)}')
curl -fs "http://127.0.0.1:$port/metrics" | awk '/^tracegate_decision_commit_seconds_(sum|count)/ {v[$1]=$2} /^tracegate_decision_group_size_(sum|count)/ {v[$1]=$2} END {c=v["tracegate_decision_commit_seconds_count"]; if (c>0) printf "decision groups: %d, mean %.1f decisions, mean commit %.2f ms\n", c, v["tracegate_decision_group_size_sum"]/c, 1000*v["tracegate_decision_commit_seconds_sum"]/c}'
echo "listings decided from the caches / with a database read so far: $(curl -fs "http://127.0.0.1:$port/metrics" | awk '/^tracegate_listing_facts_total\{source="cache"\}/ {c=$2} /^tracegate_listing_facts_total\{source="database"\}/ {d=$2} END {print c+0 " / " d+0}')"
half=$((full / 2))
echo "== POST /v1/listing-checks paced at half of $full/s ($half/s), 32 connections"
RATE=$half CONNS=32 wrk -t2 -c32 -d"${seconds}s" --latency -s benches/load/listing_check.lua "http://127.0.0.1:$port" | grep -E "Requests/sec|50%|90%|99%|Non-2xx"
echo "== POST /v1/listing-checks/batch, 1000 listings per request, 4 connections"
BATCH=1000 wrk -t2 -c4 -d"${seconds}s" --timeout 30s -s benches/load/listing_batch.lua "http://127.0.0.1:$port" | grep -E "Requests/sec|Non-2xx"
echo "resident memory: $(grep VmRSS /proc/$pid/status | awk '{print $2}') kB"
