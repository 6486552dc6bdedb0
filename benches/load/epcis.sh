#!/usr/bin/env bash
# EPCIS capture throughput on PostgreSQL:
#
#   cargo build --profile tuning && BIN=target/tuning/tracegate benches/load/epcis.sh [DOCS] [EVENTS] [SENDERS]
#
# Writes DOCS documents of EVENTS events (default 10 × 10000, every event distinct) and
# captures them with `tracegate epcis import`, SENDERS documents at a time (default 2:
# several actors capture at once; 1 for one after another) — schema validation of the
# whole document, tracegate's checks, CBV event hashes, party look-ups, events, items,
# parties, receipts and custody facts written in one transaction per document, audit
# entry — into a fresh database; prints events per second and the CPU time the importers
# and PostgreSQL spent per event, then checks that the database holds every event and
# that importing the first document again stores nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
docs=${1:-10}
events=${2:-10000}
senders=${3:-2}
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
# CPU time of the local PostgreSQL cluster, in clock ticks: its processes and the
# backends it has reaped (0 when the server is not a local process).
pg_ticks() {
  local pm t=0 p f
  pm=$(pgrep -o -x postgres || true)
  [ -n "$pm" ] || { echo 0; return; }
  for p in $pm $(pgrep -P "$pm"); do
    read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
    t=$((t + f[13] + f[14]))
    [ "$p" = "$pm" ] && t=$((t + f[15] + f[16]))
  done
  echo "$t"
}
export bin
pg_before=$(pg_ticks)
start=$(date +%s.%N)
# Each importer reports its own CPU seconds (user + system) on a line of its own.
ls "$dir"/docs/*.jsonld | xargs -P "$senders" -n 1 sh -c \
  '/usr/bin/time -f "cpu %U %S" -a -o "$0.cpu" "$bin" epcis import "$0" >/dev/null'
end=$(date +%s.%N)
pg_after=$(pg_ticks)
importer_cpu=$(cat "$dir"/docs/*.cpu | awk '{ s += $2 + $3 } END { printf "%.2f", s }')
total=$((docs * events))
stored=$(psql -qtA -U postgres -h 127.0.0.1 -d "$db" -c "SELECT COUNT(*) FROM epcis_events")
again=$("$bin" epcis import "$dir/docs/doc000.jsonld")
awk -v t="$total" -v s="$start" -v e="$end" -v n="$senders" \
  'BEGIN { printf "%d events in %.2f s, %d senders: %.0f events/s\n", t, e - s, n, t / (e - s) }'
awk -v t="$total" -v i="$importer_cpu" -v p="$((pg_after - pg_before))" -v hz="$(getconf CLK_TCK)" \
  'BEGIN { printf "CPU per event: importers %.0f µs, PostgreSQL %.0f µs\n", i * 1e6 / t, p / hz * 1e6 / t }'
echo "stored: $stored of $total; again: $again"
[ "$stored" -eq "$total" ]
