#!/usr/bin/env bash
# Fleet benchmark: builds the release binary, seeds a data set, starts `fleet serve` on it and
# runs wrk against each endpoint in turn. Results go to bench/results/<timestamp>/: the raw wrk
# output per endpoint, the server's /metrics scraped right before and right after each measured
# run (NN-name.metrics-before.txt / .metrics-after.txt; not around the warm-up), summary.json,
# summary.md and (with matplotlib) latency.png/throughput.png.
# Besides req/s, latency, errors and server CPU, the summary has per endpoint, from the /metrics
# deltas over the measured run ("–" in summary.md and null in summary.json when not applicable):
#   SQL/req        db_client_operation_duration_seconds_count, all label sets but db_system="redis",
#                  divided by the requests wrk completed
#   replica reads  share of db_client_reads_total with db_node="replica" among replica + primary;
#                  only exists when the server has replicas (--database-replica-urls)
#   L1 hit         cache_requests_total layer="l1": hit / (hit + miss + stale), over all caches
#
# Usage: bench/run.sh [options]
#   --duration 10s          wrk run length per endpoint
#   --connections 64        wrk connections
#   --users 10000           users to seed (user1..userN, password "password123")
#   --articles 100000       articles to seed
#   --skip-build            don't build; use the existing release binary
#   --skip-seed             reuse bench/results/data when it was seeded before
#   --login-connections 8   connections for POST /api/users/login (capped at --connections);
#                           each login is one bcrypt verify, so more connections only queue
#   --threads 2             wrk threads
#   --timeout 30s           wrk timeout; slower replies count as socket errors, not latency
#   --warmup 2s             unmeasured wrk run before each GET endpoint (0 disables)
#   --port 8089             first port to try for the server (the next free one is used)
#   --bcrypt-cost 12        auth.bcrypt.cost given to `fleet seed` and `fleet serve`
#   --keep-data             keep the run's copy of the database under the results folder
#
# Environment: FLEET_BIN=/path/to/fleet benchmarks that binary (no build);
#              FLEET_BENCH_SETTINGS="--database-url postgres://..." passes settings to seed and serve
#              (topology T1; use a separate BENCH_RESULTS_DIR per topology); with replicas and Redis:
#              FLEET_BENCH_SETTINGS="--database-url postgres://primary/... --database-replica-urls
#              postgres://replica1/...,postgres://replica2/... --redis-url redis://..." (the replica
#              reads column is only filled in with --database-replica-urls);
#              BENCH_RESULTS_DIR=dir puts results and the seeded data set there (default bench/results).
# Exit status: 0 all good; 3 some endpoint answered non-2xx (a bug, unless only 429/503);
#              4 a wrk run produced no result; 5 the server died during the run.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib/common.sh
source "$BENCH_DIR/lib/common.sh"
REPO_DIR="$(dirname "$BENCH_DIR")"

DURATION=10s
CONNECTIONS=64
USERS=10000
ARTICLES=100000
SKIP_BUILD=0
SKIP_SEED=0
LOGIN_CONNECTIONS=8
THREADS=2
TIMEOUT=30s
WARMUP=2s
PORT=8089
BCRYPT_COST=12
KEEP_DATA=0

# Credentials of the seeded user the benchmark acts as.
BENCH_EMAIL="user1@seed.fleet"
BENCH_PASSWORD="password123"

warn() { printf '!! %s\n' "$*" >&2; }

while (($#)); do
  case $1 in
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --connections) CONNECTIONS=${2:?--connections needs a value}; shift 2 ;;
    --users) USERS=${2:?--users needs a value}; shift 2 ;;
    --articles) ARTICLES=${2:?--articles needs a value}; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --skip-seed) SKIP_SEED=1; shift ;;
    --login-connections) LOGIN_CONNECTIONS=${2:?--login-connections needs a value}; shift 2 ;;
    --threads) THREADS=${2:?--threads needs a value}; shift 2 ;;
    --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
    --warmup) WARMUP=${2:?--warmup needs a value}; shift 2 ;;
    --port) PORT=${2:?--port needs a value}; shift 2 ;;
    --bcrypt-cost) BCRYPT_COST=${2:?--bcrypt-cost needs a value}; shift 2 ;;
    --keep-data) KEEP_DATA=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done
