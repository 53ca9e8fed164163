#!/usr/bin/env bash
# HTTP load benchmark: Kv4.Server against a bare Kestrel endpoint (the HTTP stack's limit) and etcd
# (through its HTTP/JSON gateway), on this machine, in one run, with the same load generator (wrk)
# and the same concurrency, alternating the targets round by round.
#
#   bench/http.sh                 # the report run: 2 rounds of 10 s per (scenario, target)
#   bench/http.sh --smoke         # a quick check that everything starts and answers (1 round of 2 s)
#
# Knobs (environment): THREADS=1 CONNECTIONS=32 DURATION=10s ROUNDS=2 WARMUP=3s KEYS=1000
#   TARGETS="kv4 bare etcd kv4sync"  SCENARIOS="get put series"  OUT=bench/out  NO_BUILD=1 (reuse Release builds)
#   TRACE=get|put|series: instead of the rounds, load Kv4 with that scenario for DURATION while
#   dotnet-trace (a dotnet tool; installed if missing) samples its CPU, then print the hottest methods.
# kv4sync is a second Kv4 with sync durability, measured on PUT only (etcd acknowledges a put after
# an fsync, so that is the like-for-like durability).
#
# Everything it starts listens on 127.0.0.1 only and is stopped on exit. Results: a markdown table
# on stdout and in $OUT/http-<time>.md, raw lines in $OUT/http-<time>.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh

THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-3s}
KEYS=${KEYS:-1000}
TARGETS=${TARGETS:-"kv4 bare etcd kv4sync"}
SCENARIOS=${SCENARIOS:-"get put series"}
OUT=${OUT:-bench/out}
if [ "${1:-}" = "--smoke" ]; then
  DURATION=2s; ROUNDS=1; WARMUP=1s; KEYS=100
fi

