#!/usr/bin/env bash
# Convergence benchmarks: lambda-xds against the bare replay server, same clients, same machine.
#
#   scripts/bench.sh [--quick|--full] [--no-build]
#   BENCH_COUNTS="1 100 1000" scripts/bench.sh --full    # other client counts (ascending)
#   BENCH_CONFIG=debug scripts/bench.sh --quick --no-build  # the test command's smoke run: the
#                                   # debug products `swift build` made; lambda-xds-bench skipped
#
# Builds the release products, generates a mesh (lambda-xds-loadgen catalog), starts
# `lambda-xds serve` on CPU 0 and the simulated Envoys on CPU 1, and measures: cold-start storms,
# convergence after a one-proxy and an all-proxy change (with --debounce 0 and 100 when serve has
# that flag; the all-proxy change also over delta ADS), memory kept across ten changes, idle
# memory per connected proxy, server CPU per delivered response; then the same
# against `lambda-xds-loadgen bare` serving what lambda-xds sent (recorded first); then
# lambda-xds-bench. Prints a table (ours / bare / ratio) and writes bench-results/<timestamp>.json.
# Exit status non-zero when any scenario fails to run (CI uses --quick as a smoke test).
set -euo pipefail

MODE=quick
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 64 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_PATH=${BUILD_PATH:-$ROOT/.build}
CONFIG=${BENCH_CONFIG:-release}
cd "$ROOT"

if [ "$MODE" = quick ]; then
  SERVICES=100 LAMBDAS=20 UPSTREAMS=5 COUNTS=(1 100) REPEAT=3 SETTLE_MS=300 HOLD=2 TIMEOUT=120
else
  SERVICES=1000 LAMBDAS=200 UPSTREAMS=5 COUNTS=(1 100 1000 10000) REPEAT=5 SETTLE_MS=500 HOLD=5 TIMEOUT=600
