#!/usr/bin/env bash
# Fleet cache benchmark: a Zipf-skewed mix of anonymous reads, once with the cache off and once
# with it on, each against a freshly started server on a fresh copy of the seeded data set, plus
# a GET /health/live ceiling run. Results go to bench/results/cache-<timestamp>/: the raw wrk
# outputs, /metrics scrapes, meta.tsv, summary.json, summary.md and (with matplotlib) cache.png.
#
# Usage: bench/cache.sh [options]
#   --duration 20s          measured wrk run length
#   --warmup 10s            unmeasured wrk run before each measured one (0 disables)
#   --connections 64        wrk connections
#   --threads 2             wrk threads
#   --timeout 30s           wrk timeout; slower replies count as socket errors, not latency
#   --zipf 1.1              Zipf exponent of the popularity of articles, users, tags and pages
#   --paths 200000          request paths to generate (walked in order, wrapping around)
#   --seed 42               random seed of the path list
#   --port 8089             first port to try for the server (the next free one is used)
#   --users 10000           users to seed when no data set exists yet
#   --articles 100000       articles to seed when no data set exists yet
#   --bcrypt-cost 12        auth.bcrypt.cost given to `fleet seed` and `fleet serve`
#   --keep-data             keep each run's copy of the data set and the path list
#
# Environment: FLEET_BIN=/path/to/fleet (default .build/release/fleet; never builds);
#              FLEET_BENCH_SETTINGS="--database-url postgres://... --redis-url redis://..." passes
#              settings to seed and serve; paths then come from PostgreSQL through psql;
#              BENCH_RESULTS_DIR=dir holds results and the seeded data set (default bench/results).
# Mix (bench/lib/zipf_paths.py): 60% GET /api/articles/{slug} (newest first), 15% GET
# /api/profiles/{username}, 10% GET /api/articles?tag=..&limit=20, 10% list pages 0..49, 5% GET /api/tags.
# Exit status: 0 all good; 3 some measured run had non-2xx replies; 4 a wrk run produced no
#              result; 5 the server died.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib/common.sh
source "$BENCH_DIR/lib/common.sh"
REPO_DIR="$(dirname "$BENCH_DIR")"

DURATION=20s
WARMUP=10s
CONNECTIONS=64
THREADS=2
TIMEOUT=30s
ZIPF=1.1
PATH_COUNT=200000
SEED=42
PORT=8089
USERS=10000
ARTICLES=100000
BCRYPT_COST=12
KEEP_DATA=0

warn() { printf '!! %s\n' "$*" >&2; }

while (($#)); do
  case $1 in
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --warmup) WARMUP=${2:?--warmup needs a value}; shift 2 ;;
    --connections) CONNECTIONS=${2:?--connections needs a value}; shift 2 ;;
    --threads) THREADS=${2:?--threads needs a value}; shift 2 ;;
    --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
    --zipf) ZIPF=${2:?--zipf needs a value}; shift 2 ;;
    --paths) PATH_COUNT=${2:?--paths needs a value}; shift 2 ;;
    --seed) SEED=${2:?--seed needs a value}; shift 2 ;;
    --port) PORT=${2:?--port needs a value}; shift 2 ;;
    --users) USERS=${2:?--users needs a value}; shift 2 ;;
    --articles) ARTICLES=${2:?--articles needs a value}; shift 2 ;;
    --bcrypt-cost) BCRYPT_COST=${2:?--bcrypt-cost needs a value}; shift 2 ;;
    --keep-data) KEEP_DATA=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done