log() { printf '[http.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- tools -------------------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v etcd >/dev/null || missing+=(etcd-server)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  log "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- scratch space and cleanup -------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kv4-http-bench.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


wait_http() { # url, what
  local i
  for i in $(seq 1 240); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  log "$2 did not answer $1 within 60 s; its log:"; cat "$WORK/$2.log" >&2 || true
  exit 1
}

# --- build ---------------------------------------------------------------------------------------
if [ -z "${NO_BUILD:-}" ]; then
  log "building Release"
  dotnet build -c Release -nologo -v q Kv4.Server/Kv4.Server.csproj >"$WORK/build-server.log" 2>&1 || { cat "$WORK/build-server.log"; exit 1; }
  dotnet build -c Release -nologo -v q bench/Kv4.BareKestrel/Kv4.BareKestrel.csproj >"$WORK/build-bare.log" 2>&1 || { cat "$WORK/build-bare.log"; exit 1; }
fi
SERVER_DIR=$ROOT/Kv4.Server/bin/Release/net10.0
BARE_DIR=$ROOT/bench/Kv4.BareKestrel/bin/Release/net10.0

# --- the value every target stores ----------------------------------------------------------------
VALUE='{"name":"Elena Novak","email":"elena@example.com","plan":"pro","active":true,"score":12345,"tags":["a","b"]}'
SERIES_VERSIONS=100
key_of() { printf 'user%06d' "$1"; }
b64() { printf '%s' "$1" | base64 -w0; }

# --- Kv4 -----------------------------------------------------------------------------------------
SYS_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_kv4() { # name durability -> sets KV4_URL_<name>
  local name=$1 durability=$2 port
  port=$(free_port)
  mkdir -p "$WORK/$name-data"
  ( cd "$SERVER_DIR" && KV4_SYS_SECRET="$SYS_SECRET" exec dotnet Kv4.Server.dll \
      --urls "http://127.0.0.1:$port" --Kv4:DataDir="$WORK/$name-data" --Kv4:Durability="$durability" \
      --Logging:LogLevel:Default=Warning ) >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/readyz" "$name"
  printf -v "URL_$name" '%s' "http://127.0.0.1:$port"
  printf -v "PID_$name" '%s' "${PIDS[-1]}"
  log "$name ($durability durability) on port $port, pid ${PIDS[-1]}"
}

# Creates the account "bench" with $sys and logs in as it (falls back to $sys if accounts are not
# there). Sets AUTH_<name> to the Authorization header for that server.
kv4_login() { # name
  local name=$1 base reply secret user pass var
  var="URL_$name"; base=${!var}
  reply=$(curl -sS -u "\$sys:$SYS_SECRET" -X PUT -H 'Content-Type: application/json' \
    -d '{"k":"bench","v":{"email":"bench@example.com","password":"bench-password-1"}}' "$base/_acc/accounts" || true)
  secret=$(printf '%s' "$reply" | sed -n 's/.*"secret":"\([^"]*\)".*/\1/p')
  if [ -n "$secret" ]; then
    user=bench; pass=$secret
  else
    log "account creation answered '${reply:0:200}'; using \$sys"
    user='$sys'; pass=$SYS_SECRET
  fi
  printf -v "AUTH_$name" '%s' "Authorization: Basic $(b64 "$user:$pass")"
  log "$name: logged in as $user"
}

# Seeds KEYS keys at data path bench/users and a key with SERIES_VERSIONS versions at bench/series,
# in one curl process (a config file of requests).
kv4_seed() { # name
  local cfg=$WORK/seed-$1.curl i var base auth
  var="URL_$1"; base=${!var}; var="AUTH_$1"; auth=${!var}
  : >"$cfg"
  for ((i = 0; i < KEYS; i++)); do
    printf 'url = "%s/_data/bench/users"\nrequest = "PUT"\nheader = "%s"\nheader = "Content-Type: application/json"\ndata = "%s"\noutput = "/dev/null"\nnext\n' \
      "$base" "$auth" "$(printf '{"k":"%s","v":%s}' "$(key_of "$i")" "$VALUE" | sed 's/"/\\"/g')" >>"$cfg"
  done
  for ((i = 0; i < SERIES_VERSIONS; i++)); do
    printf 'url = "%s/_data/bench/series"\nrequest = "PUT"\nheader = "%s"\nheader = "Content-Type: application/json"\ndata = "%s"\noutput = "/dev/null"\nnext\n' \
      "$base" "$auth" "$(printf '{"k":"sensor-1","v":{"t":%d,"celsius":21.5,"ok":true}}' "$i" | sed 's/"/\\"/g')" >>"$cfg"
  done
  sed -i '$d' "$cfg"   # no "next" after the last request
  curl -sS --fail-with-body -K "$cfg"
}

# --- bare Kestrel and etcd --------------------------------------------------------------------------
start_bare() {
  local port
  port=$(free_port)
  local replies=() f
  for f in get put series; do
    [ -f "$WORK/reply-$f" ] && replies+=("--Bare:${f^}Reply=$WORK/reply-$f")
  done
  ( cd "$BARE_DIR" && exec dotnet Kv4.BareKestrel.dll --urls "http://127.0.0.1:$port" "${replies[@]}" \
      --Logging:LogLevel:Default=Warning ) >"$WORK/bare.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/healthz" bare
  URL_bare="http://127.0.0.1:$port"
  log "bare Kestrel on port $port"
}

start_etcd() {
  local client peer
  client=$(free_port); peer=$(free_port)
  etcd --name bench --data-dir "$WORK/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "bench=http://127.0.0.1:$peer" --logger zap --log-level error >"$WORK/etcd.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$client/health" etcd
  URL_etcd="http://127.0.0.1:$client"
  log "etcd $(etcd --version | head -1 | awk '{print $3}') on port $client"
}

# etcd has no "history of a key" read in one request (its MVCC revisions are read one range per
# revision, or streamed by a watch), so the time series is modelled the usual etcd way: one key per
# version under a prefix, read back with one prefix range.
etcd_seed() {
  local cfg=$WORK/seed-etcd.curl i
  : >"$cfg"
  for ((i = 0; i < KEYS; i++)); do
    printf 'url = "%s/v3/kv/put"\nrequest = "POST"\ndata = "{\\"key\\":\\"%s\\",\\"value\\":\\"%s\\"}"\noutput = "/dev/null"\nnext\n' \
      "$URL_etcd" "$(b64 "bench/users/$(key_of "$i")")" "$(b64 "$VALUE")" >>"$cfg"
  done
  for ((i = 0; i < SERIES_VERSIONS; i++)); do
    printf 'url = "%s/v3/kv/put"\nrequest = "POST"\ndata = "{\\"key\\":\\"%s\\",\\"value\\":\\"%s\\"}"\noutput = "/dev/null"\nnext\n' \
      "$URL_etcd" "$(b64 "$(printf 'bench/series/sensor-1/%03d' "$i")")" "$(b64 "$(printf '{"t":%d,"celsius":21.5,"ok":true}' "$i")")" >>"$cfg"
  done
  sed -i '$d' "$cfg"   # no "next" after the last request
  curl -sS --fail-with-body -K "$cfg"
}

# The seeded data answers as expected (so etcd's figures are for real reads, not empty ranges).
etcd_check() {
  local one series
  one=$(curl -sS -X POST -d "{\"key\":\"$(b64 "bench/users/$(key_of 0)")\"}" "$URL_etcd/v3/kv/range")
  series=$(curl -sS -X POST -d "{\"key\":\"$(b64 'bench/series/sensor-1/')\",\"range_end\":\"$(b64 'bench/series/sensor-10')\"}" "$URL_etcd/v3/kv/range")
  if [[ $one != *'"count":"1"'* || $series != *"\"count\":\"$SERIES_VERSIONS\""* ]]; then
    log "etcd seed check failed: ${one:0:200} / ${series:0:200}"; exit 1
  fi
  log "etcd get reply: ${#one} bytes, series reply: ${#series} bytes"
}

# --- request lists (METHOD<TAB>PATH<TAB>BODY, read by bench/wrk/requests.lua) -------------------------
write_requests() {
  local i key
  : >"$WORK/req-kv4-get"; : >"$WORK/req-kv4-put"; : >"$WORK/req-etcd-get"; : >"$WORK/req-etcd-put"
  for ((i = 0; i < KEYS; i++)); do
    key=$(key_of "$i")
    printf 'GET\t/_data/bench/users?k=%s\n' "$key" >>"$WORK/req-kv4-get"
    printf 'PUT\t/_data/bench/users\t{"k":"%s","v":%s}\n' "$key" "$VALUE" >>"$WORK/req-kv4-put"
    printf 'POST\t/v3/kv/range\t{"key":"%s"}\n' "$(b64 "bench/users/$key")" >>"$WORK/req-etcd-get"
    printf 'POST\t/v3/kv/put\t{"key":"%s","value":"%s"}\n' "$(b64 "bench/users/$key")" "$(b64 "$VALUE")" >>"$WORK/req-etcd-put"
  done
  printf 'GET\t/_data/bench/series?time_series=1&k=sensor-1\n' >"$WORK/req-kv4-series"
  # range_end = the prefix with its last byte incremented ('/' + 1 = '0'): every key under the prefix.
  printf 'POST\t/v3/kv/range\t{"key":"%s","range_end":"%s"}\n' "$(b64 'bench/series/sensor-1/')" "$(b64 'bench/series/sensor-10')" >"$WORK/req-etcd-series"
}

# Captures Kv4's replies to one request of each scenario; the bare endpoint sends these bytes.
capture_replies() {
  local base=$URL_kv4 AUTH_HEADER=$AUTH_kv4
  curl -sS -H "$AUTH_HEADER" "$base/_data/bench/users?k=$(key_of 0)" -o "$WORK/reply-get"
  curl -sS -H "$AUTH_HEADER" -X PUT -H 'Content-Type: application/json' \
    -d "{\"k\":\"$(key_of 0)\",\"v\":$VALUE}" "$base/_data/bench/users" -o "$WORK/reply-put"
  curl -sS -H "$AUTH_HEADER" "$base/_data/bench/series?time_series=1&k=sensor-1" -o "$WORK/reply-series"
  local f
  for f in get put series; do
    if ! grep -q '"s":"ok"' "$WORK/reply-$f"; then
      log "Kv4 did not answer ok for $f: $(head -c 300 "$WORK/reply-$f")"; exit 1
    fi
    log "Kv4 $f reply: $(wc -c <"$WORK/reply-$f") bytes"
  done
}

# --- load ----------------------------------------------------------------------------------------
# run_wrk target scenario duration -> prints the RESULT line's fields
run_wrk() {
  local target=$1 scenario=$2 duration=$3 url requests headers=()
  case $target in
    kv4|bare) requests=$WORK/req-kv4-$scenario; headers=(-H "$AUTH_kv4" -H 'Content-Type: application/json') ;;
    kv4sync) requests=$WORK/req-kv4-$scenario; headers=(-H "$AUTH_kv4sync" -H 'Content-Type: application/json') ;;
    etcd) requests=$WORK/req-etcd-$scenario; headers=(-H 'Content-Type: application/json') ;;
  esac
  local var="URL_$target"; url=${!var}
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --timeout 10s "${headers[@]}" \
    -s "$ROOT/bench/wrk/requests.lua" "$url" -- "$requests" | sed -n 's/^RESULT //p'
}

