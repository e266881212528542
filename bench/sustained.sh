#!/usr/bin/env bash
# Does throughput hold over a sustained run, or decline as the data grows? (BENCHMARKS.md,
# "Sustained load".)
#
#   bench/sustained.sh [--bin PATH]... [--duration 60] [--mix NAME=W,...] [--out bench/results/sustained-<time>]
#
# For each binary (default: .build/release/fleet; give several, or one twice, to compare
# them in one session), a fresh T0 server (SQLite) pinned to CPU 0 and `fleet loadtest`
# pinned to CPU 1: closed model, 64 connections, the shedding benchmark's mix (writes
# included, so the data grows as it runs), shedding off. Prints per run the mean
# throughput, that of the first and of the last 10 seconds and their ratio, the p99 of the
# comment list and of article creation, the recommendation jobs done and still waiting at the
# end, and the time requests spent waiting for a connection; each run's report and the
# server's last /metrics are kept under --out.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source "$root/scripts/free-port.sh"
duration=60
bins=()
mix="list=20,article=40,comments=10,feed=10,profile=5,tags=5,create-article=3,comment=4,favorite=3"
out="$root/bench/results/sustained-$(date -u +%Y%m%dT%H%M%SZ)"
while [ $# -gt 0 ]; do
    case $1 in
    --bin) bins+=("$2"); shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --mix) mix=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--bin PATH]... [--duration S] [--mix MIX] [--out DIR]" >&2; exit 2 ;;
    esac
done
[ ${#bins[@]} -gt 0 ] || bins=("$root/.build/release/fleet")
for bin in "${bins[@]}"; do [ -x "$bin" ] || { echo "no binary at $bin (swift build -c release --product fleet)" >&2; exit 1; }; done
mkdir -p "$out"
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true' EXIT

for index in "${!bins[@]}"; do
    bin=${bins[$index]}
    run="$out/run$((index + 1))"
    mkdir -p "$run/data"
    port=$(free_port) admin=$(free_port)
    taskset -c 0 "$bin" serve --data-dir "$run/data" --http-port "$port" --http-admin-port "$admin" --log-level error \
        --ratelimit-enabled false --auth-bcrypt-cost 10 --http-shedding-enabled false 2>"$run/server.log" &
    server=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.1; done
    echo "== run $((index + 1)): $bin, ${duration} s" >&2
    # The load test's progress line goes to the terminal.
    taskset -c 1 "$bin" loadtest run --target "http://127.0.0.1:$port" --run-id sustained --users 20 --password password123 \
        --mix "$mix" --warmup 3 --timeout 10 --connections 64 --duration "$duration" --out "$run/report" >/dev/null
    curl -fs "http://127.0.0.1:$admin/metrics" >"$run/metrics.txt" || true
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
    python3 - "$run/report/report.json" "run $((index + 1))" "$run/metrics.txt" <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1]))
metrics = open(sys.argv[3]).read()
def metric(name, *labels):
    """The sum of a metric's samples whose labels include every one of `labels`."""
    total = 0.0
    for line in metrics.splitlines():
        match = re.match(r"(\w+)(\{.*\})? (\S+)$", line)
        if match and match[1] == name and all(label in (match[2] or "") for label in labels):
            total += float(match[3])
    return total
# Whole seconds only (the last interval is a fraction of one).
seconds = [s for s in report["intervals"] if s["second"] < int(report["durationSeconds"])]
first = sum(s["requests"] for s in seconds[:10]) / 10
last = sum(s["requests"] for s in seconds[-10:]) / 10
operations = {o["name"]: o for o in report["operations"]}
print(f"{sys.argv[2]}: {report['total']['requests'] / report['durationSeconds']:.0f}/s; first 10 s {first:.0f}/s, "
      f"last 10 s {last:.0f}/s (ratio {last / first:.2f}); p99 comments {operations['comments']['latencyMs']['p99']:.1f} ms, "
      f"create-article {operations['create-article']['latencyMs']['p99']:.1f} ms")
# The work the requests left behind, and how long they queued for a SQLite connection.
print(f"    recommend.favorite jobs done {metric('messaging_client_consumed_messages', 'recommend.favorite'):.0f}, "
      f"still waiting {metric('fleet_jobs_ready', 'recommendations'):.0f}; "
      f"time spent waiting for a connection {metric('db_client_connection_wait_time_seconds_sum'):.0f} s in all")
PY
done