for n in CONNECTIONS THREADS PATH_COUNT SEED PORT USERS ARTICLES BCRYPT_COST; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "--$(tr '[:upper:]_' '[:lower:]-' <<<"${n/PATH_COUNT/PATHS}") must be a whole number, got '${!n}'"
done
[[ $ZIPF =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--zipf must be a number, got '$ZIPF'"
((CONNECTIONS > 0 && THREADS > 0 && PATH_COUNT > 0)) || die "--connections, --threads and --paths must be positive"
if ((THREADS > CONNECTIONS)); then THREADS=$CONNECTIONS; fi

need_wrk
for tool in curl python3 awk; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

FLEET_BIN=${FLEET_BIN:-$REPO_DIR/.build/release/fleet}
[[ -x $FLEET_BIN ]] || die "no executable at $FLEET_BIN: build it (swift build -c release) or set FLEET_BIN=/path/to/fleet"
DATABASE_URL=""
if [[ " ${FLEET_BENCH_SETTINGS:-} " =~ [[:space:]]--database-url[=[:space:]]+([^[:space:]]+) ]]; then
  DATABASE_URL=${BASH_REMATCH[1]}
fi

# ---------------------------------------------------------------------------------------------
# Helpers: server start/stop (bench/lib/server.sh), then this script's own.

# shellcheck source=bench/lib/server.sh
source "$BENCH_DIR/lib/server.sh"

# run_wrk DURATION SCRIPT URL OUTPUT: one wrk run.
run_wrk() {
  env BENCH_PATHS="$PATHS_FILE" BENCH_THREADS="$THREADS" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1" --timeout "$TIMEOUT" --latency \
    -s "$BENCH_DIR/wrk/$2" "$3" >"$4" 2>&1 || warn "wrk exited with an error (see $4)"
}

# One-line digest of a wrk result file.
digest() {
  python3 - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("BENCH_JSON "):
        r = json.loads(line[11:])
        l = r["latency_ms"]
        print(f'    {r["rps"]:>10,.1f} req/s   p50 {l["p50"]:.2f} ms   p99 {l["p99"]:.2f} ms   '
              f'non-2xx {r["non2xx"]}   socket errors {sum(r["errors"].values())}')
        break
else:
    print("    (no result: wrk failed, see the raw output)")
PY
}

# measure NAME LABEL SCRIPT PATH: warm-up, then the measured run between two /metrics scrapes.
# Returns 1 when the server died.
measure() {
  local name=$1 label=$2 script=$3 path=$4
  if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
    echo "==> $label: warm-up ($WARMUP, unmeasured)"
    run_wrk "$WARMUP" "$script" "$BASE_URL$path" "$OUT/$name.warmup.txt"
  fi
  echo "==> $label: measured run ($DURATION, $THREADS threads, $CONNECTIONS connections)"
  curl -fsS --max-time 10 -o "$OUT/$name.metrics-before.txt" "$METRICS_URL/metrics" || warn "could not scrape /metrics"
  run_wrk "$DURATION" "$script" "$BASE_URL$path" "$OUT/$name.txt"
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    warn "THE SERVER DIED during '$label'; last lines of its log:"
    tail -n 30 "$SERVER_LOG" >&2
    SERVER_PID=""
    return 1
  fi
  curl -fsS --max-time 10 -o "$OUT/$name.metrics-after.txt" "$METRICS_URL/metrics" || warn "could not scrape /metrics"
  digest "$OUT/$name.txt"
  if grep -q 'Non-2xx or 3xx responses' "$OUT/$name.txt"; then
    warn "'$label' had non-2xx replies: $(grep 'Non-2xx or 3xx responses' "$OUT/$name.txt")"
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$label" "$name.txt" "$name.metrics-before.txt" "$name.metrics-after.txt" >>"$OUT/runs.tsv"
}

# ---------------------------------------------------------------------------------------------
# 1. Load check: another build or benchmark on this machine skews everything.

CPUS=$(nproc)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "==> Load: $(uptime)"
if awk -v l="${LOAD_BEFORE%% *}" -v c="$CPUS" 'BEGIN { exit !(l > c / 2) }'; then
  warn "1-minute load ${LOAD_BEFORE%% *} on $CPUS CPUs: the machine is busy, results will be noisy"
fi
if pgrep -x swift-build >/dev/null || pgrep -x swift-frontend >/dev/null; then
  warn "a Swift build is running right now: results will be noisy"
fi
echo "==> Binary: $FLEET_BIN"

# ---------------------------------------------------------------------------------------------
# 2. Data set: the one bench/run.sh seeded, or seeded here the same way.

mkdir -p "$RESULTS_DIR"
if [[ -f $SEED_DIR/.seeded ]]; then
  echo "==> Data set: reusing $SEED_DIR ($(tr '\t\n' ' ,' <"$SEED_DIR/.seeded"))"
else
  echo "==> Seeding $USERS users and $ARTICLES articles: fleet seed --data-dir $SEED_DIR"
  rm -rf "$SEED_DIR"
  mkdir -p "$SEED_DIR"
  # shellcheck disable=SC2086
  "$FLEET_BIN" seed --data-dir "$SEED_DIR" --users "$USERS" --articles "$ARTICLES" ${FLEET_BENCH_SETTINGS:-} \
    --auth-bcrypt-cost "$BCRYPT_COST" 2>&1 | tee "$RESULTS_DIR/seed.log"
  printf 'users\t%s\narticles\t%s\nseeded_by\t%s\n' "$USERS" "$ARTICLES" "fleet seed (bench/cache.sh)" >"$SEED_DIR/.seeded"
fi

# ---------------------------------------------------------------------------------------------
# 3. Results folder, path list and meta.tsv

TIMESTAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$RESULTS_DIR/cache-$TIMESTAMP"
mkdir -p "$OUT"
: >"$OUT/runs.tsv"
PATHS_FILE="$TMP/paths.txt"
if [[ -n $DATABASE_URL ]]; then
  SOURCE=(--database-url "$DATABASE_URL")
  echo "==> Path list: $PATH_COUNT paths, Zipf s=$ZIPF, items read from PostgreSQL with psql"
else
  SOURCE=(--sqlite "$SEED_DIR/fleet.sqlite")
  echo "==> Path list: $PATH_COUNT paths, Zipf s=$ZIPF, items read from $SEED_DIR/fleet.sqlite"
fi
python3 "$BENCH_DIR/lib/zipf_paths.py" "${SOURCE[@]}" --out "$PATHS_FILE" --count "$PATH_COUNT" \
  --zipf "$ZIPF" --seed "$SEED" >"$TMP/paths.tsv" || die "could not generate the path list"
sed -n 's/^distinct\t/    distinct items: /p' "$TMP/paths.tsv"
if ((KEEP_DATA)); then cp "$PATHS_FILE" "$OUT/paths.txt"; fi

COMMIT=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$REPO_DIR" status --porcelain --untracked-files=no 2>/dev/null) ]]; then COMMIT+="-dirty"; fi
{
  printf 'timestamp\t%s\n' "$TIMESTAMP"
  printf 'commit\t%s\n' "$COMMIT"
  printf 'binary\t%s\n' "$FLEET_BIN"
  printf 'settings\t%s\n' "${FLEET_BENCH_SETTINGS:-}"
  printf 'wrk_version\t%s\n' "$(wrk -v 2>&1 | head -n 1 || true)"
  printf 'threads\t%s\n' "$THREADS"
  printf 'connections\t%s\n' "$CONNECTIONS"
  printf 'duration\t%s\n' "$DURATION"
  printf 'warmup\t%s\n' "$WARMUP"
  printf 'timeout\t%s\n' "$TIMEOUT"
  printf 'dataset\t%s\n' "$(tr '\t\n' ' ,' <"$SEED_DIR/.seeded")"
  printf 'cpus\t%s\n' "$CPUS"
  printf 'load_before\t%s\n' "$LOAD_BEFORE"
  cat "$TMP/paths.tsv"   # paths, zipf, paths_seed, mix, distinct
} >"$OUT/meta.tsv"

# ---------------------------------------------------------------------------------------------
# 4. The runs: each on a freshly started server over a fresh copy of the data set.
#    name | label | extra serve settings

RUNS=(
  "off|cache off|--cache-enabled false"
  "on|cache on|"
)
SERVER_DIED=0
for spec in "${RUNS[@]}"; do
  IFS='|' read -r name label settings <<<"$spec"
  echo "==> Server for '$label': fresh copy of the data set${settings:+, $settings}"
  WORK_DATA="$OUT/data-$name"
  cp -a "$SEED_DIR" "$WORK_DATA"
  SERVER_LOG="$OUT/server-$name.log"
  # shellcheck disable=SC2086 # settings is a list of flags
  start_server "$WORK_DATA" "$SERVER_LOG" $settings
  echo "    pid $SERVER_PID at $BASE_URL (log: $SERVER_LOG)"

  # The ceiling, once, on the first server (it touches neither the cache nor the database).
  if [[ $name == off ]]; then
    measure ceiling "ceiling GET /health/live" get.lua /health/live || { SERVER_DIED=1; break; }
  fi

  # One request, twice, to show the Cache-Status header (after the ceiling, before the warm-up).
  probe=$(head -n 1 "$PATHS_FILE")
  for attempt in 1 2; do
    : >"$TMP/headers"
    curl -sS -o /dev/null -D "$TMP/headers" --max-time 10 -H 'Accept: application/json' "$BASE_URL$probe" || true
    status=$(head -n 1 "$TMP/headers" | awk '{ print $2 }')
    cache_status=$(grep -i '^cache-status:' "$TMP/headers" | cut -d' ' -f2- | tr -d '\r' || true)
    echo "    probe $attempt: GET $probe -> ${status:-no reply}, Cache-Status: ${cache_status:-(none)}"
  done
  [[ $status == 2?? ]] || warn "GET $probe answered ${status:-nothing}"

  measure "$name" "$label" paths.lua / || { SERVER_DIED=1; break; }
  stop_server
  if ((KEEP_DATA == 0)); then rm -rf "$WORK_DATA"; fi
  WORK_DATA=""
done
stop_server

# ---------------------------------------------------------------------------------------------
# 5. Summary and plot

echo "==> Summary ($OUT/summary.md)"
status=0
python3 "$BENCH_DIR/lib/cache_summary.py" "$OUT" || status=$?
echo "==> Results: $OUT"
if ((SERVER_DIED)); then
  status=5
  warn "the server died during the run: see $SERVER_LOG"
elif ((status == 3)); then
  warn "some measured run answered non-2xx: that is a bug (see Problems in $OUT/summary.md)"
elif ((status == 4)); then
  warn "some wrk run produced no result: see the raw outputs in $OUT"
elif ((status != 0)); then
  warn "summarizing failed (exit status $status)"
fi
exit "$status"
