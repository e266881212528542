#!/usr/bin/env bash
# Runs every test Fleet has, on a clean machine:
#   1. installs what the build and tests need (Debian packages),
#   2. builds, then runs the Swift Testing suites on the embedded SQLite default: unit
#      tests, in-process route tests, and tests that start the real binary,
#      (the Redis tests start their own redis-server),
#   3. starts a throwaway PostgreSQL and runs the app's route tests again on it (T1),
#   4. for each topology starts `fleet serve` and runs the live checks against it: the
#      official RealWorld suite (when ../shared/realworld is present, or REALWORLD_DIR
#      points at it), /metrics, and a graceful SIGTERM. Topologies: T0 (SQLite), T1
#      (PostgreSQL), and two instances on a PostgreSQL primary and its streaming replica,
#      sharing a Redis, behind nginx, with requests alternating between them; then the
#      primary is stopped: reads must go on and writes get 503.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

# Installs Debian packages that are missing (as root, or through sudo).
need() {
    local missing=()
    for package in "$@"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    step "installing ${missing[*]}"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
# libsqlite3-dev: the embedded database; postgresql: topology T1; redis-server: cache and
# rate limits; nginx-light: the load balancer; python3, curl: live checks.
need libsqlite3-dev pkg-config postgresql redis-server nginx-light python3 curl
# The Redis tests fail (instead of skipping) if redis-server is missing.
export FLEET_TEST_REQUIRE_REDIS=1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

scratch=$(mktemp -d)
chmod 755 "$scratch"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    "$root/scripts/lb.sh" stop "$scratch/lb" 2>/dev/null || true
    "$root/scripts/redis.sh" stop "$scratch/redis" 2>/dev/null || true
    [ -d "$scratch/pg-replica/data" ] && "$root/scripts/postgres.sh" stop "$scratch/pg-replica" 2>/dev/null || true
    [ -d "$scratch/pg/data" ] && "$root/scripts/postgres.sh" stop "$scratch/pg" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT

step "building (debug, with tests)"
swift build --build-tests

step "swift test (T0: SQLite)"
FLEET_BIN="$root/.build/debug/fleet" swift test --skip-build

step "starting PostgreSQL (T1) and a streaming replica of it (pg_basebackup)"
primary_port=$(free_port)
postgres_url=$("$root/scripts/postgres.sh" start "$scratch/pg" "$primary_port")
replica_url=$("$root/scripts/postgres.sh" replica "$scratch/pg-replica" "$(free_port)" "$primary_port")
echo "primary $postgres_url, replica $replica_url"

step "swift test FleetAppTests (T1: PostgreSQL, with the replica for the replica tests)"
FLEET_TEST_POSTGRES_URL="$postgres_url" FLEET_TEST_POSTGRES_REPLICA_URL="$replica_url" swift test --skip-build --filter FleetAppTests

# The rate limits stay on in the live checks, raised so that the suite's burst of
# sign-ups from one address fits.
limits=(--ratelimit-auth-per-minute 10000 --ratelimit-write-per-minute 100000 --ratelimit-read-per-minute 100000)

# live_checks NAME INSTANCES [fleet serve settings...]: starts INSTANCES servers (behind
# nginx when more than one), then runs the suite, checks /metrics and stops them.
live_checks() {
    local name=$1 count=$2; shift 2
    local ports=() instance_pids=() url
    for index in $(seq "$count"); do
        local port; port=$(free_port)
        local log="$scratch/$name-$index.log"
        "$root/.build/debug/fleet" serve --data-dir "$scratch/$name-data" --http-port "$port" \
            --auth-bcrypt-cost 4 --log-level warning "${limits[@]}" "$@" 2>"$log" &
        pids+=("$!")
        instance_pids+=("$!")
        ports+=("$port")
        for _ in $(seq 100); do
            curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
            sleep 0.1
        done
        curl -fsS "http://127.0.0.1:$port/health/ready" || { cat "$log"; exit 1; }
        echo
    done
    if [ "$count" -gt 1 ]; then
        local backends=()
        for port in "${ports[@]}"; do backends+=("127.0.0.1:$port"); done
        url=$("$root/scripts/lb.sh" start "$scratch/lb" "$(free_port)" "${backends[@]}")
        echo "nginx at $url, round robin over ${backends[*]}"
    else
        url="http://127.0.0.1:${ports[0]}"
    fi

    local suite="${REALWORLD_DIR:-$root/../shared/realworld}"
    if [ -f "$suite/run-suite.py" ]; then
        step "$name: RealWorld API suite ($suite)"
        python3 "$suite/run-suite.py" --host "$url"
    else
        step "$name: RealWorld API suite not found at $suite: skipped (set REALWORLD_DIR to run it)"
    fi

    step "$name: metrics"
    local headers; headers=$(curl -fsS -D - -o /dev/null "$url/api/tags")
    grep -qi '^RateLimit-Policy: "read"' <<<"$headers" || { echo "FAIL: no RateLimit-Policy header"; exit 1; }
    grep -qi '^Cache-Status: fleet' <<<"$headers" || { echo "FAIL: no Cache-Status header"; exit 1; }
    for port in "${ports[@]}"; do
        curl -fsS "http://127.0.0.1:$port/api/tags" >/dev/null
        local metrics; metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
        # Every instance served a share of the suite (round robin), or the only one all of it.
        local served
        served=$(awk '/^http_server_request_duration_seconds_count/ { sum += $NF } END { print int(sum) }' <<<"$metrics")
        [ "$served" -ge $((100 / count)) ] || { echo "FAIL: instance on $port served only $served requests"; exit 1; }
        echo "instance on $port served $served requests"
        grep -q '^http_server_request_duration_seconds_bucket{http_route="/api/tags"' <<<"$metrics" \
            || { echo "FAIL: instance on $port has no request duration histogram for /api/tags"; exit 1; }
        for metric in db_client_operation_duration_seconds_count db_client_connection_wait_time_seconds_count \
            db_client_connection_count db_client_connection_pending_requests cache_requests_total; do
            grep -q "^$metric" <<<"$metrics" || { echo "FAIL: instance on $port: /metrics has no $metric"; exit 1; }
        done
    done
    echo "ok: request, database, pool and cache metrics exported by every instance; rate-limit and cache headers present"

    if [ -n "${after_suite:-}" ]; then "$after_suite" "$url"; fi

    step "$name: graceful shutdown"
    [ "$count" -gt 1 ] && "$root/scripts/lb.sh" stop "$scratch/lb"
    for pid in "${instance_pids[@]}"; do
        kill -TERM "$pid"
        local status=0
        wait "$pid" || status=$?
        [ "$status" = 0 ] || { echo "FAIL: fleet exited with $status after SIGTERM"; cat "$scratch/$name"-*.log; exit 1; }
    done
    echo "ok: every instance exited 0 after SIGTERM"
}

step "live checks, T0 (embedded SQLite)"
live_checks t0 1

step "live checks, T1 (PostgreSQL)"
psql "$postgres_url" -qc "CREATE DATABASE fleet_live" >/dev/null
live_checks t1 1 --database-url "${postgres_url%/postgres}/fleet_live"

# With the primary stopped, reads go on (from the replica) and writes get 503.
primary_down() {
    local url=$1
    step "pair: primary down"
    "$root/scripts/postgres.sh" stop "$scratch/pg"
    sleep 1
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/articles?limit=5&offset=1")
    [ "$status" = 200 ] || { echo "FAIL: a read got $status with the primary down"; exit 1; }
    local body; body=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' \
        -d '{"user":{"username":"late","email":"late@example.com","password":"password123"}}' "$url/api/users")
    [ "$(tail -n1 <<<"$body")" = 503 ] || { echo "FAIL: a write with the primary down got: $body"; exit 1; }
    grep -q '"errors"' <<<"$body" || { echo "FAIL: no error body: $body"; exit 1; }
    echo "ok: reads served by the replica, writes refused with 503: $(head -n1 <<<"$body")"
}

step "live checks, two instances on PostgreSQL (primary + replica) and Redis, behind nginx"
redis_url=$("$root/scripts/redis.sh" start "$scratch/redis" "$(free_port)")
psql "$postgres_url" -qc "CREATE DATABASE fleet_pair" >/dev/null
after_suite=primary_down live_checks pair 2 --database-url "${postgres_url%/postgres}/fleet_pair" \
    --database-replica-urls "${replica_url%/postgres}/fleet_pair" --redis-url "$redis_url"

step "all tests passed"
