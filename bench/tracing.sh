#!/usr/bin/env bash
# What tracing costs on the hot path, in one run (BENCHMARKS.md, "Tracing"):
#
#   bench/tracing.sh [--duration 10] [--rounds 3] [--out bench/results/tracing-<time>]
#
# One release binary built with the OTLP trait (swift build -c release --product fleet
# --traits OTLP), three instances of it on copies of one seeded SQLite data set: tracing
# off, sampled at 1 %, and at 100 %, all exporting to a real OTLP receiver
# (scripts/otlp-receiver.py). wrk (closed model, 32 connections) reads two endpoints from
# each in turn, off → 1 % → 100 %, for several rounds, so that the machine's drift falls
# on every variant alike; the server on CPU 0, wrk on CPU 1 (taskset). Reads: a list page
# (cache hit: HTTP span + cache span) and an article (the same, plus its author).
# Prints a table (median of the rounds) and writes summary.json.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=10 rounds=3
out="$root/bench/results/tracing-$(date -u +%Y%m%dT%H%M%SZ)"
while [ $# -gt 0 ]; do
    case $1 in
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--duration S] [--rounds N] [--out DIR]" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
bin="$root/.build/release/fleet"
[ -x "$bin" ] || { echo "build first: swift build -c release --product fleet --traits OTLP" >&2; exit 1; }
venv="${XDG_CACHE_HOME:-$HOME/.cache}/fleet/test-venv"
"$venv/bin/python" -c 'import opentelemetry.proto' 2>/dev/null || { echo "run scripts/tracing-check.sh once (it installs opentelemetry-proto)" >&2; exit 1; }
mkdir -p "$out"
source "$root/scripts/free-port.sh"
work=$(mktemp -d)
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT

echo "seeding one data set (1,000 users, 5,000 articles)"
"$bin" seed --data-dir "$work/seed" --users 1000 --articles 5000 --log-level error >/dev/null
otlp=$(free_port)
"$venv/bin/python" "$root/scripts/otlp-receiver.py" "$otlp" "$work/spans.jsonl" &
pids+=($!)

declare -A ports
variants=(off 1% 100%)
for variant in "${variants[@]}"; do
    cp -r "$work/seed" "$work/data-$variant"
    port=$(free_port)
    ports[$variant]=$port
    case $variant in
    off) tracing=(--tracing-enabled false) ;;
    1%) tracing=(--tracing-enabled true --tracing-sample-ratio 0.01) ;;
    100%) tracing=(--tracing-enabled true --tracing-sample-ratio 1) ;;
    esac
    taskset -c 0 "$bin" serve --data-dir "$work/data-$variant" --http-port "$port" --http-admin-port 0 --log-level error \
        --ratelimit-enabled false --http-shedding-enabled false --tracing-otlp-endpoint "http://127.0.0.1:$otlp" "${tracing[@]}" \
        2>>"$out/server-$variant.log" &
    pids+=($!)
done
for variant in "${variants[@]}"; do
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:${ports[$variant]}/health/ready" >/dev/null && break; sleep 0.1; done
    curl -fs "http://127.0.0.1:${ports[$variant]}/health/ready" >/dev/null || {
        echo "the $variant instance did not start (a build without the OTLP trait refuses tracing):" >&2; tail -n 3 "$out/server-$variant.log" >&2; exit 1; }
done
slug=$(curl -fs "http://127.0.0.1:${ports[off]}/api/articles?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["articles"][0]["slug"])')
endpoints=("list=/api/articles?limit=20" "article=/api/articles/$slug")

for round in $(seq "$rounds"); do
    for endpoint in "${endpoints[@]}"; do
        name=${endpoint%%=*} path=${endpoint#*=}
        for variant in "${variants[@]}"; do
            url="http://127.0.0.1:${ports[$variant]}$path"
            # A short warm-up fills the caches the measured run reads.
            taskset -c 1 wrk -t1 -c8 -d1s "$url" >/dev/null
            line=$(taskset -c 1 wrk -t1 -c32 -d"${duration}s" -s "$root/bench/wrk/get.lua" "$url" | grep '^BENCH_JSON' | cut -d' ' -f2-)
            echo "{\"round\":$round,\"endpoint\":\"$name\",\"variant\":\"$variant\",\"wrk\":$line}" >>"$out/runs.jsonl"
            printf 'round %s %-8s %-5s %s\n' "$round" "$name" "$variant" "$(echo "$line" | python3 -c 'import json,sys; r=json.load(sys.stdin); l=r["latency_ms"]; print("%.0f/s p50 %.2f ms p99 %.2f ms" % (r["rps"], l["p50"], l["p99"]))')"
        done
    done
done
sleep 2  # the last batches of spans
spans=$(wc -l <"$work/spans.jsonl" 2>/dev/null || echo 0)

python3 - "$out" "$spans" <<'PY'
import json, statistics, sys
out, spans = sys.argv[1], int(sys.argv[2])
runs = [json.loads(line) for line in open(f"{out}/runs.jsonl")]
summary = {"spans_received": spans, "endpoints": {}}
print(f"\n| endpoint | tracing | requests/s | vs off | p50 ms | p99 ms |\n|---|---|---|---|---|---|")
for endpoint in dict.fromkeys(r["endpoint"] for r in runs):
    base = None
    for variant in ("off", "1%", "100%"):
        mine = [r["wrk"] for r in runs if r["endpoint"] == endpoint and r["variant"] == variant]
        rps = statistics.median(r["rps"] for r in mine)
        p50 = statistics.median(r["latency_ms"]["p50"] for r in mine)
        p99 = statistics.median(r["latency_ms"]["p99"] for r in mine)
        base = base or rps
        summary["endpoints"].setdefault(endpoint, {})[variant] = {"rps": rps, "p50_ms": p50, "p99_ms": p99, "ratio": rps / base}
        print(f"| {endpoint} | {variant} | {rps:,.0f} | {rps / base:.2f} | {p50:.2f} | {p99:.2f} |")
print(f"\nspans received by the OTLP receiver: {spans:,}")
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
PY
