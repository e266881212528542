#!/usr/bin/env bash
# Does slow SQLite work starve everything else? Measures GET /health/live on T0 twice per
# binary: alone, then while other clients keep every SQLite reader busy with slow pages
# (cache off, so every page is work for SQLite). SQLite is called synchronously: run on
# Swift's cooperative threads (one per core), a slow scan holds one of them, and liveness
# waits; run on threads of its own, it does not. Give two binaries (a build before the
# change and one after) to compare them in one run, on the same data.
#
# Usage: bench/starvation.sh --after BIN [--before BIN] [options]
#   --duration 10s       each wrk run
#   --connections 16     clients asking for slow pages
#   --path PATH          the slow page (default: a deep page of the global list, 100 a page)
#   --port 8189          first port to try
# Data: the data set bench/run.sh seeds (bench/results/data, or $BENCH_RESULTS_DIR/data);
# each binary works on a copy (a newer binary migrates its copy).
# Results: bench/results/starvation-<timestamp>/: raw wrk output, summary.md, starvation.png.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib/common.sh
source "$BENCH_DIR/lib/common.sh"
DURATION=10s
CONNECTIONS=16
SLOW_PATH="/api/articles?limit=100&offset=9900"
PORT=8189
BEFORE=""
AFTER=""
BCRYPT_COST=12
KEEP_DATA=0


while (($#)); do
  case $1 in
    --before) BEFORE=${2:?}; shift 2 ;;
    --after) AFTER=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --connections) CONNECTIONS=${2:?}; shift 2 ;;
    --path) SLOW_PATH=${2:?}; shift 2 ;;
    --port) PORT=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done
[[ -n $AFTER ]] || die "--after BIN is required (see --help)"
need_seed
need_wrk

FLEET_BIN=$AFTER
# shellcheck source=bench/lib/server.sh
source "$BENCH_DIR/lib/server.sh"

OUT="$RESULTS_DIR/starvation-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
seconds=${DURATION%s}
echo "results in $OUT; load: $(nproc) cores, $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"

# measure LABEL BIN: /health/live alone, then beside the slow pages.
measure() {
  local label=$1
  FLEET_BIN=$2
  WORK_DATA="$TMP/data-$label"
  rm -rf "$WORK_DATA"
  cp -a "$SEED_DIR" "$WORK_DATA"
  echo "==> $label: $FLEET_BIN"
  start_server "$WORK_DATA" "$OUT/$label.log" --cache-enabled false
  curl -fsS -o /dev/null "$BASE_URL$SLOW_PATH" || die "$label: $SLOW_PATH failed"
  echo "    /health/live alone ($DURATION)"
  wrk -t1 -c4 -d"$DURATION" -s "$BENCH_DIR/wrk/get.lua" "$BASE_URL/health/live" >"$OUT/$label-alone.txt"
  echo "    /health/live while $CONNECTIONS clients read $SLOW_PATH"
  wrk -t1 -c"$CONNECTIONS" -d"$((seconds + 2))s" -s "$BENCH_DIR/wrk/get.lua" "$BASE_URL$SLOW_PATH" >"$OUT/$label-slow.txt" &
  local load=$!
  sleep 1
  wrk -t1 -c4 -d"$DURATION" -s "$BENCH_DIR/wrk/get.lua" "$BASE_URL/health/live" >"$OUT/$label-loaded.txt"
  wait "$load"
  stop_server
  rm -rf "$WORK_DATA"
}

labels=()
if [[ -n $BEFORE ]]; then measure before "$BEFORE"; labels+=(before); fi
measure after "$AFTER"
labels+=(after)

python3 - "$OUT" "$SLOW_PATH" "$CONNECTIONS" "${labels[@]}" <<'PY'
import json, sys
out, path, connections, labels = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def result(name):
    for line in open(f"{out}/{name}.txt"):
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    sys.exit(f"no result in {name}.txt")
rows = []
lines = [f"| binary | `/health/live` alone: req/s, p50 / p99 ms | beside the slow pages: req/s, p50 / p99 ms | p99 ratio | slow pages req/s (p99 ms) |",
         "|---|---:|---:|---:|---:|"]
for label in labels:
    alone, loaded, slow = result(f"{label}-alone"), result(f"{label}-loaded"), result(f"{label}-slow")
    a, l = alone["latency_ms"], loaded["latency_ms"]
    rows.append((label, a["p50"], a["p99"], l["p50"], l["p99"]))
    lines.append(f"| {label} | {alone['rps']:,.0f}, {a['p50']:.2f} / {a['p99']:.2f} | {loaded['rps']:,.0f}, {l['p50']:.2f} / {l['p99']:.2f} | "
                 f"{l['p99'] / a['p99']:.1f}× | {slow['rps']:.0f} ({slow['latency_ms']['p99']:.1f}) |")
summary = "\n".join(lines) + f"\n\nSlow pages: `GET {path}` from {connections} connections, cache off.\n"
open(f"{out}/summary.md", "w").write(summary)
print(summary)
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("(matplotlib not installed: no plot)")
    sys.exit(0)
fig, ax = plt.subplots(figsize=(7, 3.5))
width = 0.35
for i, (label, a50, a99, l50, l99) in enumerate(rows):
    ax.bar([i - width / 2], [a99], width, color="#9ecae1", label="alone" if i == 0 else None)
    ax.bar([i + width / 2], [l99], width, color="#de2d26", label="beside slow pages" if i == 0 else None)
    ax.text(i + width / 2, l99, f"{l99:.1f}", ha="center", va="bottom", fontsize=8)
    ax.text(i - width / 2, a99, f"{a99:.1f}", ha="center", va="bottom", fontsize=8)
ax.set_xticks(range(len(rows)), [r[0] for r in rows])
ax.set_ylabel("GET /health/live p99 (ms)")
ax.set_title("Liveness while SQLite works (T0, cache off)")
ax.legend()
fig.tight_layout()
fig.savefig(f"{out}/starvation.png", dpi=120)
print(f"plot: {out}/starvation.png")
PY
