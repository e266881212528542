#!/usr/bin/env bash
# The feed before and after a change, on one topology: seeds a data set with the BEFORE
# build, adds two readers (one following 10 authors, one following 1,000), measures the
# ceiling (GET /health/live) and each reader's feed with wrk; then starts the AFTER build
# on the same data (it migrates; its workers build the timelines, waited for), checks that
# every feed reads the same, and measures again. Figures are shares of the ceiling taken
# in the same phase.
#
# Usage: bench/feed.sh --before BIN --after BIN [options]
#   --topology t0|t1|t3   SQLite, one PostgreSQL, or two PostgreSQL shards with a replica each (t0)
#   --users 3000          seeded users (articles: ten per user)
#   --duration 10s        each wrk run
#   --connections 64      wrk connections (2 threads)
# Results: bench/results/feed-<topology>-<timestamp>/: raw wrk output, summary.md, feed.png.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib/common.sh
source "$BENCH_DIR/lib/common.sh"
TOPOLOGY=t0
USERS=3000
DURATION=10s
CONNECTIONS=64
PORT=8389
BEFORE=""
AFTER=""
BCRYPT_COST=4
KEEP_DATA=0
while (($#)); do
  case $1 in
    --before) BEFORE=${2:?}; shift 2 ;;
    --after) AFTER=${2:?}; shift 2 ;;
    --topology) TOPOLOGY=${2:?}; shift 2 ;;
    --users) USERS=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --connections) CONNECTIONS=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done
[[ -n $BEFORE && -n $AFTER ]] || die "--before BIN and --after BIN are required (see --help)"
need_wrk
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
FLEET_BIN=$BEFORE
# shellcheck source=bench/lib/server.sh
source "$BENCH_DIR/lib/server.sh"
OUT="$RESULTS_DIR/feed-$TOPOLOGY-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
echo "results in $OUT; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

case $TOPOLOGY in
  t0) FLEET_BENCH_SETTINGS="" ;;
  t1 | t3)
    chmod 755 "$TMP"  # PostgreSQL runs as its own user when we are root
    FLEET_BENCH_SETTINGS=$("$REPO_DIR/scripts/topology.sh" start "$TOPOLOGY" "$TMP/topology" --durable)
    trap '"$REPO_DIR/scripts/topology.sh" stop "$TMP/topology" >/dev/null 2>&1 || true; cleanup' EXIT ;;
  *) die "unknown topology $TOPOLOGY (t0, t1 or t3)" ;;
esac
export FLEET_BENCH_SETTINGS
DATA="$TMP/data"

echo "==> seeding $USERS users, $((USERS * 10)) articles (before build)"
# shellcheck disable=SC2086
"$BEFORE" seed --data-dir "$DATA" --users "$USERS" --articles $((USERS * 10)) --auth-bcrypt-cost "$BCRYPT_COST" $FLEET_BENCH_SETTINGS 2>&1 | tail -1

# register NAME: prints the token.
register() {
  curl -sf "$BASE_URL/api/users" -H 'content-type: application/json' \
    -d "{\"user\":{\"username\":\"$1\",\"email\":\"$1@bench.fleet\",\"password\":\"password123\"}}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["token"])'
}
login() {
  curl -sf "$BASE_URL/api/users/login" -H 'content-type: application/json' \
    -d "{\"user\":{\"email\":\"$1@bench.fleet\",\"password\":\"password123\"}}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["token"])'
}
feed_signature() {  # the first page's ids and the count, to compare builds
  curl -sf "$BASE_URL/api/articles/feed?limit=20" -H "authorization: Token $1" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["articlesCount"], [a["slug"] for a in d["articles"]])'
}
# measure PHASE: the ceiling and both feeds, one wrk run each.
measure() {
  local phase=$1 name path token
  for name in ceiling reader10 reader1000; do
    if [[ $name == ceiling ]]; then path=/health/live token=""; else path=/api/articles/feed token=${TOKEN[$name]}; fi
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency ${token:+-H "authorization: Token $token"} "$BASE_URL$path" >"$OUT/$phase-$name.txt"
    echo "  $phase $name: $(awk '/Requests\/sec/ {print $2}' "$OUT/$phase-$name.txt") req/s"
  done
}

