#!/usr/bin/env bash
# What an Idempotency-Key costs a create: POST /api/articles with wrk, without and with a key
# of its own per request, alternating (A B A B ...) against one `fleet serve` on the embedded
# SQLite default, so that the data's growth and the machine's noise fall on both alike.
#
#   bench/keyed-creates.sh [--rounds 3] [--duration 10s] [--connections 16]
#
# FLEET_BIN=/path/to/fleet (default .build/release/fleet; never builds);
# FLEET_BENCH_SETTINGS="--database-url postgres://..." serves from an empty PostgreSQL database
# instead (T1). Prints a line per run
# and, at the end, the ratio keyed/unkeyed per round and the articles the server holds (one per
# request answered, none twice).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${FLEET_BIN:-.build/release/fleet} rounds=3 duration=10s connections=16
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--duration 10s] [--connections 16]" >&2; exit 2 ;;
    esac
done
[ -x "$bin" ] || { echo "$bin not found: swift build -c release --product fleet" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 1; }
source scripts/free-port.sh
dir=$(mktemp -d) port=$(free_port) admin=$(free_port)
# shellcheck disable=SC2086  # FLEET_BENCH_SETTINGS is a list of flags
"$bin" serve --data-dir "$dir" --http-port "$port" --http-admin-port "$admin" --ratelimit-enabled false --log-level error ${FLEET_BENCH_SETTINGS:-} >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf "localhost:$port/health/ready" >/dev/null && break; sleep 0.1; done
token=$(curl -s -H 'Content-Type: application/json' -d '{"user":{"username":"bench","email":"bench@example.com","password":"password123"}}' \
    "localhost:$port/api/users" | python3 -c 'import json, sys; print(json.load(sys.stdin)["user"]["token"])')
echo "keyed-creates: $bin $([ -n "${FLEET_BENCH_SETTINGS:-}" ] && echo "with FLEET_BENCH_SETTINGS" || echo "on SQLite"), $rounds rounds of $duration each way, $connections connections, load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -a ratios=()
for round in $(seq "$rounds"); do
    declare -A rate=()
    for keyed in 0 1; do
        out=$(BENCH_TOKEN=$token BENCH_IDEMPOTENCY_KEYS=$keyed wrk -t2 -c"$connections" -d"$duration" -s bench/wrk/create_article.lua "http://127.0.0.1:$port/api/articles" 2>&1)
        rate[$keyed]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        echo "round $round $([ "$keyed" = 1 ] && echo "keyed  " || echo "unkeyed"): ${rate[$keyed]} creates/s, latency avg $(awk '/Latency/ {print $2}' <<<"$out"), non-2xx $(awk '/Non-2xx/ {print $5}' <<<"$out" | grep . || echo 0)"
    done
    ratios+=("$(python3 -c "print(f'{${rate[1]} / ${rate[0]}:.2f}')")")
done
echo "keyed/unkeyed per round: ${ratios[*]}"
echo "articles held: $(curl -s "localhost:$port/api/articles?author=bench&limit=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["articlesCount"])')"