for n in CONNECTIONS USERS ARTICLES LOGIN_CONNECTIONS THREADS PORT BCRYPT_COST; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "--$(tr '[:upper:]_' '[:lower:]-' <<<"$n") must be a whole number, got '${!n}'"
done
((CONNECTIONS > 0 && USERS > 0 && ARTICLES > 0)) || die "--connections, --users and --articles must be positive"
if ((LOGIN_CONNECTIONS > CONNECTIONS)); then LOGIN_CONNECTIONS=$CONNECTIONS; fi

need_wrk
for tool in curl python3 awk; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

# ---------------------------------------------------------------------------------------------
# Helpers: server start/stop (bench/lib/server.sh), then this script's own.

# shellcheck source=bench/lib/server.sh
source "$BENCH_DIR/lib/server.sh"

# api METHOD PATH [BODY] [TOKEN]: one request; the reply body lands in $TMP/body, the status is printed.
api() {
  local args=(-sS -o "$TMP/body" -w '%{http_code}' --max-time 60 -X "$1" -H 'Accept: application/json')
  if [[ -n ${3:-} ]]; then args+=(-H 'Content-Type: application/json' --data-binary "$3"); fi
  if [[ -n ${4:-} ]]; then args+=(-H "Authorization: Token $4"); fi
  : >"$TMP/body"
  curl "${args[@]}" "$BASE_URL$2" || true   # on a connection failure curl prints 000
}

# json_get FILE a.b.0.c: prints that value of a JSON file, or nothing when absent or not JSON.
json_get() {
  python3 - "$1" "$2" <<'PY'
import json, sys
try:
    value = json.load(open(sys.argv[1]))
    for key in sys.argv[2].split("."):
        value = value[int(key)] if isinstance(value, list) else value[key]
    print(json.dumps(value) if isinstance(value, (dict, list)) else value)
except Exception:
    pass
PY
}

LOGIN_BODY="{\"user\":{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\"}}"

# Logs in as user1 and prints the token (nothing on failure).
login_token() {
  local status
  status=$(api POST /api/users/login "$LOGIN_BODY")
  if [[ $status == 200 ]]; then json_get "$TMP/body" user.token; fi
}