applies() { # target scenario: kv4sync is measured on PUT only
  [ "$1" != kv4sync ] || [ "$2" = put ]
}

# --- go --------------------------------------------------------------------------------------------
mkdir -p "$OUT"
STAMP=$(date -u +%Y%m%d-%H%M%S)
TSV=$OUT/http-$STAMP.tsv
MD=$OUT/http-$STAMP.md

log "load average before start: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ " $TARGETS " == *" kv4 "* ]]; then
  start_kv4 kv4 interval
  kv4_login kv4
  kv4_seed kv4
  capture_replies
else
  # Without Kv4 (e.g. checking the peers alone) the bare endpoint sends its stand-in replies.
  AUTH_kv4="Authorization: Basic $(b64 'bench:unused')"
fi
if [[ " $TARGETS " == *" kv4sync "* ]]; then
  start_kv4 kv4sync sync
  kv4_login kv4sync
  kv4_seed kv4sync
fi
[[ " $TARGETS " == *" bare "* ]] && start_bare
[[ " $TARGETS " == *" etcd "* ]] && { start_etcd; etcd_seed; etcd_check; }
write_requests

if [ -n "${TRACE:-}" ]; then
  export PATH="$PATH:$HOME/.dotnet/tools"
  command -v dotnet-trace >/dev/null || dotnet tool install -g dotnet-trace >/dev/null
  kv4_pid=$PID_kv4
  run_wrk kv4 "$TRACE" "$WARMUP" >/dev/null
  mkdir -p "$OUT"
  trace_file=$OUT/trace-$TRACE-$(date -u +%Y%m%d-%H%M%S).nettrace
  seconds=${DURATION%s}
  dotnet-trace collect -p "$kv4_pid" --profile dotnet-sampled-thread-time --duration "00:00:$(printf '%02d' $((seconds + 2)))" -o "$trace_file" >"$WORK/trace.log" 2>&1 &
  trace_pid=$!
  sleep 1
  log "traced $TRACE: $(run_wrk kv4 "$TRACE" "$DURATION" | awk '{printf "%.0f req/s, p50 %.2f ms, p99 %.2f ms", $1/$2, $3/1000, $4/1000}')"
  wait "$trace_pid" || { cat "$WORK/trace.log"; exit 1; }
  echo "## exclusive"; dotnet-trace report "$trace_file" topN -n 40
  echo "## inclusive"; dotnet-trace report "$trace_file" topN -n 60 --inclusive
  log "trace in $trace_file"
  exit 0
