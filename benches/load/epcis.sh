#!/usr/bin/env bash
# EPCIS capture throughput on PostgreSQL:
#
#   cargo build --profile tuning && BIN=target/tuning/tracegate benches/load/epcis.sh [DOCS] [EVENTS]
#
# Writes DOCS documents of EVENTS events (default 10 × 10000, every event distinct) and
# captures them one after another with `tracegate epcis import` (schema validation of
# the whole document, tracegate's checks, CBV event hashes, party look-ups, events, items,
# parties, receipts and custody facts written in one transaction per document, audit
# entry) into a fresh database; prints events per second, then checks that the database
# holds every event and that importing the first document again stores nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
docs=${1:-10}
events=${2:-10000}
bin=${BIN:-target/release/tracegate}
dir=$(mktemp -d)
db=tracegate_epcis_bench_$$
cleanup() {
  psql -q -U postgres -h 127.0.0.1 -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
psql -q -U postgres -h 127.0.0.1 -c "CREATE DATABASE $db" >/dev/null
export TRACEGATE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
export TRACEGATE_KEYS_FILE="$dir/keys.toml" TRACEGATE_LOG_FILTER=warn
"$bin" migrate >/dev/null
python3 benches/load/epcis.py "$dir/docs" "$docs" "$events"
start=$(date +%s.%N)
for file in "$dir"/docs/*.jsonld; do
  "$bin" epcis import "$file" >/dev/null
done
end=$(date +%s.%N)
total=$((docs * events))
stored=$(psql -qtA -U postgres -h 127.0.0.1 -d "$db" -c "SELECT COUNT(*) FROM epcis_events")
again=$("$bin" epcis import "$dir/docs/doc000.jsonld")
awk -v t="$total" -v s="$start" -v e="$end" 'BEGIN { printf "%d events in %.2f s: %.0f events/s\n", t, e - s, t / (e - s) }'
echo "stored: $stored of $total; again: $again"
[ "$stored" -eq "$total" ]