# Total number of articles the running server reports (0 when it cannot tell).
article_count() {
  local status count=""
  status=$(api GET '/api/articles?limit=1')
  if [[ $status == 200 ]]; then count=$(json_get "$TMP/body" articlesCount); fi
  echo "${count:-0}"
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

# ---------------------------------------------------------------------------------------------
# 2. Binary

if [[ -n ${FLEET_BIN:-} ]]; then
  echo "==> Binary: FLEET_BIN=$FLEET_BIN (not building)"
elif ((SKIP_BUILD)); then
  FLEET_BIN="$(cd "$REPO_DIR" && swift build -c release --show-bin-path)/fleet"
  echo "==> Binary: $FLEET_BIN (--skip-build)"
else
  echo "==> Building: swift build -c release --product fleet"
  (cd "$REPO_DIR" && swift build -c release --product fleet)
  FLEET_BIN="$(cd "$REPO_DIR" && swift build -c release --show-bin-path)/fleet"
fi
[[ -x $FLEET_BIN ]] || die "no executable at $FLEET_BIN"
case $FLEET_BIN in
  */release/*) BUILD=release ;;
  */debug/*) BUILD=debug; warn "benchmarking a DEBUG build: the numbers say nothing about release performance" ;;
  *) BUILD=unknown ;;
esac

# ---------------------------------------------------------------------------------------------
# 3. Data set: seeded once into $SEED_DIR; --skip-seed reuses it.

mkdir -p "$RESULTS_DIR"
if ((SKIP_SEED)) && [[ -f $SEED_DIR/.seeded ]]; then
  echo "==> Data set: reusing $SEED_DIR (--skip-seed)"
else
  if ((SKIP_SEED)); then echo "==> Data set: nothing seeded at $SEED_DIR yet, seeding despite --skip-seed"; fi
  rm -rf "$SEED_DIR"
  mkdir -p "$SEED_DIR"
  SEEDED_BY="fleet seed"
  echo "==> Seeding $USERS users and $ARTICLES articles: fleet seed --data-dir $SEED_DIR"
  started=$SECONDS
  # shellcheck disable=SC2086
  "$FLEET_BIN" seed --data-dir "$SEED_DIR" --users "$USERS" --articles "$ARTICLES" ${FLEET_BENCH_SETTINGS:-} \
    --auth-bcrypt-cost "$BCRYPT_COST" 2>&1 | tee "$RESULTS_DIR/seed.log"
  echo "    took $((SECONDS - started)) s"
  start_server "$SEED_DIR" "$RESULTS_DIR/seed-server.log"
  [[ $(article_count) -gt 0 && -n $(login_token) ]] || die "the seeded data set is unusable (no articles, or user1 cannot log in)"
  printf 'users\t%s\narticles\t%s\nseeded_by\t%s\n' "$USERS" "$(article_count)" "$SEEDED_BY" >"$SEED_DIR/.seeded"
  stop_server
fi
DATASET_USERS=$(awk -F'\t' '$1 == "users" { print $2 }' "$SEED_DIR/.seeded")
DATASET_ARTICLES=$(awk -F'\t' '$1 == "articles" { print $2 }' "$SEED_DIR/.seeded")
SEEDED_BY=$(awk -F'\t' '$1 == "seeded_by" { print $2 }' "$SEED_DIR/.seeded")
echo "    data set: $DATASET_USERS users, $DATASET_ARTICLES articles (seeded by $SEEDED_BY)"
if [[ $DATASET_USERS != "$USERS" || $DATASET_ARTICLES -lt $ARTICLES ]]; then
  warn "the data set is not the requested $USERS users / $ARTICLES articles (drop --skip-seed to reseed)"
fi

# ---------------------------------------------------------------------------------------------
# 4. Server on a private copy of the data set (the create-article run adds rows).

TIMESTAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$RESULTS_DIR/$TIMESTAMP"
mkdir -p "$OUT"
WORK_DATA="$OUT/data"
cp -a "$SEED_DIR" "$WORK_DATA"
start_server "$WORK_DATA" "$OUT/server.log"
echo "==> Server: pid $SERVER_PID at $BASE_URL (log: $OUT/server.log)"

TOKEN=$(login_token)
[[ -n $TOKEN ]] || die "cannot log in as $BENCH_EMAIL: $(head -c 300 "$TMP/body")"
[[ $(api GET '/api/articles?limit=1') == 200 ]] || die "GET /api/articles failed: $(head -c 300 "$TMP/body")"
SLUG=$(json_get "$TMP/body" articles.0.slug)
USERNAME=$(json_get "$TMP/body" articles.0.author.username)
[[ -n $SLUG && -n $USERNAME ]] || die "no article to take a slug and username from"
echo "    token for $BENCH_EMAIL, slug '$SLUG', username '$USERNAME'"

# The feed only has content when user1 follows someone; make sure it does.
api GET '/api/articles/feed?limit=1' '' "$TOKEN" >/dev/null
if [[ $(json_get "$TMP/body" articlesCount) == 0 && $USERNAME != user1 ]]; then
  echo "    user1's feed is empty: following $USERNAME"
  api POST "/api/profiles/$USERNAME/follow" '' "$TOKEN" >/dev/null
fi

COMMIT=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$REPO_DIR" status --porcelain --untracked-files=no 2>/dev/null) ]]; then COMMIT+="-dirty"; fi
{
  printf 'timestamp\t%s\n' "$TIMESTAMP"
  printf 'commit\t%s\n' "$COMMIT"
  printf 'binary\t%s\n' "$FLEET_BIN"
  printf 'build\t%s\n' "$BUILD"
  printf 'wrk_version\t%s\n' "$(wrk -v 2>&1 | head -n 1 || true)"
  printf 'wrk_threads\t%s\n' "$THREADS"
  printf 'duration\t%s\n' "$DURATION"
  printf 'connections\t%s\n' "$CONNECTIONS"
  printf 'login_connections\t%s\n' "$LOGIN_CONNECTIONS"
  printf 'timeout\t%s\n' "$TIMEOUT"
  printf 'warmup\t%s\n' "$WARMUP"
  printf 'dataset_users\t%s\n' "$DATASET_USERS"
  printf 'dataset_articles\t%s\n' "$DATASET_ARTICLES"
  printf 'seeded_by\t%s\n' "$SEEDED_BY"
  printf 'bcrypt_cost\t%s\n' "$BCRYPT_COST"
  printf 'cpus\t%s\n' "$CPUS"
  printf 'load_before\t%s\n' "$LOAD_BEFORE"
  printf 'base_url\t%s\n' "$BASE_URL"
} >"$OUT/meta.tsv"

# ---------------------------------------------------------------------------------------------
# 5. The endpoints, in order: name | method | path | route (label) | wrk script | connections | probe body

CREATE_BODY='{"article":{"title":"Benchmark probe","description":"Created by the Fleet benchmark","body":"Probe.","tagList":["bench"]}}'
ENDPOINTS=(
  "ceiling|GET|/health/live|/health/live|get.lua|$CONNECTIONS|"
  "list|GET|/api/articles?limit=20|/api/articles?limit=20|get.lua|$CONNECTIONS|"
  "article|GET|/api/articles/$SLUG|/api/articles/{slug}|get.lua|$CONNECTIONS|"
  "profile|GET|/api/profiles/$USERNAME|/api/profiles/{username}|get.lua|$CONNECTIONS|"
  "tags|GET|/api/tags|/api/tags|get.lua|$CONNECTIONS|"
  "feed|GET|/api/articles/feed|/api/articles/feed|get.lua|$CONNECTIONS|"
  "create|POST|/api/articles|/api/articles|create_article.lua|$CONNECTIONS|$CREATE_BODY"
  "login|POST|/api/users/login|/api/users/login|login.lua|$LOGIN_CONNECTIONS|$LOGIN_BODY"
)
# Endpoints that get the token (as Authorization: Token ...).
AUTHENTICATED=" feed create "

# Server CPU time in seconds and resident memory in KiB, from /proc.
CLK_TCK=$(getconf CLK_TCK)
server_cpu() { awk -v hz="$CLK_TCK" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$SERVER_PID/stat"; }
server_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }

# run_wrk CONNECTIONS DURATION SCRIPT URL TOKEN OUTPUT [extra env...]: one wrk run.
run_wrk() {
  local conns=$1 duration=$2 script=$3 url=$4 token=$5 output=$6
  shift 6
  local threads=$((THREADS < conns ? THREADS : conns))
  env BENCH_TOKEN="$token" BENCH_EMAIL="$BENCH_EMAIL" BENCH_PASSWORD="$BENCH_PASSWORD" "$@" \
    wrk -t"$threads" -c"$conns" -d"$duration" --timeout "$TIMEOUT" --latency \
    -s "$BENCH_DIR/wrk/$script" "$url" >"$output" 2>&1 || warn "wrk exited with an error (see $output)"
}

# scrape_metrics FILE: saves the server's /metrics as $OUT/FILE and prints FILE; on failure
# only warns and prints "-" (the summary then shows "–" for the /metrics columns).
scrape_metrics() {
  if curl -fsS --max-time 10 -o "$OUT/$1" "$METRICS_URL/metrics" 2>"$TMP/scrape.err"; then
    echo "$1"
  else
    warn "could not scrape $METRICS_URL/metrics for $1: $(head -c 200 "$TMP/scrape.err")"
    rm -f "$OUT/$1"
    echo "-"
  fi
}

# digest RESULT [METRICS_BEFORE METRICS_AFTER]: one-line digest of a wrk result file, plus the
# /metrics figures of bench/lib/summarize.py when both scrapes (names under $OUT) are given.
digest() {
  python3 - "$BENCH_DIR/lib" "$OUT" "$@" <<'PY'
import json, sys
from pathlib import Path
for line in open(sys.argv[3], errors="replace"):
    if line.startswith("BENCH_JSON "):
        r = json.loads(line[11:])
        l = r["latency_ms"]
        errors = sum(r["errors"].values())
        print(f'      {r["rps"]:>10,.1f} req/s   p50 {l["p50"]:.2f} ms   p99 {l["p99"]:.2f} ms   '
              f'non-2xx {r["non2xx"]}   socket errors {errors}')
        if len(sys.argv) == 6:
            try:
                sys.path.insert(0, sys.argv[1])
                from summarize import dash, server_counts
                c = server_counts(Path(sys.argv[2]), {"metrics_before": sys.argv[4], "metrics_after": sys.argv[5]}, r["requests"])
                print(f'      SQL/req {dash(c["sql_per_request"], "{:.2f}")}   '
                      f'replica reads {dash(c["replica_reads_pct"], "{:.1f}%")}   L1 hit {dash(c["l1_hit_pct"], "{:.1f}%")}')
            except Exception as error:  # the figures are a bonus here; summarize.py reports them again
                print(f"!! could not read the /metrics scrapes: {error!r}", file=sys.stderr)
        break
else:
    print("      (no result: wrk failed, see the raw output)")
PY
}

TOTAL=${#ENDPOINTS[@]}
SERVER_DIED=0
: >"$OUT/endpoints.tsv"
index=0
for spec in "${ENDPOINTS[@]}"; do
  index=$((index + 1))
  IFS='|' read -r name method path route script conns probe_body <<<"$spec"
  tag=$(printf '%02d-%s' "$index" "$name")
  token=""
  if [[ $AUTHENTICATED == *" $name "* ]]; then token=$TOKEN; fi
  echo "[$index/$TOTAL] $method $path ($conns connections, $DURATION) ..."

  # One plain request first: a broken endpoint shows its error body here, not just a count.
  probe_status=$(api "$method" "$path" "$probe_body" "$token")
  cp "$TMP/body" "$OUT/$tag.probe.json"
  if [[ $probe_status != 2?? ]]; then
    warn "single $method $path answered $probe_status: $(head -c 300 "$TMP/body")"
  fi

  # Warm caches (and SQLite's page cache) before measuring; writes and bcrypt need no warm-up.
  if [[ $method == GET && $WARMUP != 0 && $WARMUP != 0s ]]; then
    run_wrk "$conns" "$WARMUP" "$script" "$BASE_URL$path" "$token" "$TMP/warmup.txt"
  fi

  # The measured run, between two /metrics scrapes (taken outside the server CPU measurement).
  metrics_before=$(scrape_metrics "$tag.metrics-before.txt")
  cpu_before=$(server_cpu)
  run_wrk "$conns" "$DURATION" "$script" "$BASE_URL$path" "$token" "$OUT/$tag.txt"
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    warn "THE SERVER DIED during $method $path; last lines of $OUT/server.log:"
    tail -n 30 "$OUT/server.log" >&2
    SERVER_PID=""
    SERVER_DIED=1
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t-\t%s\t0\t0\t%s\t-\n' "$index" "$name" "$method" "$path" "$route" "$conns" "$tag.txt" "$probe_status" \
      "$metrics_before" >>"$OUT/endpoints.tsv"
    break
  fi
  cpu_used=$(awk -v a="$cpu_before" -v b="$(server_cpu)" 'BEGIN { printf "%.2f", b - a }')
  metrics_after=$(scrape_metrics "$tag.metrics-after.txt")
  digest "$OUT/$tag.txt" "$metrics_before" "$metrics_after"

  # Non-2xx replies: run again counting replies per status (slower, so not done by default).
  rerun="-"
  non2xx=$(grep -o '"non2xx":[0-9]*' "$OUT/$tag.txt" | cut -d: -f2 || true)
  if [[ ${non2xx:-0} -gt 0 ]]; then
    warn "$non2xx NON-2XX replies from $method $path: re-running with per-status counting"
    rerun="$tag.rerun.txt"
    run_wrk "$conns" "$DURATION" "$script" "$BASE_URL$path" "$token" "$OUT/$rerun" BENCH_STATUS_CODES=1
    warn "statuses seen: $(grep -o '"status_codes":{[^}]*}' "$OUT/$rerun" || echo unknown)"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$index" "$name" "$method" "$path" "$route" "$conns" \
    "$tag.txt" "$rerun" "$probe_status" "$cpu_used" "$(server_rss)" "$metrics_before" "$metrics_after" >>"$OUT/endpoints.tsv"
done
stop_server

# ---------------------------------------------------------------------------------------------
# 6. Summary and plots

echo "==> Summary ($OUT/summary.md)"
status=0
python3 "$BENCH_DIR/lib/summarize.py" "$OUT" || status=$?
if python3 -c 'import matplotlib' 2>/dev/null; then
  python3 "$BENCH_DIR/plot.py" "$OUT/summary.json" || warn "plotting failed"
else
  echo "matplotlib is not installed, so no plots: pip install matplotlib && python3 bench/plot.py $OUT/summary.json"
fi
ln -sfn "$TIMESTAMP" "$RESULTS_DIR/latest"
echo "==> Results: $OUT"

if ((SERVER_DIED)); then
  status=5
  warn "the server died during the run: see $OUT/server.log"
elif ((status == 3)); then
  warn "some endpoints answered non-2xx: that is a bug (see Problems in $OUT/summary.md)"
fi
exit "$status"