fi

log "warm-up: $WARMUP per target and scenario (discarded)"
for scenario in $SCENARIOS; do
  for target in $TARGETS; do applies "$target" "$scenario" && run_wrk "$target" "$scenario" "$WARMUP" >/dev/null; done
done

printf 'round\tscenario\ttarget\trequests\tseconds\tp50_us\tp99_us\tnon_2xx\tsocket_errors\n' >"$TSV"
for ((round = 1; round <= ROUNDS; round++)); do
  for scenario in $SCENARIOS; do
    for target in $TARGETS; do
      applies "$target" "$scenario" || continue
      result=$(run_wrk "$target" "$scenario" "$DURATION")
      [ -n "$result" ] || { log "wrk printed no result for $target $scenario"; exit 1; }
      printf '%s\t%s\t%s\t%s\n' "$round" "$scenario" "$target" "$(tr ' ' '\t' <<<"$result")" >>"$TSV"
      log "round $round $scenario $target: $(awk '{printf "%.0f req/s, p50 %.2f ms, p99 %.2f ms, non-2xx %d, socket errors %d", $1/$2, $3/1000, $4/1000, $5, $6}' <<<"$result")"
    done
  done
done

# --- report: mean over rounds; ratios of requests/s ------------------------------------------------
{
  echo "### HTTP: Kv4 vs bare Kestrel vs etcd ($STAMP UTC)"
  echo
  echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS round(s) alternating targets, $KEYS keys, mean over rounds."
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB;" \
       "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  awk -F'\t' -v targets="$TARGETS" -v scenarios="$SCENARIOS" '
    NR == 1 { next }
    { k = $2 SUBSEP $3; rps[k] += $4 / $5; p50[k] += $6; p99[k] += $7; n[k]++; bad[k] += $8 + $9 }
    END {
      nt = split(targets, T, " "); ns = split(scenarios, S, " ")
      label["get"] = "GET latest (?k=)"; label["put"] = "PUT"; label["series"] = "time series, 100 versions"
      printf "| request | target | requests/s | p50 ms | p99 ms | errors | ratio of requests/s |\n"
      printf "| --- | --- | ---: | ---: | ---: | ---: | ---: |\n"
      for (s = 1; s <= ns; s++) {
        base = S[s] SUBSEP "kv4"
        for (t = 1; t <= nt; t++) {
          k = S[s] SUBSEP T[t]
          if (!(k in n)) continue
          r = rps[k] / n[k]
          ratio = ""
          etcd = S[s] SUBSEP "etcd"
          if (T[t] == "kv4sync" && (etcd in n)) ratio = sprintf("Kv4 sync/etcd %.2fx", r / (rps[etcd] / n[etcd]))
          else if (T[t] != "kv4" && T[t] != "kv4sync" && (base in n)) ratio = sprintf("Kv4/%s %.2fx", T[t], (rps[base] / n[base]) / r)
          printf "| %s | %s | %.0f | %.2f | %.2f | %d | %s |\n", label[S[s]], T[t], r, p50[k] / n[k] / 1000, p99[k] / n[k] / 1000, bad[k], ratio
        }
      }
    }' "$TSV"
} | tee "$MD"
log "wrote $MD and $TSV"
