#!/usr/bin/env bash
# Load test of the listing gate on this machine (loopback only, bounded in time):
#
#   cargo build --release && benches/load/run.sh sqlite|postgres [SELLERS] [CODES] [SECONDS]
#
# Seeds SELLERS verified sellers with bound shops and CODES registered codes (default
# 100000 and 1000000; SYNTHETIC rows loaded in bulk), starts the release binary, then
# measures in one run: start-up until ready; /healthz; single listing checks at full load
# (64 connections) and their ratio to /healthz; p99 paced at half that rate, three times;
# the batch endpoint (1000 listings per request); resident memory after all phases. Every
# request asks about a new listing (thread-numbered ids), and every listing answered 200
# must be found stored in the database afterwards, or the script fails.
# Needs wrk, curl, python3, sqlite3 and (for postgres) psql. PERF=single or PERF=batch
# records a CPU profile of the service during that phase into $PERF_OUT (perf.data).
set -euo pipefail
cd "$(dirname "$0")/../.."
backend=${1:?sqlite or postgres}
sellers=${2:-100000}
codes=${3:-1000000}
seconds=${4:-20}
bin=${BIN:-target/release/tracegate}
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
rss() { echo "resident memory $1: $(grep VmRSS /proc/$pid/status | awk '{print $2}') kB"; }

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

started=$(date +%s.%N)
"$bin" serve &
pid=$!
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
ready=$(date +%s.%N)
echo "start-up with $codes codes, until ready: $(echo "$ready - $started" | bc) s"
rss "when ready"
token=$(curl -fs -u "$platform:$secret" -d grant_type=client_credentials "http://127.0.0.1:$port/v1/oauth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
export TOKEN="$token" SELLERS="$sellers" CODES="$codes" ACKED="$dir/acked"
mkdir -p "$ACKED"
url="http://127.0.0.1:$port"
rps() { awk '/Requests\/sec/ {print int($2)}'; }
profile() {
  if [ "${PERF:-}" = "$1" ]; then
    perf record -F 499 -g -o "${PERF_OUT:-perf.data}" -p "$pid" -- sleep "$seconds" >/dev/null 2>&1 &
  fi
}

echo "== /healthz, 64 connections"
health=$(wrk -t2 -c64 -d"${seconds}s" "$url/healthz" | rps)
echo "requests/s: $health"
echo "== POST /v1/listing-checks, 64 connections, every request a new listing"
profile single
out=$(PHASE=full wrk -t2 -c64 -d"${seconds}s" --latency -s benches/load/listing_check.lua "$url")
echo "$out" | grep -E "Requests/sec|50%|99%|Non-2xx"
full=$(echo "$out" | rps)
echo "ratio to /healthz: $(echo "scale=3; $full / $health" | bc)"
rss "after full load"
curl -fs "$url/metrics" | awk '/^tracegate_decision_commit_seconds_(sum|count)/ {v[$1]=$2} /^tracegate_decision_group_size_(sum|count)/ {v[$1]=$2} END {c=v["tracegate_decision_commit_seconds_count"]; if (c>0) printf "decision groups: %d, mean %.1f decisions, mean commit %.2f ms\n", c, v["tracegate_decision_group_size_sum"]/c, 1000*v["tracegate_decision_commit_seconds_sum"]/c}'
half=$((full / 2))
# wrk waits after each answer, so each connection's pause is the period at the target rate
# less the time an answer takes at that rate (measured once, 5 s).
period=$(echo "scale=3; 32000 / $half" | bc)
got=$(PHASE=calibrate DELAY_MS=$period wrk -t2 -c32 -d5s -s benches/load/listing_check.lua "$url" | rps)
pause=$(echo "scale=3; p = $period - (32000 / $got - $period); if (p < 0) p = 0; p" | bc)
for run in 1 2 3; do
  echo "== POST /v1/listing-checks paced at half of $full/s ($half/s), 32 connections, run $run"
  PHASE="paced$run" DELAY_MS=$pause wrk -t2 -c32 -d"${seconds}s" --latency -s benches/load/listing_check.lua "$url" | grep -E "Requests/sec|50%|99%|Non-2xx"
done
echo "== POST /v1/listing-checks/batch, 1000 listings per request, 4 connections"
profile batch
out=$(PHASE=batch BATCH=1000 wrk -t2 -c4 -d"${seconds}s" --timeout 30s -s benches/load/listing_batch.lua "$url")
echo "$out" | grep -E "Requests/sec|Non-2xx"
echo "listings/s: $(( $(echo "$out" | rps) * 1000 ))"
rss "after all phases"

# Every listing answered 200 is stored; more may be stored (answered after wrk stopped
# counting), never fewer.
sort -u "$ACKED"/*.txt > "$dir/acked.txt"
query="SELECT DISTINCT listing_id FROM listing_checks WHERE listing_id LIKE 'l-%' OR listing_id LIKE 'b-%'"
if [ "$backend" = sqlite ]; then
  sqlite3 "$dir/tracegate.db" "$query" | sort -u > "$dir/stored.txt"
else
  psql -qAt -U postgres -h 127.0.0.1 -d "$pg_db" -c "$query" | sort -u > "$dir/stored.txt"
fi
missing=$(comm -23 "$dir/acked.txt" "$dir/stored.txt" | wc -l)
echo "decisions answered 200: $(wc -l < "$dir/acked.txt"), stored: $(wc -l < "$dir/stored.txt"), answered but not stored: $missing"
if [ "$missing" -ne 0 ]; then
  echo "FAIL: $missing answered decisions are not in the database" >&2
  exit 1
fi
