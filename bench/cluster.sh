#!/usr/bin/env bash
# A Kv4 cluster of real processes on this machine, to try it or to measure it.
#
#   bench/cluster.sh up                 # three nodes on 127.0.0.1 (HTTP 4001-4003, cluster port 7101-7103), data in
#                                       # ./kv4-cluster/<node>; prints the $sys secret; Ctrl-C stops them all
#   bench/cluster.sh bench              # the figures of docs/benchmarks.md "Cluster": one node against three,
#                                       # PUT and GET under wrk at the primary and through another node, failovers
#                                       # over KILLS kill -9s of the primary, and the move of a KEYS_MOVE-key partition
#   bench/cluster.sh bench --smoke      # the same, short, to check that it all runs
#
# Knobs (environment): DURABILITY=sync CONNECTIONS=32 DURATION=10s ROUNDS=2 KEYS=1000 KILLS=10 KEYS_MOVE=100000
#   OUT=bench/out NO_BUILD=1 (reuse the Release build). Everything it starts listens on 127.0.0.1 and is stopped on
#   exit (the `up` data directory stays). Results: a markdown table on stdout and in $OUT/cluster-<time>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
MODE=${1:-up}
SMOKE=""; [ "${2:-}" = "--smoke" ] && SMOKE=1

DURABILITY=${DURABILITY:-sync}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
KEYS=${KEYS:-1000}
KILLS=${KILLS:-10}
KEYS_MOVE=${KEYS_MOVE:-100000}
OUT=${OUT:-bench/out}
if [ -n "$SMOKE" ]; then DURATION=2s; ROUNDS=1; KEYS=100; KILLS=1; KEYS_MOVE=2000; fi

