#!/usr/bin/env bash
# Load test of the public GS1 resolver on this machine (loopback only, bounded in time):
#
#   cargo build --release && benches/load/resolver.sh sqlite|postgres [CODES] [SECONDS]
#
# Seeds CODES registered lot-level codes (default 1000000; SYNTHETIC rows loaded in bulk by
# seed.py, as run.sh does), starts the release binary, checks one scan and one linkset by
# hand, then drives /healthz, scans (GET of a Digital Link: 307 to the verification page)
# and linksets (Accept: application/linkset+json: 200) of codes drawn uniformly from all
# of them, each phase with wrk -t2 -c64 for SECONDS (default 15), and prints requests/s,
# latency and each resolver figure as a ratio of /healthz in the same run.
# Needs wrk, curl, python3, sqlite3 and (for postgres) psql. PERF=scan or PERF=linkset
# records a CPU profile of the service during that phase into $PERF_OUT (perf.data).
set -euo pipefail
cd "$(dirname "$0")/../.."
backend=${1:?sqlite or postgres}
codes=${2:-1000000}
seconds=${3:-15}
sellers=1000
bin=${BIN:-target/release/tracegate}
port=$((20000 + RANDOM % 20000))
dir=$(mktemp -d)
pg_db="tracegate_resolver_$$"
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
echo "seeding $codes codes (CSV)..."
PLATFORM=tgc_loadplatform python3 benches/load/seed.py "$dir/csv" "$sellers" "$codes"
# What the resolver reads (the codes, their issuer, the owners for linksets) and what
# those rows refer to.
tables="clients issuers accounts sellers codes"
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
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
base="http://127.0.0.1:$port"
sample=$(python3 -c "
n = $codes // 2
body = f'893{n:09d}'
total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
print(f'/01/0{body}{(10 - total % 10) % 10}/10/L{n}')")
echo "one scan:    $(curl -s -o /dev/null -w '%{http_code} -> %{redirect_url}' "$base$sample")"
echo "one linkset: $(curl -s -o /dev/null -w '%{http_code} %{content_type}, %{size_download} bytes' -H 'Accept: application/linkset+json' "$base$sample")"

# Prints wrk's figures and keeps its requests/s in $rate.
phase() {
  local out
  out=$(wrk -t2 -c64 -d"${seconds}s" --latency "$@")
  echo "$out" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
  rate=$(echo "$out" | awk '/Requests\/sec/ {print int($2)}')
}
echo "== /healthz"
phase "$base/healthz"; healthz=$rate
export CODES="$codes"
profile() {
  if [ "${PERF:-}" = "$1" ]; then
    perf record -F 499 -g -o "${PERF_OUT:-perf.data}" -p "$pid" -- sleep "$seconds" >/dev/null 2>&1 &
  fi
}
echo "== scans: GET /01/{gtin}/10/{lot} (307 to the verification page)"
profile scan
MODE=redirect phase -s benches/load/resolve.lua "$base"; redirect=$rate
echo "== linksets: Accept: application/linkset+json (200)"
profile linkset
MODE=linkset phase -s benches/load/resolve.lua "$base"; linkset=$rate
awk -v h="$healthz" -v r="$redirect" -v l="$linkset" 'BEGIN {
  printf "healthz %d/s; scans %d/s (%.2f x healthz); linksets %d/s (%.2f x healthz); target >= 0.5\n", h, r, r / h, l, l / h }'
echo "resident memory: $(grep VmRSS /proc/$pid/status | awk '{print $2}') kB"