fi
# BENCH_COUNTS="1 100 1000" overrides the client counts (the mesh has as many sidecars as the largest).
if [ -n "${BENCH_COUNTS:-}" ]; then read -r -a COUNTS <<<"$BENCH_COUNTS"; fi
MAXN=${COUNTS[${#COUNTS[@]}-1]}
SIDECARS=$MAXN

# 10,000 connections need 10,000 descriptors, in the server and in the clients.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [ "$BUILD" = 1 ]; then
  for product in lambda-xds lambda-xds-loadgen lambda-xds-bench; do
    nice -n 10 swift build -c "$CONFIG" --build-path "$BUILD_PATH" --product "$product"
  done
fi
BIN=$(swift build -c "$CONFIG" --build-path "$BUILD_PATH" --show-bin-path)
SERVE="$BIN/lambda-xds"
LOADGEN="$BIN/lambda-xds-loadgen"
for tool in "$SERVE" "$LOADGEN" "$BIN/lambda-xds-bench"; do
  [ -x "$tool" ] || { echo "missing $tool (build first)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lambda-xds-bench.XXXXXX")
RESULTS="$WORK/results"
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
CLK_TCK=$(getconf CLK_TCK)
SERVER_PID=""

# Every process started here is stopped by its PID.
STARTED=()
cleanup() {
  local status=$?
  for pid in "${STARTED[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    echo "bench: failed (status $status); logs in $WORK" >&2
  elif [ -z "${KEEP_WORK:-}" ]; then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Polls a command until it succeeds, at most $1 seconds.
wait_for() {
  local timeout=$1; shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "timed out after ${timeout}s waiting for: $*"
      return 1
    fi
    sleep 0.05
  done
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
listen_overflows() {
  awk '$1 == "TcpExt:" { if (!header) { for (i = 2; i <= NF; i++) if ($i == "ListenOverflows") col = i; header = 1 } else { print $col; exit } }' /proc/net/netstat
}

HELP=$("$SERVE" serve --help 2>&1 || true)
HAS_DEBOUNCE=0
HAS_BACKLOG=0
grep -q -- '--debounce' <<<"$HELP" && HAS_DEBOUNCE=1
grep -q -- '--xds-backlog' <<<"$HELP" && HAS_BACKLOG=1
DEBOUNCES=(0)
[ "$HAS_DEBOUNCE" = 1 ] && DEBOUNCES=(0 100)

log "mode $MODE: $SERVICES services, $LAMBDAS Lambdas, $SIDECARS sidecars x $UPSTREAMS upstreams; N = ${COUNTS[*]}; work dir $WORK"
CATALOG="$WORK/catalog.json"
NODES="$WORK/nodes.txt"
taskset -c 1 "$LOADGEN" catalog --services "$SERVICES" --lambdas "$LAMBDAS" --sidecars "$SIDECARS" \
  --upstreams "$UPSTREAMS" --out "$CATALOG" --nodes-out "$NODES"
LAST_NODE=$(tail -n 1 "$NODES")
echo app-0-sidecar-proxy >"$WORK/affected-one.txt"
grep -- '-sidecar-proxy$' "$NODES" >"$WORK/affected-all.txt"

# Starts `lambda-xds serve` on CPU 0 with debounce $1; sets SERVER_PID and XDS.
start_ours() {
  local debounce=$1
  local xds_port admin_port
  xds_port=$(free_port)
  admin_port=$(free_port)
  local flags=(--catalog-file "$CATALOG" --xds-address "127.0.0.1:$xds_port" --admin-address "127.0.0.1:$admin_port" --log-level warning)
  [ "$HAS_DEBOUNCE" = 1 ] && flags+=(--debounce "$debounce")
  [ "$HAS_BACKLOG" = 1 ] && flags+=(--xds-backlog 4096)
  taskset -c 0 "$SERVE" serve "${flags[@]}" >>"$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  STARTED+=("$SERVER_PID")
  XDS="127.0.0.1:$xds_port"
  # Ready once the admin API answers and the last proxy of the mesh has its configuration.
  wait_for 120 curl -sf "http://127.0.0.1:$admin_port/healthz"
  wait_for 300 curl -sf "http://127.0.0.1:$admin_port/v1/proxies/$LAST_NODE/status"
}

# Starts the bare server on CPU 0 with recording $1; sets SERVER_PID and XDS.
start_bare() {
  local port
  port=$(free_port)
  taskset -c 0 "$LOADGEN" bare --listen "127.0.0.1:$port" --recording "$1" >"$WORK/bare.out" 2>>"$WORK/bare.log" &
  SERVER_PID=$!
  STARTED+=("$SERVER_PID")
  XDS="127.0.0.1:$port"
  wait_for 120 grep -q '^listening on' "$WORK/bare.out"
}

# Forgets a PID once its process has been waited for (so the EXIT trap never signals a reused PID).
forget() {
  local kept=() pid
  for pid in "${STARTED[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  STARTED=("${kept[@]}")
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  forget "$SERVER_PID"
  SERVER_PID=""
}

# Waits (at most 10 s) until the server has used at most one clock tick of CPU in half a second,
# so a run does not measure the tail of the one before (10,000 streams closing take the server
# a few hundred ms, as does returning their memory).
wait_quiet() {
  local deadline=$((SECONDS + 10)) before after
  before=$(cpu_ticks "$SERVER_PID")
  while [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.5
    after=$(cpu_ticks "$SERVER_PID")
    [ $((after - before)) -le 1 ] && return 0
    before=$after
  done
  log "the server did not go quiet within 10 s"
}

# Runs the loadgen on CPU 1; $1 is the JSON result name, the rest its arguments.
loadgen_run() {
  local name=$1; shift
  wait_quiet
  log "run $name"
  taskset -c 1 "$LOADGEN" run --server "$XDS" --nodes "$NODES" --settle-ms "$SETTLE_MS" --timeout "$TIMEOUT" --label "$name" \
    --json "$RESULTS/$name.json" "$@" | tee -a "$WORK/summary.txt"
}

# storm at each N; server CPU and listen overflows around the largest one.
storms() {
  local side=$1
  for n in "${COUNTS[@]}"; do
    local overflows_before cpu_before
    overflows_before=$(listen_overflows)
    cpu_before=$(cpu_ticks "$SERVER_PID")
    loadgen_run "$side-storm-$n" --scenario storm --count "$n"
    local cpu_after overflows_after
    cpu_after=$(cpu_ticks "$SERVER_PID")
    overflows_after=$(listen_overflows)
    echo "{\"listenOverflows\": $((overflows_after - overflows_before)), \"serverCPUSeconds\": $(python3 -c "print(($cpu_after - $cpu_before) / $CLK_TCK)")}" \
      >"$RESULTS/$side-storm-$n.server.json"
  done
}

# idle RSS with no client, then with MAXN connected and settled.
idle_memory() {
  local side=$1
  local rss0 rssk ready="$WORK/$side-idle.ready"
  wait_quiet
  rss0=$(rss_kib "$SERVER_PID")
  rm -f "$ready"
  taskset -c 1 "$LOADGEN" run --server "$XDS" --nodes "$NODES" --scenario idle --count "$MAXN" \
    --settle-ms "$SETTLE_MS" --timeout "$TIMEOUT" --hold "$HOLD" --ready-file "$ready" --label "$side-idle" \
    --json "$RESULTS/$side-idle.json" >>"$WORK/summary.txt" &
  local pid=$!
  STARTED+=("$pid")
  wait_for "$TIMEOUT" test -e "$ready"
  rssk=$(rss_kib "$SERVER_PID")
  wait "$pid"
  forget "$pid"
  echo "{\"rssIdleKiB\": $rss0, \"rssConnectedKiB\": $rssk, \"connected\": $MAXN}" >"$RESULTS/$side-idle.server.json"
  log "$side idle: ${rss0} KiB with none, ${rssk} KiB with $MAXN connected"
}

# --- ours -----------------------------------------------------------------------------------
for debounce in "${DEBOUNCES[@]}"; do
  start_ours "$debounce"
  if [ "$debounce" = 0 ]; then
    idle_memory ours
    storms ours
  fi
  for change in one all; do
    loadgen_run "ours-converge-$change-d$debounce" --scenario converge --count "$MAXN" \
      --catalog "$CATALOG" --change "$change" --repeat "$REPEAT"
  done
  if [ "$debounce" = 0 ]; then
    # The same all-proxy change over delta ADS (each stream gets only what changed).
    loadgen_run "ours-converge-all-delta-d0" --scenario converge --count "$MAXN" \
      --catalog "$CATALOG" --change all --repeat "$REPEAT" --delta
    # Memory kept across changes: RSS after one all-proxy change, then after ten more.
    loadgen_run "ours-growth-first" --scenario converge --count "$MAXN" --catalog "$CATALOG" --change all --repeat 1
    rss_first=$(rss_kib "$SERVER_PID")
    loadgen_run "ours-growth-ten" --scenario converge --count "$MAXN" --catalog "$CATALOG" --change all --repeat 10
    rss_ten=$(rss_kib "$SERVER_PID")
    echo "{\"rssAfterOneKiB\": $rss_first, \"rssAfterTenMoreKiB\": $rss_ten, \"proxies\": $MAXN}" >"$RESULTS/ours-growth.server.json"
    log "ours growth: ${rss_first} KiB after one change, ${rss_ten} KiB after ten more ($MAXN proxies)"
  fi
  stop_server
done

# --- record what ours sends, then bare ---------------------------------------------------------
start_ours 0
for change in one all; do
  log "record $change"
  taskset -c 1 "$LOADGEN" record --server "$XDS" --nodes "$NODES" --out "$WORK/ours-$change.rec" \
    --catalog "$CATALOG" --change "$change" --settle-ms "$SETTLE_MS" --timeout "$TIMEOUT"
done
stop_server

start_bare "$WORK/ours-all.rec"
idle_memory bare
storms bare
loadgen_run "bare-converge-all-d0" --scenario converge --count "$MAXN" \
  --change-command "kill -USR1 $SERVER_PID" --affected-file "$WORK/affected-all.txt" --repeat "$REPEAT"
stop_server
start_bare "$WORK/ours-one.rec"
loadgen_run "bare-converge-one-d0" --scenario converge --count "$MAXN" \
  --change-command "kill -USR1 $SERVER_PID" --affected-file "$WORK/affected-one.txt" --repeat "$REPEAT"
stop_server

# --- translation figures ------------------------------------------------------------------------
log "lambda-xds-bench"
if [ "$CONFIG" = release ]; then
  taskset -c 0 "$BIN/lambda-xds-bench" | tee "$RESULTS/translation.txt"
else
  echo "skipped: a $CONFIG build's translation figures mean nothing" | tee "$RESULTS/translation.txt"
fi

# --- table and JSON -----------------------------------------------------------------------------
mkdir -p "$ROOT/bench-results"
OUT="$ROOT/bench-results/$STAMP.json"
python3 - "$RESULTS" "$OUT" "$MODE" "$MAXN" "${COUNTS[*]}" "${DEBOUNCES[*]}" <<'PY'
import glob, json, os, platform, sys
results, out, mode, maxn, counts, debounces = sys.argv[1:7]
counts = [int(c) for c in counts.split()]
data = {}
for path in glob.glob(os.path.join(results, "*.json")):
    with open(path) as f:
        data[os.path.basename(path)[:-5]] = json.load(f)
with open(os.path.join(results, "translation.txt")) as f:
    translation = [line.rstrip() for line in f if line.strip()]

def get(name, *keys):
    value = data.get(name)
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value

rows = []
def row(label, ours, bare, unit):
    ratio = ours / bare if isinstance(ours, (int, float)) and isinstance(bare, (int, float)) and bare else None
    rows.append((label, ours, bare, ratio, unit))

for n in counts:
    for stat in ("p50Ms", "p99Ms", "maxMs"):
        row(f"storm N={n} ready {stat[:-2]}", get(f"ours-storm-{n}", "storm", "ready_ms", stat), get(f"bare-storm-{n}", "storm", "ready_ms", stat), "ms")
    row(f"storm N={n} listen overflows", get(f"ours-storm-{n}.server", "listenOverflows"), get(f"bare-storm-{n}.server", "listenOverflows"), "")

def converge(name):
    rounds = get(name, "converge") or []
    firsts = [r["first_ms"] for r in rounds if r["first_ms"]["count"]]
    if not firsts: return None, None
    p50 = sorted(f["p50Ms"] for f in firsts)[len(firsts) // 2]
    p99 = max(f["p99Ms"] for f in firsts)
    return p50, p99

for debounce in debounces.split():
    for change in ("one", "all"):
        o50, o99 = converge(f"ours-converge-{change}-d{debounce}")
        b50, b99 = converge(f"bare-converge-{change}-d0")
        row(f"converge {change} (debounce {debounce}) p50", o50, b50, "ms")
        row(f"converge {change} (debounce {debounce}) p99", o99, b99, "ms")

o50, o99 = converge("ours-converge-all-delta-d0")
row("converge all over delta (debounce 0) p50", o50, None, "ms")
row("converge all over delta (debounce 0) p99", o99, None, "ms")

growth = data.get("ours-growth.server")
row(f"RSS growth over 10 all-proxy changes (N={maxn}, after the clients left)",
    (growth["rssAfterTenMoreKiB"] - growth["rssAfterOneKiB"]) / 1024 if growth else None, None, "MiB")

def per_proxy(side):
    s = data.get(f"{side}-idle.server")
    if not s or not s["connected"]: return None
    return (s["rssConnectedKiB"] - s["rssIdleKiB"]) / s["connected"]
row(f"idle memory per connected proxy (N={maxn})", per_proxy("ours"), per_proxy("bare"), "KiB")
row("idle RSS with no proxy", get("ours-idle.server", "rssIdleKiB"), get("bare-idle.server", "rssIdleKiB"), "KiB")

def cpu_per_response(side):
    s = data.get(f"{side}-storm-{maxn}.server"); r = data.get(f"{side}-storm-{maxn}")
    if not s or not r or not r["responses"]: return None
    return s["serverCPUSeconds"] / r["responses"] * 1e6
row(f"server CPU per delivered response (storm N={maxn})", cpu_per_response("ours"), cpu_per_response("bare"), "us")

def show(value):
    if value is None: return "-"
    if isinstance(value, float): return f"{value:.2f}"
    return str(value)
print()
print(f"{'figure':52} {'ours':>10} {'bare':>10} {'ratio':>7}")
for label, ours, bare, ratio, unit in rows:
    print(f"{label + (' (' + unit + ')' if unit else ''):52} {show(ours):>10} {show(bare):>10} {show(ratio):>7}")
print()
for line in translation: print(line)

with open(out, "w") as f:
    json.dump({"mode": mode, "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
               "table": [{"figure": l, "ours": o, "bare": b, "ratio": r, "unit": u} for l, o, b, r, u in rows],
               "runs": data, "translation": translation}, f, indent=2, sort_keys=True)
print(f"\nwritten {out}")
PY