declare -A TOKEN SIGNATURE
echo "==> before: readers and their follows"
start_server "$DATA" "$OUT/before.log"
TOKEN[reader10]=$(register reader10)
TOKEN[reader1000]=$(register reader1000)
for reader in reader10 reader1000; do
  count=${reader#reader}
  for i in $(seq 1 "$count"); do
    status=$(curl -s -o "$TMP/follow.json" -w "%{http_code}" -X POST "$BASE_URL/api/profiles/user$i/follow" -H "authorization: Token ${TOKEN[$reader]}")
    [[ $status == 200 ]] || die "$reader could not follow user$i: $status $(cat "$TMP/follow.json")"
  done
  SIGNATURE[$reader]=$(feed_signature "${TOKEN[$reader]}")
done
echo "==> before: measuring"
measure before
stop_server

echo "==> after: migrating and building timelines"
FLEET_BIN=$AFTER
start_server "$DATA" "$OUT/after.log"
started=$(date +%s)
while true; do
  # Reported once the workers ran their first round; until then, "unknown".
  left=$(curl -sf "$METRICS_URL/metrics" | awk '/^fleet_jobs_(ready|running|scheduled)\{.*timelines/ {n++; s += $2} END {print n ? s : "unknown"}')
  [[ $left == 0 ]] && break
  (($(date +%s) - started < 600)) || die "timelines not built after 10 minutes ($left jobs left)"
  sleep 1
done
echo "  timelines built in $(($(date +%s) - started)) s"
for reader in reader10 reader1000; do
  TOKEN[$reader]=$(login "$reader")
  after=$(feed_signature "${TOKEN[$reader]}")
  [[ $after == "${SIGNATURE[$reader]}" ]] || die "$reader's feed differs: before ${SIGNATURE[$reader]}, after $after"
done
echo "  both feeds read the same as before"
echo "==> after: measuring"
measure after
stop_server

python3 - "$OUT" "$TOPOLOGY" <<'PY'
import re, sys
from pathlib import Path
out, topology = Path(sys.argv[1]), sys.argv[2]
def rps(phase, name):
    text = (out / f"{phase}-{name}.txt").read_text()
    return float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def p99(phase, name):
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", (out / f"{phase}-{name}.txt").read_text())
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
rows = ["| phase | ceiling req/s | feed, 10 followed: req/s (share) p99 ms | feed, 1,000 followed: req/s (share) p99 ms |", "|---|---|---|---|"]
shares = {}
for phase in ("before", "after"):
    c = rps(phase, "ceiling")
    cells = []
    for r in ("reader10", "reader1000"):
        shares[(phase, r)] = rps(phase, r) / c * 100
        cells.append(f"{rps(phase, r):,.0f} ({shares[(phase, r)]:.1f} %) {p99(phase, r):.1f}")
    rows.append(f"| {phase} | {c:,.0f} | " + " | ".join(cells) + " |")
(out / "summary.md").write_text(f"Feed on {topology.upper()}\n\n" + "\n".join(rows) + "\n")
print("\n".join(rows))
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    labels = ["10 followed", "1,000 followed"]
    for i, phase in enumerate(("before", "after")):
        values = [shares[(phase, r)] for r in ("reader10", "reader1000")]
        bars = ax.bar([x + i * 0.38 for x in range(2)], values, 0.38, label=phase, color=["#DD8452", "#4C72B0"][i])
        for bar, v in zip(bars, values):
            ax.annotate(f"{v:.1f} %", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=8)
    ax.set_xticks([x + 0.19 for x in range(2)], labels)
    ax.set_ylabel("feed req/s, % of the ceiling (same phase)")
    ax.set_title(f"GET /api/articles/feed on {topology.upper()}, before and after timelines")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "feed.png", dpi=120)
except ImportError:
    print("matplotlib missing: no plot")
PY
echo "summary: $OUT/summary.md"
