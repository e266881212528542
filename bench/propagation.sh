#!/usr/bin/env bash
# Cross-instance cache invalidation delay: two `fleet serve` instances on one PostgreSQL and
# one Redis; a client updates an article on instance A while wrk reads it on instance B,
# then B's `cache_invalidation_propagation_duration_seconds` histogram (publish on A to
# applied on B) is summarized. Also checks that every read on B after a write on A
# returned saw the write.
#
# Usage: FLEET_BENCH_SETTINGS="--database-url postgres://... --redis-url redis://..." bench/propagation.sh [--writes 2000]
# Environment: FLEET_BIN (default .build/release/fleet), BENCH_RESULTS_DIR (default bench/results).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib/common.sh
source "$BENCH_DIR/lib/common.sh"
REPO_DIR="$(dirname "$BENCH_DIR")"
WRITES=2000
PORT=8189
BCRYPT_COST=4
KEEP_DATA=0
while (($#)); do
  case $1 in
    --writes) WRITES=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done
[[ ${FLEET_BENCH_SETTINGS:-} == *--redis-url* && ${FLEET_BENCH_SETTINGS:-} == *--database-url* ]] \
  || die "set FLEET_BENCH_SETTINGS to --database-url ... --redis-url ... (two instances need both)"
FLEET_BIN=${FLEET_BIN:-$REPO_DIR/.build/release/fleet}
[[ -x $FLEET_BIN ]] || die "no executable at $FLEET_BIN"

# shellcheck source=bench/lib/server.sh
source "$BENCH_DIR/lib/server.sh"
OUT="$RESULTS_DIR/propagation-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT/data"
WORK_DATA="$OUT/data"

echo "==> instance B"
start_server "$WORK_DATA" "$OUT/b.log"
B_PID=$SERVER_PID B_URL=$BASE_URL B_METRICS=$METRICS_URL
echo "==> instance A"
PORT=$((PORT + 10))
start_server "$WORK_DATA" "$OUT/a.log"
A_PID=$SERVER_PID A_URL=$BASE_URL
trap 'kill $A_PID $B_PID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP" "$WORK_DATA"' EXIT

echo "==> $WRITES writes on A ($A_URL), each followed by a read on B ($B_URL), with wrk reading on B meanwhile"
python3 - "$A_URL" "$B_URL" "$WRITES" "$OUT" <<'PY' &
import http.client, json, sys, time, urllib.parse
a, b, writes, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def conn(url):
    u = urllib.parse.urlparse(url); return http.client.HTTPConnection(u.hostname, u.port)
ca, cb = conn(a), conn(b)
def call(c, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token: headers["Authorization"] = "Token " + token
    c.request(method, path, body=json.dumps(body) if body else None, headers=headers)
    r = c.getresponse(); data = r.read(); return r.status, json.loads(data) if data else None
name = f"prop{int(time.time())}"
_, user = call(ca, "POST", "/api/users", {"user": {"username": name, "email": name + "@bench.fleet", "password": "password123"}})
token = user["user"]["token"]
_, art = call(ca, "POST", "/api/articles", {"article": {"title": "Propagation", "description": "v0", "body": "b"}}, token)
slug = art["article"]["slug"]
open(out + "/slug", "w").write(slug)
stale = 0
for i in range(1, writes + 1):
    call(ca, "PUT", f"/api/articles/{slug}", {"article": {"description": f"v{i}"}}, token)
    status, seen = call(cb, "GET", f"/api/articles/{slug}")
    if seen["article"]["description"] != f"v{i}": stale += 1
print(f"    reads on B after a write on A returned: {writes}, stale: {stale}")
open(out + "/stale", "w").write(str(stale))
PY
WRITER=$!
sleep 1
SLUG=$(cat "$OUT/slug" 2>/dev/null || true)
[[ -n $SLUG ]] && wrk -t1 -c16 -d600s "$B_URL/api/articles/$SLUG" >"$OUT/wrk.txt" 2>&1 &
WRK=$!
wait $WRITER
kill $WRK 2>/dev/null || true
curl -fsS "$B_METRICS/metrics" >"$OUT/b.metrics"
python3 - "$OUT/b.metrics" <<'PY'
import re, sys
buckets, count, total = [], 0, 0.0
for line in open(sys.argv[1]):
    m = re.match(r'cache_invalidation_propagation_duration_seconds_bucket\{.*le="([^"]+)"\} (\S+)', line)
    if m: buckets.append((float("inf") if m[1] == "+Inf" else float(m[1]), float(m[2])))
    if line.startswith("cache_invalidation_propagation_duration_seconds_count"): count = float(line.split()[-1])
    if line.startswith("cache_invalidation_propagation_duration_seconds_sum"): total = float(line.split()[-1])
if not count: sys.exit("no propagation samples on B")
def quantile(q):
    for le, c in sorted(buckets):
        if c >= q * count: return le
print(f"    invalidations applied on B: {int(count)}, mean {1000 * total / count:.3f} ms")
for q in (0.5, 0.99, 1.0):
    print(f"    p{int(q * 100)}: <= {1000 * quantile(q):g} ms (histogram bucket bound)")
PY
echo "==> results in $OUT"
