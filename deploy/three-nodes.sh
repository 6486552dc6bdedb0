#!/usr/bin/env bash
# Three tracegate nodes on one PostgreSQL behind HAProxy, on loopback, bounded in time:
#
#   BIN=target/release/tracegate [POOLER=pgbouncer] deploy/three-nodes.sh [SELLERS] [CODES]
#
# With POOLER=pgbouncer, pgbouncer in transaction mode (deploy/pgbouncer.ini, port 6437)
# sits between the nodes and PostgreSQL: the nodes run with database.pooler = "transaction";
# migrations, seeding and the checks of this script go to PostgreSQL directly. Phase 2 then
# also runs the same load with the nodes restarted straight to PostgreSQL (2c), for the
# comparison, before the nodes go back behind pgbouncer for phases 3 and 4.
#
# Creates a fresh PostgreSQL database (127.0.0.1:5432, user postgres), migrates it, seeds
# SELLERS verified sellers with bound shops and CODES codes (default 10000 and 100000; the
# SYNTHETIC rows of benches/load/seed.py), starts nodes on ports 18101-18103 behind HAProxy
# on 18100 (deploy/haproxy.cfg), then measures:
#   1. recall propagation: a code recalled through node A, until nodes B and C deny it
#      (deploy/propagation.py; PROPAGATION codes, default 20); then a shop's binding
#      revoked by its seller through node A, until B and C deny with seller_not_bound
#      (KIND=binding, PROPAGATION shops); then sellers suspended by a supervisor's
#      dispute decision through node A, until B and C deny with seller_suspended
#      (KIND=suspension, PROPAGATION sellers);
#   2. steady load through HAProxy (all nodes up): throughput, and PostgreSQL CPU per
#      decision;
#   3. a node killed (SIGKILL) 5 s into 15 s of load: failed requests, and how long HAProxy
#      took to take it out;
#   4. a rolling restart under load: each node drained, stopped (SIGTERM), started, ready,
#      put back; failed requests;
# Each steady phase also counts PostgreSQL backends (pg_stat_activity) 5 s into its load.
# And, at the end, that every listing answered 200 is stored (0 lost decisions, or the
# script fails), and the database's bytes per decision and per code.
# Installs wrk and haproxy (apt-get) when missing. Needs curl, psql, python3 (and pgbouncer
# with POOLER=pgbouncer).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"
sellers=${1:-10000}
codes=${2:-100000}
bin=${BIN:-target/release/tracegate}
propagation=${PROPAGATION:-20}
conns=${CONNS:-32}
pooler=${POOLER:-none}
lb_port=18100
ports=(18101 18102 18103)
dir=$(mktemp -d)
pg_db="tracegate_nodes_$$"
pg() { psql -qAt -U postgres -h 127.0.0.1 "$@"; }

if ! command -v wrk >/dev/null || ! command -v haproxy >/dev/null; then
  echo "installing wrk and haproxy..."
  apt-get install -y -q wrk haproxy >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q wrk haproxy >/dev/null; }
fi

export TRACEGATE_KEYS_FILE="$dir/keys.toml"
export TRACEGATE_MAIL_OUTBOX_DIR="$dir/outbox"
export TRACEGATE_SERVER_PUBLIC_URL="http://127.0.0.1:$lb_port"
export TRACEGATE_LOG_FILTER=warn
export TRACEGATE_DATABASE_MAX_CONNECTIONS=${POOL:-8}
export TRACEGATE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$pg_db"
# Where the nodes connect: PostgreSQL, or pgbouncer in front of it.
direct_url=$TRACEGATE_DATABASE_URL
case "$pooler" in
  none) node_url=$direct_url node_pooler=none ;;
  pgbouncer) node_url="postgres://postgres@127.0.0.1:6437/$pg_db" node_pooler=transaction ;;
  *) echo "POOLER is none or pgbouncer, not $pooler" >&2; exit 2 ;;
