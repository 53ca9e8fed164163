#!/usr/bin/env bash
# Retention and compaction under load (issue 15's figures), one Kv4 server at a time on this machine:
#   1. "compaction": --Kv4:Retention:Layers:data:MaxVersions=10, 16 MiB segments, compaction every 5 s;
#   2. "no retention": the same server and load with no rule for data (nothing to reclaim: compaction finds
#      nothing to do), the peer for latency.
# The load: wrk with CONNECTIONS connections for DURATION seconds, a fifth of them PUTting ~100-byte values over
# KEYS keys and the rest GETting them (two wrk processes, so GET and PUT latencies are apart). During the run the
# data directory's size is sampled every 10 s; afterwards /metrics gives the compactions' time, reclaimed bytes and
# carried records, and the server is stopped and started again to time its reopen (to /readyz).
#
#   bench/retention.sh             # the report run: DURATION=600 for compaction, BASELINE=120 for no retention
#   bench/retention.sh --smoke     # a quick check (20 s each)
#   bench/retention.sh --cluster   # three nodes with the rule, the same load (PUTs through n1, GETs through n2) for
#                                  # CLUSTER_DURATION=300 s; n3 is killed (-9) at a third of it and started again
#                                  # DOWN=60 s later: each node's data directory over time, what each reclaimed, and
#                                  # how long n3 took to be back in every in-sync set (rebasing what it lacked)
#
# Knobs: DURATION=600 BASELINE=120 KEYS=10000 CONNECTIONS=32 SEGMENT_MB=16 MAX_VERSIONS=10 OUT=bench/out NO_BUILD=1
# Output: a markdown table on stdout and in $OUT/retention-<time>.md, the size samples in $OUT/retention-<time>.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh

DURATION=${DURATION:-600}
BASELINE=${BASELINE:-120}
KEYS=${KEYS:-10000}
CONNECTIONS=${CONNECTIONS:-32}
SEGMENT_MB=${SEGMENT_MB:-16}
MAX_VERSIONS=${MAX_VERSIONS:-10}
OUT=${OUT:-bench/out}
CLUSTER_DURATION=${CLUSTER_DURATION:-300}
DOWN=${DOWN:-60}
MODE=single
if [ "${1:-}" = "--smoke" ]; then DURATION=20; BASELINE=20; KEYS=1000; fi
if [ "${1:-}" = "--cluster" ]; then MODE=cluster; fi

