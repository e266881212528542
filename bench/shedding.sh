#!/usr/bin/env bash
# Load shedding under twice the capacity, in one run (BENCHMARKS.md, "Load shedding").
#
#   bench/shedding.sh [--duration 20] [--mix NAME=W,...] [--out bench/results/shedding-<time>]
#
# On T0 (release build, SQLite), with `fleet loadtest` as the client on the same machine,
# each pinned to a core of its own (taskset: server on CPU 0, client on CPU 1), so that
# the client's work does not pass for the server's latency, and a fresh database for each
# run (a run after others would otherwise start on the data they wrote):
#   1. capacity: closed model, 64 connections, shedding off: requests per second the
#      instance completes;
#   2. unloaded: open model at a quarter of it: the p99 to compare with;
#   3. overload: open model at twice the capacity (arrivals do not wait for answers, as
#      real users do not), a fresh server each time: shedding off; on with the
#      concurrency limit alone (queue target 0); on as by default (limit and queue wait).
# Each run records the server's and the client's CPU share over its middle (cpu.json):
# a client near 100 % measures itself as much as the server.
#   4. the floor under any refusal made in this process (needs wrk): the server's CPU per
#      answer for the cheapest things its HTTP stack answers, /health/live and a 404 from
#      the API's error path (the path a 503 refusal takes), under wrk's 64 connections,
#      where answers are batched as cheaply as they ever are (floor.json). A refusal costs
#      at least that; refusing at r times the mix's average cost, goodput at twice the
#      capacity is at most (1 - 2r) / (1 - r) of it.
# Prints a table, writes summary.json and shedding.png (goodput and admitted p99 over
# time, every overload run) next to each run's own report.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=20
# Sign-ins are left out: bcrypt would make the run a measure of hashing on two cores.
mix="list=20,article=40,comments=10,feed=10,profile=5,tags=5,create-article=3,comment=4,favorite=3"
out="$root/bench/results/shedding-$(date -u +%Y%m%dT%H%M%SZ)"
while [ $# -gt 0 ]; do
    case $1 in
    --duration) duration=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --mix) mix=$2; shift 2 ;;
    *) echo "usage: $0 [--duration S] [--mix MIX] [--out DIR]" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
bin="$root/.build/release/fleet"
[ -x "$bin" ] || { echo "build first: swift build -c release --product fleet" >&2; exit 1; }
source "$root/scripts/free-port.sh"
port=$(free_port)
admin=$(free_port)
data=$(mktemp -d)
server=""
stop() { [ -z "$server" ] || { kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=""; }; }
trap 'stop; rm -rf "$data"' EXIT

start() {
    stop
    # A fresh database each time: a run after others would otherwise start on the data
    # they wrote, and the last run would be the slowest for that alone.
    rm -rf "$data" && mkdir -p "$data"
    taskset -c 0 "$bin" serve --data-dir "$data" --http-port "$port" --http-admin-port "$admin" --log-level error \
        --ratelimit-enabled false --auth-bcrypt-cost 10 "$@" 2>>"$out/server.log" &
    server=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && return; sleep 0.1; done
    echo "the server did not start" >&2; exit 1
}

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

load() {  # NAME ARGS...: one loadtest run into $out/NAME, with both processes' CPU share
    local name=$1; shift
    echo "== $name: $*" >&2
    taskset -c 1 "$bin" loadtest run --target "http://127.0.0.1:$port" --run-id shed --users 20 --password password123 \
        --mix "$mix" --warmup 3 --timeout 10 --out "$out/$name" "$@" >/dev/null &
    local client=$!
    # The middle of the measured part: after setup (a second or two) and the warm-up.
    sleep 6
    local s0 c0 t0 s1 c1 t1
    s0=$(ticks "$server"); c0=$(ticks "$client"); t0=$(date +%s.%N)
    sleep $((duration / 2))
    s1=$(ticks "$server"); c1=$(ticks "$client"); t1=$(date +%s.%N)
    wait "$client"
    python3 -c "import json, sys; d = $t1 - $t0; json.dump({'server': ($s1 - $s0) / 100 / d, 'client': ($c1 - $c0) / 100 / d}, open(sys.argv[1], 'w'))" "$out/$name/cpu.json"
}

goodput() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); t=r['total']; print((t['requests'] - t['errors']) / r['durationSeconds'])" "$1"; }

# Capacity is the server's own, with nothing refused.
start --http-shedding-enabled false
load capacity --connections 64 --duration "$duration"
capacity=$(goodput "$out/capacity/report.json")
echo "capacity: $capacity requests/s" >&2
start
load unloaded --rate "$(python3 -c "print(round($capacity / 4))")" --duration "$duration"
overload=$(python3 -c "print(round($capacity * 2))")
start --http-shedding-enabled false
load shedding-off --rate "$overload" --duration "$duration"
start --http-shedding-queue-target-ms 0
load shedding-limit-only --rate "$overload" --duration "$duration"
start
load shedding-on --rate "$overload" --duration "$duration"

floor() {  # NAME PATH: the server's CPU per answer under wrk, in µs
    taskset -c 1 wrk -t1 -c64 -d12s "http://127.0.0.1:$port$2" >"$out/floor-$1.txt" &
    local client=$! s0 s1
    sleep 3; s0=$(ticks "$server"); sleep 6; s1=$(ticks "$server")
    wait "$client"
    python3 -c "import sys; print(($s1 - $s0) / 100 / 6 / float(sys.argv[1]) * 1e6)" "$(awk '/Requests\/sec/ { print $2 }' "$out/floor-$1.txt")"
}
if command -v wrk >/dev/null; then
    echo "== floor: wrk on /health/live and a 404" >&2
    start --http-shedding-enabled false
    live=$(floor live /health/live)
    missing=$(floor missing /api/no-such-route)
    echo "{\"health_live_us\": $live, \"not_found_us\": $missing}" >"$out/floor.json"
else
    echo "wrk is not installed: no floor (apt-get install wrk)" >&2
fi
stop
python3 "$root/bench/shedding_plot.py" "$out" "$capacity"