esac
export TG_LB_BIND="127.0.0.1:$lb_port" TG_ADMIN_SOCKET="$dir/haproxy.sock"
export TG_NODE1="127.0.0.1:${ports[0]}" TG_NODE2="127.0.0.1:${ports[1]}" TG_NODE3="127.0.0.1:${ports[2]}"
pids=("" "" "")
haproxy_pid=""
pgbouncer_pid=""
cleanup() {
  for p in "${pids[@]}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  [ -n "$haproxy_pid" ] && kill "$haproxy_pid" 2>/dev/null
  [ -n "$pgbouncer_pid" ] && kill "$pgbouncer_pid" 2>/dev/null
  wait 2>/dev/null
  pg -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT

# One command on HAProxy's admin socket.
lb() { python3 -c 'import socket,sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2] + "\n").encode())
out = b""
while (chunk := s.recv(65536)): out += chunk
print(out.decode(), end="")' "$TG_ADMIN_SOCKET" "$1"; }
# A node's status as HAProxy sees it (UP, DOWN, MAINT, DRAIN, ...) and its current sessions.
lb_status() { lb "show stat" | awk -F, -v s="n$1" '$1 == "nodes" && $2 == s {print $18}'; }
lb_sessions() { lb "show stat" | awk -F, -v s="n$1" '$1 == "nodes" && $2 == s {print $5}'; }
ready() { curl -fs -o /dev/null "http://127.0.0.1:${ports[$1]}/readyz"; }
start_node() {
  TRACEGATE_SERVER_BIND="127.0.0.1:${ports[$1]}" TRACEGATE_DATABASE_URL="$node_url" \
    TRACEGATE_DATABASE_POOLER="$node_pooler" "$bin" serve >>"$dir/node$(( $1 + 1 )).log" 2>&1 &
  pids[$1]=$!
  for _ in $(seq 1 600); do ready "$1" && return 0; sleep 0.05; done
  echo "node $(( $1 + 1 )) did not become ready" >&2; return 1
}
# CPU time in clock ticks (user + system) of the given processes; 0 for one that is gone.
ticks() { local s=0 p; for p in "$@"; do s=$(( s + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) )); done; echo "$s"; }
pg_cpu() { ticks $(ps -C postgres -o pid=); }
nodes_cpu() { ticks "${pids[@]}"; }
hz=$(getconf CLK_TCK)
failures() { awk '/Socket errors/ {gsub(/,/, ""); s += $4 + $6 + $8 + $10} /Non-2xx/ {s += $NF} END {print s + 0}'; }
rps() { awk '/Requests\/sec/ {print int($2)}'; }

pg -c "CREATE DATABASE $pg_db" >/dev/null
"$bin" migrate >/dev/null
created=$("$bin" admin create-client --kind platform --name "Load platform")
platform=$(echo "$created" | awk '/client_id/ {print $3}')
platform_secret=$(echo "$created" | awk '/client_secret/ {print $3}')
created=$("$bin" admin create-client --kind issuer --name "Recall issuer")
issuer=$(echo "$created" | awk '/client_id/ {print $3}')
issuer_secret=$(echo "$created" | awk '/client_secret/ {print $3}')

echo "seeding $sellers sellers and $codes codes..."
PLATFORM="$platform" python3 benches/load/seed.py "$dir/csv" "$sellers" "$codes"
for t in clients issuers accounts sellers seller_bindings codes; do
  extra=""
  [ "$t" = accounts ] && extra=", FORCE_NOT_NULL (provinces)"
  pg -d "$pg_db" -c "\\copy $t FROM '$dir/csv/$t.csv' WITH (FORMAT csv$extra)"
done
# The codes the propagation phase recalls belong to an issuer whose secret is known here.
pg -d "$pg_db" -c "INSERT INTO issuers (client_id, name, kind, created_at) VALUES ('$issuer', 'Recall issuer', 'national', now());
  UPDATE codes SET issuer_id = '$issuer' WHERE code_key ~ '/10/L[0-9]+$' AND substring(code_key from '/10/L([0-9]+)$')::int BETWEEN 1000 AND $(( 1000 + 7 * propagation ));
  ANALYZE" >/dev/null

if [ "$pooler" = pgbouncer ]; then
  # pgbouncer refuses to run as root; it switches to the PostgreSQL user instead.
  as_user=()
  [ "$(id -u)" = 0 ] && as_user=(-u postgres)
  pgbouncer ${as_user[@]+"${as_user[@]}"} deploy/pgbouncer.ini >"$dir/pgbouncer.log" 2>&1 &
  pgbouncer_pid=$!
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 6437 -U postgres -d "$pg_db" && break; sleep 0.1; done
  # Ours, not one already on the port: it exits at once when it cannot listen.
  kill -0 "$pgbouncer_pid" 2>/dev/null || { cat "$dir/pgbouncer.log"; exit 1; }
  pg_isready -h 127.0.0.1 -p 6437 -U postgres -d "$pg_db"
  echo "pgbouncer on 6437: $(grep -E '^(pool_mode|default_pool_size|max_db_connections)' deploy/pgbouncer.ini | tr -s ' ' | paste -sd ';')"
fi

# The supervisor who suspends sellers in phase 1c; a node delivers the invitation mail.
supervisor="supervisor.$$@load.example"
"$bin" admin create-officer --email "$supervisor" --role supervisor --provinces 79 >/dev/null

# The first node makes the keys file; the others start on it.
for i in 0 1 2; do start_node $i; done
echo "three nodes ready: ${ports[*]}"
haproxy -f deploy/haproxy.cfg -D -p "$dir/haproxy.pid"
haproxy_pid=$(cat "$dir/haproxy.pid")
for _ in $(seq 1 100); do
  [ "$(lb_status 1)$(lb_status 2)$(lb_status 3)" = UPUPUP ] && break; sleep 0.1
done
echo "HAProxy on $lb_port: n1 $(lb_status 1), n2 $(lb_status 2), n3 $(lb_status 3)"

url="http://127.0.0.1:$lb_port"
token() { curl -fs -u "$1:$2" -d grant_type=client_credentials "$url/v1/oauth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/'; }
export TOKEN SELLERS="$sellers" CODES="$codes" ACKED="$dir/acked"
TOKEN=$(token "$platform" "$platform_secret")
issuer_token=$(token "$issuer" "$issuer_secret")
mkdir -p "$ACKED"

echo "== 1. recall through node A, until nodes B and C deny ($propagation codes)"
status=0
PLATFORM_TOKEN="$TOKEN" ISSUER_TOKEN="$issuer_token" FIRST=1000 \
  python3 deploy/propagation.py "http://$TG_NODE1" "http://$TG_NODE2" "http://$TG_NODE3" "$propagation" \
  >"$dir/propagation-all.txt" || status=1
cat "$dir/propagation-all.txt"
tail -n 1 "$dir/propagation-all.txt" >"$dir/propagation.txt"
echo "== 1b. a binding revoked through node A, until nodes B and C deny ($propagation shops)"
KIND=binding MAIL_DIR="$TRACEGATE_MAIL_OUTBOX_DIR" PLATFORM_TOKEN="$TOKEN" ISSUER_TOKEN="$issuer_token" \
  python3 deploy/propagation.py "http://$TG_NODE1" "http://$TG_NODE2" "http://$TG_NODE3" "$propagation" \
  >"$dir/propagation-binding-all.txt" || status=1
cat "$dir/propagation-binding-all.txt"
tail -n 1 "$dir/propagation-binding-all.txt" >"$dir/propagation-binding.txt"
echo "== 1c. sellers suspended by an officer's decision through node A, until nodes B and C deny ($propagation sellers)"
KIND=suspension SUPERVISOR_EMAIL="$supervisor" MAIL_DIR="$TRACEGATE_MAIL_OUTBOX_DIR" PLATFORM_TOKEN="$TOKEN" \
  ISSUER_TOKEN="$issuer_token" FIRST=5000 \
  python3 deploy/propagation.py "http://$TG_NODE1" "http://$TG_NODE2" "http://$TG_NODE3" "$propagation" \
  >"$dir/propagation-suspension-all.txt" || status=1
cat "$dir/propagation-suspension-all.txt"
tail -n 1 "$dir/propagation-suspension-all.txt" >"$dir/propagation-suspension.txt"

# One 10 s run of single listing checks against URL; prints throughput, latency and CPU
# per stored decision (PostgreSQL, and the nodes).
steady() {
  local pg_before nodes_before stored_before out decided pg_used nodes_used sampler
  pg_before=$(pg_cpu); nodes_before=$(nodes_cpu)
  stored_before=$(pg -d "$pg_db" -c "SELECT count(*) FROM listing_checks")
  # PostgreSQL backends on the test database, and on the whole server, mid-load.
  (sleep 5; pg -F ' ' -c "SELECT count(*) FILTER (WHERE datname = '$pg_db'), count(*) FROM pg_stat_activity" >"$dir/$1.backends") &
  sampler=$!
  out=$(PHASE=$1 wrk -t2 -c"$conns" -d10s --latency -s benches/load/listing_check.lua "$2")
  wait "$sampler"
  pg_used=$(( $(pg_cpu) - pg_before )); nodes_used=$(( $(nodes_cpu) - nodes_before ))
  decided=$(( $(pg -d "$pg_db" -c "SELECT count(*) FROM listing_checks") - stored_before ))
  echo "$out" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" || true
  echo "$out" | rps >"$dir/$1.rps"
  echo "decisions stored: $decided; CPU per decision: PostgreSQL $(( 1000000 * pg_used / hz / decided )) us, nodes $(( 1000000 * nodes_used / hz / decided )) us" | tee "$dir/$1.cpu"
  read -r on_db on_server <"$dir/$1.backends"
  echo "PostgreSQL backends mid-load: $on_db on $pg_db, $on_server in all" | tee "$dir/$1.backends"
}
# Restarts the three nodes one after another on the current $node_url.
restart_all() {
  for i in 0 1 2; do
    kill -TERM "${pids[$i]}"; wait "${pids[$i]}" 2>/dev/null || true
    start_node "$i"
  done
  for _ in $(seq 1 100); do
    [ "$(lb_status 1)$(lb_status 2)$(lb_status 3)" = UPUPUP ] && break; sleep 0.1
  done
}
echo "== 2a. steady load on node A alone (no HAProxy), $conns connections, 10 s"
steady single "http://$TG_NODE1"
echo "== 2b. steady load through HAProxy, three nodes (database via $pooler), $conns connections, 10 s"
steady steady "$url"
if [ "$pooler" = pgbouncer ]; then
  echo "== 2c. the same, nodes restarted straight to PostgreSQL"
  node_url=$direct_url node_pooler=none
  restart_all
  steady direct "$url"
  node_url="postgres://postgres@127.0.0.1:6437/$pg_db" node_pooler=transaction
  restart_all
  echo "nodes back behind pgbouncer: n1 $(lb_status 1), n2 $(lb_status 2), n3 $(lb_status 3)"
fi

echo "== 3. node 2 killed (SIGKILL) 5 s into 15 s of load through HAProxy"
PHASE=kill wrk -t2 -c"$conns" -d15s --timeout 5s -s benches/load/listing_check.lua "$url" >"$dir/kill.txt" &
wrk_pid=$!
sleep 5
kill -9 "${pids[1]}"
killed=$(date +%s.%N)
wait "${pids[1]}" 2>/dev/null || true
pids[1]=""
for _ in $(seq 1 100); do [ "$(lb_status 2)" = DOWN ] && break; sleep 0.05; done
noticed=$(echo "$(date +%s.%N) - $killed" | bc)
wait "$wrk_pid"
grep -E "requests in|Requests/sec|Non-2xx|Socket errors" "$dir/kill.txt" || true
kill_failed=$(failures <"$dir/kill.txt")
echo "HAProxy marked node 2 DOWN after $noticed s; failed requests: $kill_failed"
start_node 1
for _ in $(seq 1 100); do [ "$(lb_status 2)" = UP ] && break; sleep 0.1; done

echo "== 4. rolling restart under load through HAProxy"
PHASE=rolling wrk -t2 -c"$conns" -d60s --timeout 5s -s benches/load/listing_check.lua "$url" >"$dir/rolling.txt" &
wrk_pid=$!
sleep 3
for i in 0 1 2; do
  n=$(( i + 1 ))
  t0=$(date +%s.%N)
  lb "set server nodes/n$n state drain" >/dev/null
  # Requests in flight at the node finish; none new is sent to it.
  for _ in $(seq 1 100); do [ "$(lb_sessions $n)" = 0 ] && break; sleep 0.05; done
  lb "set server nodes/n$n state maint" >/dev/null
  kill -TERM "${pids[$i]}"
  wait "${pids[$i]}" 2>/dev/null || true
  start_node $i
  lb "set server nodes/n$n state ready" >/dev/null
  for _ in $(seq 1 100); do [ "$(lb_status $n)" = UP ] && break; sleep 0.1; done
  echo "node $n restarted and back in: $(echo "$(date +%s.%N) - $t0" | bc) s ($(lb_status $n))"
  sleep 2
done
kill -INT "$wrk_pid" 2>/dev/null || true
wait "$wrk_pid" || true
grep -E "requests in|Requests/sec|Non-2xx|Socket errors" "$dir/rolling.txt" || true
rolling_failed=$(failures <"$dir/rolling.txt")
echo "rolling restart failed requests: $rolling_failed"

# Every listing answered 200 is stored; more may be stored (answered after wrk stopped
# counting), never fewer.
sort -u "$ACKED"/*.txt >"$dir/acked.txt"
pg -d "$pg_db" -c "SELECT DISTINCT listing_id FROM listing_checks WHERE listing_id LIKE 'l-%'" | sort -u >"$dir/stored.txt"
lost=$(comm -23 "$dir/acked.txt" "$dir/stored.txt" | wc -l)
echo "== decisions answered 200: $(wc -l <"$dir/acked.txt"), stored: $(wc -l <"$dir/stored.txt"), lost: $lost"

echo "== sizes (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
pg -d "$pg_db" -c "VACUUM ANALYZE" >/dev/null
pg -d "$pg_db" -F ' ' -c "
  SELECT 'listing_checks rows', count(*) FROM listing_checks;
  SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace
    ORDER BY 2 DESC LIMIT 8;"
pg -d "$pg_db" -c "
  SELECT 'bytes per code (codes with indexes): ' || pg_total_relation_size('codes') / greatest(count(*), 1) FROM codes;" 
pg -d "$pg_db" -c "
  SELECT 'bytes per decision (listing_checks and tables named listing_check%, with indexes): ' ||
    (SELECT sum(pg_total_relation_size(oid)) FROM pg_class WHERE relkind = 'r' AND relname LIKE 'listing_check%')
    / greatest(count(*), 1)::bigint FROM listing_checks;"
# Where a decision's bytes go: the mean stored size of each column of listing_checks.
columns=$(pg -d "$pg_db" -c "SELECT string_agg(format('round(avg(pg_column_size(%I))) AS %I', column_name, column_name), ', ' ORDER BY ordinal_position)
  FROM information_schema.columns WHERE table_name = 'listing_checks'")
pg -d "$pg_db" -x -F ' ' -c "SELECT $columns FROM listing_checks" | sed 's/^/  mean bytes of listing_checks./'

echo "== summary"
echo "propagation: $(cat "$dir/propagation.txt")"
echo "propagation: $(cat "$dir/propagation-binding.txt")"
echo "propagation: $(cat "$dir/propagation-suspension.txt")"
echo "database via: $pooler"
echo "one node without HAProxy: $(cat "$dir/single.rps") checks/s ($(cat "$dir/single.cpu"); $(cat "$dir/single.backends"))"
echo "three nodes through HAProxy: $(cat "$dir/steady.rps") checks/s ($(cat "$dir/steady.cpu"); $(cat "$dir/steady.backends"))"
if [ "$pooler" = pgbouncer ]; then
  echo "three nodes through HAProxy, straight to PostgreSQL: $(cat "$dir/direct.rps") checks/s ($(cat "$dir/direct.cpu"); $(cat "$dir/direct.backends"))"
  echo "pgbouncer errors logged: $(grep -c -E 'WARNING|ERROR' "$dir/pgbouncer.log" || true)"
fi
echo "node killed: $kill_failed failed requests, HAProxy noticed in $noticed s"
echo "rolling restart: $rolling_failed failed requests"
echo "lost acknowledged decisions: $lost"
if [ "$lost" -ne 0 ]; then
  echo "FAIL: $lost answered decisions are not in the database" >&2
  exit 1
fi
exit "$status"