log() { printf '[retention.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
for tool in wrk curl; do command -v $tool >/dev/null || { log "needs $tool (apt-get install $tool)"; exit 1; }; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kv4-retention-bench.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


if [ -z "${NO_BUILD:-}" ]; then
  log "building Release"
  dotnet build -c Release -nologo -v q Kv4.Server/Kv4.Server.csproj >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
fi
SERVER_DIR=$ROOT/Kv4.Server/bin/Release/net10.0
SYS_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
AUTH="Authorization: Basic $(printf '%s' "\$sys:$SYS_SECRET" | base64 -w0)"

# start NAME PORT ARGS... : a server on its own data directory; waits for /readyz. Sets SERVER_PID, and READY_SECONDS
# to how long it took (not printed: a $(start) subshell would lose the pid, and the cleanup would not stop the server).
start() {
  local name=$1 port=$2 started i
  shift 2
  started=$(date +%s.%N)
  ( cd "$SERVER_DIR" && KV4_SYS_SECRET="$SYS_SECRET" exec dotnet Kv4.Server.dll --urls "http://127.0.0.1:$port" \
      --Kv4:DataDir="$WORK/$name-data" --Kv4:Log:SegmentSizeMB="$SEGMENT_MB" --Kv4:Compaction:IntervalSeconds=5 \
      --Logging:LogLevel:Default=Warning --Logging:LogLevel:Kv4.Server.Hosting.CompactionLoop=Information "$@" ) >>"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  SERVER_PID=$!
  for i in $(seq 1 2400); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then
      READY_SECONDS=$(echo "$(date +%s.%N) - $started" | bc)
      return 0
    fi
    sleep 0.05
  done
  log "$name did not become ready"; cat "$WORK/$name.log" >&2; exit 1
}

requests() { # METHOD FILE: one request per key
  local method=$1 file=$2 i value
  : >"$file"
  for ((i = 0; i < KEYS; i++)); do
    if [ "$method" = PUT ]; then
      value=$(printf '{"k":"key%05d","v":{"name":"sensor %05d","reading":%d,"unit":"celsius","ok":true,"tags":["a","b","c"]}}' "$i" "$i" "$i")
      printf 'PUT\t/_data/bench/keys\t%s\n' "$value" >>"$file"
    else
      printf 'GET\t/_data/bench/keys?k=key%05d\n' "$i" >>"$file"
    fi
  done
  shuf "$file" -o "$file"
}
requests PUT "$WORK/puts.tsv"
requests GET "$WORK/gets.tsv"

# run NAME SECONDS ARGS... : one server under the load; adds its result line "name|..." to $WORK/rows (called in this
# shell, not in a $(...) subshell, so the cleanup knows every server it started).
run() {
  local name=$1 seconds=$2 port reopen size puts_conn gets_conn
  shift 2
  port=$(free_port)
  start "$name" "$port" "$@"
  local url="http://127.0.0.1:$port"
  log "$name: seeding $KEYS keys"
  wrk -t1 -c4 -d"$(( KEYS / 2000 + 2 ))s" -H "$AUTH" -s bench/wrk/requests.lua "$url" -- "$WORK/puts.tsv" >/dev/null
  puts_conn=$(( CONNECTIONS / 5 )); gets_conn=$(( CONNECTIONS - puts_conn ))
  log "$name: $seconds s of load ($puts_conn PUT and $gets_conn GET connections)"
  ( while :; do printf '%s\t%s\t%s\n' "$name" "$(date +%s)" "$(du -sb "$WORK/$name-data" | cut -f1)"; sleep 10; done ) >>"$WORK/sizes.tsv" &
  local sampler=$!
  wrk -t1 -c"$puts_conn" -d"${seconds}s" --timeout 10s -H "$AUTH" -s bench/wrk/requests.lua "$url" -- "$WORK/puts.tsv" >"$WORK/$name-put.txt" &
  local putter=$!
  wrk -t1 -c"$gets_conn" -d"${seconds}s" --timeout 10s -H "$AUTH" -s bench/wrk/requests.lua "$url" -- "$WORK/gets.tsv" >"$WORK/$name-get.txt"
  wait $putter
  kill $sampler 2>/dev/null || true
  curl -fsS "$url/metrics" >"$WORK/$name-metrics.txt"
  size=$(du -sb "$WORK/$name-data" | cut -f1)
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  start "$name" "$port" "$@"
  reopen=$READY_SECONDS
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  local put get metric
  put=$(grep '^RESULT' "$WORK/$name-put.txt"); get=$(grep '^RESULT' "$WORK/$name-get.txt")
  metric() { awk -v m="$1" '$1 == m { printf "%.0f", $2; found = 1 } END { if (!found) printf "-" }' "$WORK/$name-metrics.txt"; }
  local max
  max=$(awk -F'\t' -v n="$name" '$1 == n && $3 > m { m = $3 } END { print m + 0 }' "$WORK/sizes.tsv")
  # name | PUT/s | PUT p99 ms | GET/s | GET p99 ms | dir at end MB | dir max MB | log bytes | compactions | compaction s | reclaimed MB | carried | reopen s
  printf '%s|%.0f|%.1f|%.0f|%.1f|%.1f|%.1f|%s|%s|%s|%s|%s|%.2f\n' "$name" \
    "$(echo "$put" | awk '{ print $2 / $3 }')" "$(echo "$put" | awk '{ print $5 / 1000 }')" \
    "$(echo "$get" | awk '{ print $2 / $3 }')" "$(echo "$get" | awk '{ print $5 / 1000 }')" \
    "$(echo "$size / 1048576" | bc -l)" "$(echo "$max / 1048576" | bc -l)" \
    "$(metric kv4_engine_log_bytes)" "$(metric kv4_compaction_seconds_count)" "$(metric kv4_compaction_seconds_sum)" \
    "$(metric kv4_compaction_reclaimed_bytes_total | awk '{ printf ($1 == "-" ? "-" : "%.1f"), $1 / 1048576 }')" \
    "$(metric kv4_compaction_carried_records_total)" "$reopen" >>"$WORK/rows"
}

STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
: >"$WORK/sizes.tsv"
: >"$WORK/rows"

# The cluster run: three nodes founded together (start waits for each /readyz, which needs a quorum: so each is
# launched first, then waited for), the load through two of them, n3 killed and brought back on its data directory.
if [ "$MODE" = cluster ]; then
  command -v jq >/dev/null || { log "needs jq (apt-get install jq)"; exit 1; }
  declare -A HTTP PEER NODE_PID
  initial=""
  for n in n1 n2 n3; do HTTP[$n]=$(free_port); PEER[$n]=$(free_port); initial+="${initial:+,}$n=127.0.0.1:${PEER[$n]}"; done
  launch_node() { # name
    ( cd "$SERVER_DIR" && KV4_SYS_SECRET="$SYS_SECRET" exec dotnet Kv4.Server.dll --urls "http://127.0.0.1:${HTTP[$1]}" \
        --Kv4:DataDir="$WORK/$1-data" --Kv4:Log:SegmentSizeMB="$SEGMENT_MB" --Kv4:Compaction:IntervalSeconds=5 \
        --Kv4:Retention:Layers:data:MaxVersions="$MAX_VERSIONS" --Kv4:Node:PublicUrl="http://127.0.0.1:${HTTP[$1]}" \
        --Kv4:Cluster:Name="$1" --Kv4:Cluster:Listen="127.0.0.1:${PEER[$1]}" --Kv4:Cluster:Initial="$initial" \
        --Logging:LogLevel:Default=Warning --Logging:LogLevel:Kv4.Cluster.Replication=Information ) >>"$WORK/$1.log" 2>&1 &
    PIDS+=($!)
    NODE_PID[$1]=$!
  }
  wait_node() { # name
    local i
    for i in $(seq 1 2400); do
      curl -fsS -o /dev/null "http://127.0.0.1:${HTTP[$1]}/readyz" 2>/dev/null && return 0
      sleep 0.05
    done
    log "$1 did not become ready"; tail -20 "$WORK/$1.log" >&2; exit 1
  }
  in_sync() { # every partition's replicas all in sync, asked of n1
    curl -fsS -H "$AUTH" "http://127.0.0.1:${HTTP[n1]}/_cluster/partitions" 2>/dev/null \
      | jq -e '.v | all(.primary != null and (.in_sync | length) == (.replicas | length) + 1)' >/dev/null
  }
  for n in n1 n2 n3; do launch_node $n; done
  for n in n1 n2 n3; do wait_node $n; done
  log "cluster: seeding $KEYS keys through n1"
  wrk -t1 -c4 -d"$(( KEYS / 1000 + 2 ))s" -H "$AUTH" -s bench/wrk/requests.lua "http://127.0.0.1:${HTTP[n1]}" -- "$WORK/puts.tsv" >/dev/null
  puts_conn=$(( CONNECTIONS / 5 )); gets_conn=$(( CONNECTIONS - puts_conn ))
  log "cluster: $CLUSTER_DURATION s of load ($puts_conn PUT connections to n1, $gets_conn GET connections to n2)"
  ( while :; do
      for n in n1 n2 n3; do printf '%s\t%s\t%s\n' "$n" "$(date +%s)" "$(du -sb "$WORK/$n-data" 2>/dev/null | cut -f1)"; done
      sleep 10
    done ) >>"$WORK/sizes.tsv" &
  sampler=$!
  wrk -t1 -c"$puts_conn" -d"${CLUSTER_DURATION}s" --timeout 10s -H "$AUTH" -s bench/wrk/requests.lua "http://127.0.0.1:${HTTP[n1]}" -- "$WORK/puts.tsv" >"$WORK/cluster-put.txt" &
  putter=$!
  wrk -t1 -c"$gets_conn" -d"${CLUSTER_DURATION}s" --timeout 10s -H "$AUTH" -s bench/wrk/requests.lua "http://127.0.0.1:${HTTP[n2]}" -- "$WORK/gets.tsv" >"$WORK/cluster-get.txt" &
  getter=$!
  sleep $(( CLUSTER_DURATION / 3 ))
  log "cluster: kill -9 n3, back in $DOWN s"
  kill -9 "${NODE_PID[n3]}"; wait "${NODE_PID[n3]}" 2>/dev/null || true
  sleep "$DOWN"
  back=$(date +%s.%N)
  launch_node n3
  wait_node n3
  until in_sync; do sleep 0.2; done
  synced=$(echo "$(date +%s.%N) - $back" | bc)
  log "cluster: n3 back in every in-sync set $synced s after its start"
  wait $putter $getter
  kill $sampler 2>/dev/null || true
  put=$(grep '^RESULT' "$WORK/cluster-put.txt"); get=$(grep '^RESULT' "$WORK/cluster-get.txt")
  cp "$WORK/sizes.tsv" "$OUT/retention-cluster-$STAMP.tsv"
  {
    echo "Retention bench (cluster) $STAMP: 3 nodes, $KEYS keys, MaxVersions=$MAX_VERSIONS, $CONNECTIONS connections (a fifth PUT), $CLUSTER_DURATION s, segments of $SEGMENT_MB MiB, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)"
    echo
    printf 'PUT/s %.0f, PUT p99 %.1f ms; GET/s %.0f, GET p99 %.1f ms; n3 killed at %d s, started %d s later, back in every in-sync set %.1f s after its start\n' \
      "$(echo "$put" | awk '{ print $2 / $3 }')" "$(echo "$put" | awk '{ print $5 / 1000 }')" \
      "$(echo "$get" | awk '{ print $2 / $3 }')" "$(echo "$get" | awk '{ print $5 / 1000 }')" "$(( CLUSTER_DURATION / 3 ))" "$DOWN" "$synced"
    echo
    echo "| node | data dir at end MiB | max MiB | compactions | reclaimed MiB | partitions rebased |"
    echo "| --- | --- | --- | --- | --- | --- |"
    for n in n1 n2 n3; do
      m=$(curl -fsS "http://127.0.0.1:${HTTP[$n]}/metrics")
      printf '| %s | %.1f | %.1f | %s | %.1f | %s |\n' "$n" \
        "$(echo "$(du -sb "$WORK/$n-data" | cut -f1) / 1048576" | bc -l)" \
        "$(awk -F'\t' -v n="$n" '$1 == n && $3 > m { m = $3 } END { print m / 1048576 }' "$WORK/sizes.tsv")" \
        "$(echo "$m" | awk '$1 == "kv4_compaction_seconds_count" { print $2 }')" \
        "$(echo "$m" | awk '$1 == "kv4_compaction_reclaimed_bytes_total" { print $2 / 1048576 }')" \
        "$(grep -c 'rebased on' "$WORK/$n.log" || true)"
    done
  } | tee "$OUT/retention-cluster-$STAMP.md"
  exit 0
fi
run compaction "$DURATION" --Kv4:Retention:Layers:data:MaxVersions="$MAX_VERSIONS"
run no-retention "$BASELINE"
cp "$WORK/sizes.tsv" "$OUT/retention-$STAMP.tsv"
{
  echo "Retention bench $STAMP: $KEYS keys, $CONNECTIONS connections (a fifth PUT), segments of $SEGMENT_MB MiB, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)"
  echo
  echo "| run | PUT/s | PUT p99 ms | GET/s | GET p99 ms | data dir at end MiB | max MiB | log bytes | compactions | compaction s | reclaimed MiB | carried records | reopen s |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  while IFS= read -r row; do echo "| ${row//|/ | } |"; done <"$WORK/rows"
} | tee "$OUT/retention-$STAMP.md"
