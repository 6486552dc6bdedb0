#!/usr/bin/env bash
# Code import against the bulk-load baseline, on one backend:
#
#   cargo build --release && benches/load/import.sh sqlite|postgres [ROWS]
#
# Registers ROWS codes (default 100000) with `tracegate codes import` (signature check,
# validation of every row, owner and licence look-ups, bulk insert, audit entry), then loads
# the same rows straight into the codes table of a fresh database (sqlite3 .import or
# psql \copy) and prints both times and their ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
backend=${1:?sqlite or postgres}
rows=${2:-100000}
bin=target/release/tracegate
dir=$(mktemp -d)
dbs=()
cleanup() {
  for db in "${dbs[@]}"; do psql -q -U postgres -h 127.0.0.1 -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; done
  rm -rf "$dir"
}
trap cleanup EXIT
export TRACEGATE_KEYS_FILE="$dir/keys.toml" TRACEGATE_LOG_FILTER=warn

database() { # NAME -> URL, and a way to run SQL on it
  if [ "$backend" = sqlite ]; then
    echo "sqlite://$dir/$1.db"
  else
    psql -q -U postgres -h 127.0.0.1 -c "CREATE DATABASE $1" >/dev/null
    dbs+=("$1")
    echo "postgres://postgres@127.0.0.1:5432/$1"
  fi
}
sql() { # URL SQL
  if [ "$backend" = sqlite ]; then sqlite3 "${1#sqlite://}" "$2"; else psql -q -U postgres -h 127.0.0.1 -d "${1##*/}" -c "$2" >/dev/null; fi
}

prepare() { # URL -> issuer id; a verified owner, an issuer with a profile
  local url=$1
  TRACEGATE_DATABASE_URL=$url "$bin" migrate >/dev/null
  local issuer
  issuer=$(TRACEGATE_DATABASE_URL=$url "$bin" admin create-client --kind issuer --name Import | awk '/client_id/ {print $3}')
  local now="2026-11-26 00:00:00"
  sql "$url" "INSERT INTO accounts VALUES ('owner', 'seller', 'owner@load.example', '$now', NULL, NULL, '', 'vi', NULL, NULL, NULL, NULL, 'active', '$now', '$now', 1)"
  sql "$url" "INSERT INTO sellers (account_id, kind, status, identity_status, business_kind, business_code, business_status, created_at, updated_at, version) VALUES ('owner', 'enterprise', 'active', 'verified', 'enterprise', '0799000033', 'verified', '$now', '$now', 1)"
  sql "$url" "INSERT INTO issuers VALUES ('$issuer', 'Import', 'national', NULL, NULL, '$now')"
  echo "$issuer"
}

url=$(database "tracegate_import_$$")
issuer=$(prepare "$url")
python3 benches/load/import.py "$dir/files" "$rows" "$issuer"
key=$(cat "$dir/files/public_key.hex")
if [ "$backend" = sqlite ]; then blob="X'$key'"; else blob="decode('$key', 'hex')"; fi
sql "$url" "INSERT INTO issuer_keys VALUES ('bench', '$issuer', $blob, '2026-11-26 00:00:00', NULL)"

start=$(date +%s.%N)
TRACEGATE_DATABASE_URL=$url "$bin" codes import "$dir/files/batch.csv" --issuer "$issuer" --key-id bench --signature "$(cat "$dir/files/signature")"
import_s=$(echo "$(date +%s.%N) - $start" | bc)

copy_url=$(database "tracegate_copy_$$")
copy_issuer=$(prepare "$copy_url")
sed -i "s/,$issuer,/,$copy_issuer,/" "$dir/files/codes_table.csv"
sql "$copy_url" "INSERT INTO code_batches VALUES ('copy-batch', '$copy_issuer', 'k', 'x', $rows, '2026-11-26 00:00:00')"
start=$(date +%s.%N)
if [ "$backend" = sqlite ]; then
  sqlite3 "${copy_url#sqlite://}" ".import --csv $dir/files/codes_table.csv codes"
else
  psql -q -U postgres -h 127.0.0.1 -d "${copy_url##*/}" -c "\\copy codes FROM '$dir/files/codes_table.csv' WITH (FORMAT csv)"
fi
copy_s=$(echo "$(date +%s.%N) - $start" | bc)
echo "import: $import_s s; bulk load: $copy_s s; ratio bulk/import: $(echo "scale=2; $copy_s / $import_s" | bc)"