log() { printf '[cluster.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now_ms() { date +%s%3N; }

for tool in curl jq; do
  command -v "$tool" >/dev/null || { log "needs $tool (apt-get install $tool)"; exit 1; }
done
if [ "$MODE" = bench ] && ! command -v wrk >/dev/null; then log "needs wrk (apt-get install wrk)"; exit 1; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kv4-cluster.XXXXXX")
declare -A PID HTTP PEER DATA
cleanup() {
  local name
  for name in "${!PID[@]}"; do kill "${PID[$name]}" 2>/dev/null || true; done
  for name in "${!PID[@]}"; do wait "${PID[$name]}" 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


if [ -z "${NO_BUILD:-}" ]; then
  log "building Release"
  dotnet build -c Release -nologo -v q Kv4.Server/Kv4.Server.csproj >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
fi
SERVER_DIR=$ROOT/Kv4.Server/bin/Release/net10.0
SYS_SECRET=${KV4_SYS_SECRET:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
SYS="\$sys:$SYS_SECRET"

# start NAME [--Kv4:Cluster:...]: one server process; cluster settings are passed by the caller.
start() {
  local name=$1; shift
  mkdir -p "${DATA[$name]}"
  ( cd "$SERVER_DIR" && KV4_SYS_SECRET="$SYS_SECRET" exec dotnet Kv4.Server.dll \
      --urls "http://127.0.0.1:${HTTP[$name]}" --Kv4:DataDir="${DATA[$name]}" --Kv4:Durability="$DURABILITY" \
      --Kv4:Node:Id="$name" --Kv4:Node:PublicUrl="http://127.0.0.1:${HTTP[$name]}" \
      --Logging:LogLevel:Default=Warning --Logging:LogLevel:Kv4.Cluster="${CLUSTER_LOG:-Warning}" "$@" ) >>"$WORK/$name.log" 2>&1 &
  PID[$name]=$!
}

wait_ready() { # name
  local i
  for i in $(seq 1 480); do
    if curl -fsS -o /dev/null "http://127.0.0.1:${HTTP[$1]}/readyz" 2>/dev/null; then return 0; fi
    kill -0 "${PID[$1]}" 2>/dev/null || break
    sleep 0.25
  done
  log "$1 is not ready; its log:"; tail -50 "$WORK/$1.log" >&2; exit 1
}

# A cluster of the named nodes, founded together.
start_cluster() { # names...
  local name initial=""
  for name in "$@"; do
    HTTP[$name]=${HTTP[$name]:-$(free_port)}; PEER[$name]=${PEER[$name]:-$(free_port)}; DATA[$name]=${DATA[$name]:-$WORK/$name}
    initial+="${initial:+,}$name=127.0.0.1:${PEER[$name]}"
  done
  INITIAL=$initial
  for name in "$@"; do launch "$name"; done
  for name in "$@"; do wait_ready "$name"; done
}
launch() { start "$1" --Kv4:Cluster:Name="$1" --Kv4:Cluster:Listen="127.0.0.1:${PEER[$1]}" --Kv4:Cluster:Initial="$INITIAL"; }

# first_of "SKIP..." CANDIDATES...: the first candidate not among the skipped ones.
first_of() {
  local skip=" $1 " n; shift
  for n in "$@"; do [[ $skip == *" $n "* ]] || { echo "$n"; return 0; }; done
}

cluster_get() { curl -fsS -u "$SYS" "http://127.0.0.1:${HTTP[$1]}/_cluster$2"; }

# Every partition has all its replicas in sync and nothing is moving (asked of a node that is up).
wait_settled() { # node
  local i
  local until=$(( $(now_ms) + 120000 ))
  while [ "$(now_ms)" -lt "$until" ]; do
    if [ "$(cluster_get "$1" "" 2>/dev/null | jq -r '.v.moving')" = 0 ] \
      && cluster_get "$1" /partitions 2>/dev/null | jq -e '.v | all(.primary != null and (.in_sync | length) == (.replicas | length) + 1)' >/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  log "the cluster did not settle: $(cluster_get "$1" "" | jq -c '.v | {leader, moving, members: [.members[] | {name, state}]}')"
  cluster_get "$1" /partitions | jq -c '.v[] | select(.primary == null or (.in_sync | length) != (.replicas | length) + 1)' >&2
  for name in "${!PID[@]}"; do log "$name's log:"; grep -v '^\s*$' "$WORK/$name.log" | tail -15 >&2 || true; done
  KEEP=1
  exit 1
}

if [ "$MODE" = up ]; then
  for i in 1 2 3; do
    HTTP[n$i]=$((4000 + i)); PEER[n$i]=$((7100 + i)); DATA[n$i]=$ROOT/kv4-cluster/n$i
  done
  start_cluster n1 n2 n3
  log "three nodes are ready: http://127.0.0.1:4001, :4002, :4003 (any of them serves any request)"
  log "\$sys secret: $SYS_SECRET   (KV4_SYS_SECRET=$SYS_SECRET bench/cluster.sh up keeps it)"
  log "try: curl -s -u '\$sys:$SYS_SECRET' http://127.0.0.1:4002/_cluster"
  log "logs in $WORK; Ctrl-C stops the three nodes"
  wait
  exit 0
fi
[ "$MODE" = bench ] || { log "unknown mode '$MODE' (up or bench)"; exit 2; }

VALUE='{"name":"Elena Novak","email":"elena@example.com","plan":"pro","active":true,"score":12345,"tags":["a","b"]}'
key_of() { printf 'user%06d' "$1"; }

# PUTs COUNT keys at PATH through NAME, 32 at a time over reused connections.
seed() { # name path count
  local cfg=$WORK/seed.curl
  awk -v url="http://127.0.0.1:${HTTP[$1]}/_data/$2" -v user="$SYS" -v value="$VALUE" -v count="$3" 'BEGIN {
    gsub(/"/, "\\\"", value)
    for (i = 0; i < count; i++) {
      if (i > 0) print "next"
      printf "url = \"%s\"\nrequest = \"PUT\"\nuser = \"%s\"\nheader = \"Content-Type: application/json\"\n", url, user
      printf "data = \"{\\\"k\\\":\\\"user%06d\\\",\\\"v\\\":%s}\"\noutput = \"/dev/null\"\nfail-with-body\n", i, value
    }
  }' >"$cfg"
  curl -sS --no-progress-meter --parallel --parallel-max 32 -K "$cfg"
}

# The partition of a path: the _ver_ of a write packs it (bits 37..46; see Kv4.Engine/Model/VersionId.cs). A
# benchmark may look; a client must not.
partition_of() { # name path
  local version
  version=$(curl -fsS -u "$SYS" -X PUT -H 'Content-Type: application/json' -d '{"k":"probe","v":1}' \
    "http://127.0.0.1:${HTTP[$1]}/_data/$2" | jq -r '.v._ver_')
  echo $(( (version >> 37) & 1023 ))
}
primary_of() { cluster_get "$1" /partitions | jq -r --argjson p "$2" '.v[] | select(.partition == $p) | .primary'; }

requests_file() { # get|put -> prints the file name
  local file=$WORK/req-$1
  awk -v kind="$1" -v value="$VALUE" -v count="$KEYS" 'BEGIN {
    for (i = 0; i < count; i++)
      if (kind == "get") printf "GET\t/_data/bench/users?k=user%06d\n", i
      else printf "PUT\t/_data/bench/users\t{\"k\":\"user%06d\",\"v\":%s}\n", i, value
  }' >"$file"
  echo "$file"
}

run_wrk() { # name requests-file duration -> RESULT fields
  wrk -t1 -c"$CONNECTIONS" -d"$3" --timeout 10s -H "Authorization: Basic $(printf '%s' "$SYS" | base64 -w0)" \
    -H 'Content-Type: application/json' -s "$ROOT/bench/wrk/requests.lua" "http://127.0.0.1:${HTTP[$1]}" -- "$2" | sed -n 's/^RESULT //p'
}

mkdir -p "$OUT"
STAMP=$(date -u +%Y%m%d-%H%M%S)
TSV=$WORK/rates.tsv
: >"$TSV"
GET_REQUESTS=$(requests_file get)
PUT_REQUESTS=$(requests_file put)

measure() { # label node
  [ -n "${SKIP_RATES:-}" ] && return 0
  local round scenario file result
  for scenario in put get; do
    [ "$scenario" = put ] && file=$PUT_REQUESTS || file=$GET_REQUESTS
    run_wrk "$2" "$file" 2s >/dev/null
    for ((round = 1; round <= ROUNDS; round++)); do
      result=$(run_wrk "$2" "$file" "$DURATION")
      printf '%s\t%s\t%s\n' "$scenario" "$1" "$(tr ' ' '\t' <<<"$result")" >>"$TSV"
      log "$scenario $1: $(awk '{printf "%.0f req/s, p50 %.2f ms, p99 %.2f ms, non-2xx %d", $1/$2, $3/1000, $4/1000, $5}' <<<"$result")"
    done
  done
}

# --- one node ----------------------------------------------------------------------------------------
HTTP[solo]=$(free_port); DATA[solo]=$WORK/solo
start solo; wait_ready solo
seed solo bench/users "$KEYS"
measure "one node" solo
kill "${PID[solo]}"; wait "${PID[solo]}" 2>/dev/null || true; unset 'PID[solo]'

# --- three nodes -------------------------------------------------------------------------------------
start_cluster n1 n2 n3
wait_settled n1
seed n1 bench/users "$KEYS"
P=$(partition_of n1 bench/users)
PRIMARY=$(primary_of n1 "$P")
OTHER=$(first_of "$PRIMARY" n1 n2 n3)
log "bench/users is partition $P, led by $PRIMARY; $OTHER forwards to it"
measure "3 nodes, at the primary" "$PRIMARY"
measure "3 nodes, through another node" "$OTHER"

# --- failovers: kill -9 the primary of bench/users, time until a PUT through another node succeeds ----------
FAILOVERS=()
for ((k = 1; k <= KILLS; k++)); do
  wait_settled "$OTHER"
  PRIMARY=$(primary_of "$OTHER" "$P")
  SURVIVOR=$(first_of "$PRIMARY" n1 n2 n3)
  killed_at=$(now_ms)
  kill -9 "${PID[$PRIMARY]}"; wait "${PID[$PRIMARY]}" 2>/dev/null || true
  until curl -fsS -o /dev/null --max-time 10 -u "$SYS" -X PUT -H 'Content-Type: application/json' \
      -d "{\"k\":\"failover\",\"v\":$k}" "http://127.0.0.1:${HTTP[$SURVIVOR]}/_data/bench/users" 2>/dev/null; do
    sleep 0.01
  done
  took=$(( $(now_ms) - killed_at ))
  FAILOVERS+=("$took")
  log "failover $k: $PRIMARY killed, a PUT through $SURVIVOR succeeded after $took ms"
  launch "$PRIMARY"; wait_ready "$PRIMARY"; OTHER=$SURVIVOR
done
wait_settled n1

# --- the move of a partition: a fourth node, a partition of KEYS_MOVE keys, one of its replicas decommissioned --
HTTP[n4]=$(free_port); PEER[n4]=$(free_port); DATA[n4]=$WORK/n4
start n4 --Kv4:Cluster:Name=n4 --Kv4:Cluster:Listen="127.0.0.1:${PEER[n4]}" --Kv4:Cluster:Join="127.0.0.1:${PEER[n1]}"
wait_ready n4
wait_settled n1
# Written now, the big partition's records are on three of the four nodes; the fourth has never had any of them.
seed n1 bench/big "$KEYS_MOVE"
BIG=$(partition_of n1 bench/big)
HOLDERS=$(cluster_get n1 /partitions | jq -r --argjson p "$BIG" '.v[] | select(.partition == $p) | [.primary] + .replicas | join(" ")')
LEAVER=$(first_of n1 $HOLDERS)
NEWCOMER=$(first_of "$HOLDERS" n1 n2 n3 n4)
moving_before=$(cluster_get n1 "" | jq -r '.v.moving')
moved_at=$(now_ms)
curl -fsS -o /dev/null -u "$SYS" -X DELETE "http://127.0.0.1:${HTTP[n1]}/_cluster/nodes?k=$LEAVER"
until cluster_get n1 /partitions | jq -e --argjson p "$BIG" --arg n "$NEWCOMER" \
    '.v[] | select(.partition == $p) | (.in_sync | index($n)) != null' >/dev/null 2>&1; do sleep 0.05; done
MOVE_BIG=$(( $(now_ms) - moved_at ))
until [ "$(cluster_get n1 "" | jq -r '.v.moving')" = 0 ] && ! cluster_get n1 "" | jq -e --arg n "$LEAVER" '.v.members[] | select(.name == $n)' >/dev/null; do sleep 0.05; done
MOVE_ALL=$(( $(now_ms) - moved_at ))
MOVED=$(cluster_get n1 /partitions | jq '[.v[]] | length')
log "decommissioned $LEAVER: partition $BIG ($KEYS_MOVE keys) in sync on $NEWCOMER after $MOVE_BIG ms; $LEAVER gone after $MOVE_ALL ms"
count=$(curl -fsS -u "$SYS" "http://127.0.0.1:${HTTP[$NEWCOMER]}/_data/bench/big?k=$(key_of $((KEYS_MOVE - 1)))" | jq -r '.s')
[ "$count" = ok ] || { log "the last key of bench/big is not readable after the move"; exit 1; }

# --- report ----------------------------------------------------------------------------------------------
MD=$OUT/cluster-$STAMP.md
{
  echo "### Cluster: one node against three ($STAMP UTC)"
  echo
  echo "bench/cluster.sh bench: durability $DURABILITY, replicas 3, wrk -t1 -c$CONNECTIONS -d$DURATION, $ROUNDS round(s), $KEYS keys at one path (one partition)."
  echo "Machine: $(nproc) cores for all nodes and wrk together; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  awk -F'\t' '
    { k = $1 SUBSEP $2; if (!(k in n)) order[++m] = k; rps[k] += $3 / $4; p50[k] += $5; p99[k] += $6; n[k]++; bad[k] += $7 + $8 }
    END {
      printf "| request | where | requests/s | p50 ms | p99 ms | errors | of one node |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |\n"
      for (i = 1; i <= m; i++) {
        k = order[i]; split(k, f, SUBSEP); base = f[1] SUBSEP "one node"
        printf "| %s | %s | %.0f | %.2f | %.2f | %d | %.2fx |\n", toupper(f[1]), f[2], rps[k] / n[k], p50[k] / n[k] / 1000, p99[k] / n[k] / 1000, bad[k], (rps[k] / n[k]) / (rps[base] / n[base])
      }
    }' "$TSV"
  echo
  if [ ${#FAILOVERS[@]} -gt 0 ]; then
  sorted=$(printf '%s\n' "${FAILOVERS[@]}" | sort -n)
  echo "Failover (kill -9 of the primary until a PUT through another node succeeds), ${#FAILOVERS[@]} kills: $(tr '\n' ' ' <<<"$sorted")ms;" \
       "median $(sed -n "$(( (${#FAILOVERS[@]} + 1) / 2 ))p" <<<"$sorted") ms, max $(tail -1 <<<"$sorted") ms."
  fi
  echo
  echo "Move: decommissioning $LEAVER of 4 nodes moves its replicas ($moving_before moving before, $MOVED partitions); partition $BIG with $KEYS_MOVE keys was in sync on $NEWCOMER after $MOVE_BIG ms, and $LEAVER had left after $MOVE_ALL ms."
} | tee "$MD"
log "wrote $MD"
