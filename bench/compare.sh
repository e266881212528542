#!/usr/bin/env bash
# Two builds of Fleet on the same data, measured in turns: for each endpoint, wrk runs
# against one build, then the other, for several rounds, and the medians are compared.
# Taking turns spreads the machine's own drift (other tenants, thermal) over both builds,
# which separate runs of bench/run.sh do not. Both servers run at once; only the one
# under load does anything.
#
# Usage: bench/compare.sh --before BIN --after BIN [options]
#   --duration 5s      each wrk run
#   --rounds 3         turns per endpoint and build
#   --connections 64   wrk connections (2 threads)
#   --port 8289        first port to try
# Data: the data set bench/run.sh seeds (bench/results/data, or $BENCH_RESULTS_DIR/data);
# each build works on its own copy (a newer build migrates its copy). Cache on, rate
# limiting off, as in bench/run.sh.
# Results: bench/results/compare-<timestamp>/: raw wrk output, summary.md, compare.png.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib/common.sh
source "$BENCH_DIR/lib/common.sh"
DURATION=5s
ROUNDS=3
CONNECTIONS=64
PORT=8289
BEFORE=""
AFTER=""
BCRYPT_COST=12
KEEP_DATA=0


while (($#)); do
  case $1 in
    --before) BEFORE=${2:?}; shift 2 ;;
    --after) AFTER=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --connections) CONNECTIONS=${2:?}; shift 2 ;;
    --port) PORT=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done
[[ -n $BEFORE && -n $AFTER ]] || die "--before BIN and --after BIN are required (see --help)"
need_seed
need_wrk

FLEET_BIN=$BEFORE
# shellcheck source=bench/lib/server.sh
source "$BENCH_DIR/lib/server.sh"
OUT="$RESULTS_DIR/compare-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
echo "results in $OUT; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A URL PID TOKEN
for label in before after; do
  FLEET_BIN=$([[ $label == before ]] && echo "$BEFORE" || echo "$AFTER")
  cp -a "$SEED_DIR" "$TMP/data-$label"
  start_server "$TMP/data-$label" "$OUT/$label.log"
  URL[$label]=$BASE_URL
  PID[$label]=$SERVER_PID
  SERVER_PID=""   # stopped below, not by the helper's trap
  PORT=$((PORT + 10))
  TOKEN[$label]=$(curl -fsS "$BASE_URL/api/users/login" -H 'Content-Type: application/json' \
    -d '{"user":{"email":"user1@seed.fleet","password":"password123"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["token"])')
done
trap 'kill ${PID[before]} ${PID[after]} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT

slug=$(curl -fsS "${URL[after]}/api/articles?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["articles"][0]["slug"])')
# Comments are not cached: each list is one small read of SQLite. The last ones are signed in
# (every signed-in request has its token checked): `GET /api/user` is that check and a cached
# read, the feed is uncached database work.
endpoints=("/health/live" "/api/articles?limit=20" "/api/articles/$slug" "/api/profiles/user1" "/api/tags" "/api/articles/$slug/comments"
  "/api/user" "/api/articles/feed")

for index in "${!endpoints[@]}"; do
  path=${endpoints[$index]}
  echo "==> $path"
  for round in $(seq "$ROUNDS"); do
    for label in before after; do
      token=""
      [[ $path == /api/articles/feed || $path == /api/user ]] && token=${TOKEN[$label]}
      # A short warm-up, then the measured run.
      BENCH_TOKEN=$token wrk -t2 -c"$CONNECTIONS" -d1s -s "$BENCH_DIR/wrk/get.lua" "${URL[$label]}$path" >/dev/null
      BENCH_TOKEN=$token wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$BENCH_DIR/wrk/get.lua" "${URL[$label]}$path" \
        >"$OUT/$index-$label-$round.txt"
      printf '    %s round %s: %s req/s\n' "$label" "$round" "$(grep -o '"rps":[0-9.]*' "$OUT/$index-$label-$round.txt" | cut -d: -f2)"
    done
  done
done

python3 - "$OUT" "$ROUNDS" "${endpoints[@]}" <<'PY'
import json, statistics, sys
out, rounds, endpoints = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def runs(index, label):
    results = []
    for r in range(1, rounds + 1):
        for line in open(f"{out}/{index}-{label}-{r}.txt"):
            if line.startswith("BENCH_JSON "):
                results.append(json.loads(line[len("BENCH_JSON "):]))
    return results
median = {}
for index, path in enumerate(endpoints):
    for label in ("before", "after"):
        rs = runs(index, label)
        median[(index, label)] = (statistics.median(r["rps"] for r in rs), statistics.median(r["latency_ms"]["p99"] for r in rs),
                                  sum(r["non2xx"] for r in rs))
signed_in = {"/api/user", "/api/articles/feed"}
names = ["`GET /health/live` (ceiling)"] + [f"`GET {p}`" + (" (signed in)" if p in signed_in else "") for p in endpoints[1:]]
names = [n.replace(endpoints[2], "/api/articles/{slug}") for n in names]
lines = ["| endpoint | before req/s | before % of ceiling | after req/s | after % of ceiling | after / before | p99 ms before → after |",
         "|---|---:|---:|---:|---:|---:|---:|"]
rows = []
for index, name in enumerate(names):
    b, a = median[(index, "before")], median[(index, "after")]
    bc, ac = median[(0, "before")][0], median[(0, "after")][0]
    rows.append((name, b[0] / bc * 100, a[0] / ac * 100, a[0] / b[0]))
    lines.append(f"| {name} | {b[0]:,.0f} | {b[0] / bc * 100:.1f} % | {a[0]:,.0f} | {a[0] / ac * 100:.1f} % | {a[0] / b[0]:.2f} | "
                 f"{b[1]:.1f} → {a[1]:.1f} |")
bad = sum(median[(i, l)][2] for i in range(len(names)) for l in ("before", "after"))
summary = "\n".join(lines) + f"\n\nMedians of {rounds} turns per build; non-2xx replies: {bad}.\n"
open(f"{out}/summary.md", "w").write(summary)
print(summary)
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(0)
fig, ax = plt.subplots(figsize=(8, 3.8))
ratios = [r[3] for r in rows]
ax.bar(range(len(rows)), ratios, 0.6, color=["#9ecae1"] + ["#3182bd"] * (len(rows) - 1))
ax.axhline(1.0, color="black", linewidth=0.8)
for i, ratio in enumerate(ratios):
    ax.text(i, ratio, f"{ratio:.2f}", ha="center", va="bottom", fontsize=8)
ax.set_xticks(range(len(rows)), [r[0].replace("`", "").replace("GET ", "").replace(" (ceiling)", "\n(ceiling)") for r in rows], rotation=15, fontsize=7)
ax.set_ylabel("after / before (req/s, medians)")
ax.set_ylim(0, max(1.3, max(ratios) + 0.1))
ax.set_title("Reads on T0: the hardened build against the one before, in turns")
fig.tight_layout()
fig.savefig(f"{out}/compare.png", dpi=120)
print(f"plot: {out}/compare.png")
PY
