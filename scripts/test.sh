#!/usr/bin/env bash
# Runs every test Fleet has, on a clean machine:
#   1. installs what the build and tests need (Debian packages),
#   2. builds, then runs the Swift Testing suites on the embedded SQLite default: unit
#      tests, in-process route tests, and tests that start the real binary,
#   3. starts a throwaway PostgreSQL and runs the app's route tests again on it (T1),
#   4. for each topology (T0 SQLite, T1 PostgreSQL) starts `fleet serve` and runs the live
#      checks against it: the official RealWorld suite (when ../shared/realworld is
#      present, or REALWORLD_DIR points at it), /metrics, and a graceful SIGTERM.
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
# libsqlite3-dev: the embedded database; postgresql: topology T1; python3, curl: live checks.
need libsqlite3-dev pkg-config postgresql python3 curl

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

scratch=$(mktemp -d)
chmod 755 "$scratch"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -d "$scratch/pg/data" ] && "$root/scripts/postgres.sh" stop "$scratch/pg" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT

step "building (debug, with tests)"
swift build --build-tests

step "swift test (T0: SQLite)"
FLEET_BIN="$root/.build/debug/fleet" swift test --skip-build

step "starting PostgreSQL (T1)"
postgres_url=$("$root/scripts/postgres.sh" start "$scratch/pg" "$(free_port)")
echo "$postgres_url"

step "swift test FleetAppTests (T1: PostgreSQL)"
FLEET_TEST_POSTGRES_URL="$postgres_url" swift test --skip-build --filter FleetAppTests

# live_checks NAME [fleet serve settings...]
live_checks() {
    local name=$1; shift
    local port; port=$(free_port)
    local log="$scratch/$name.log"
    "$root/.build/debug/fleet" serve --data-dir "$scratch/$name-data" --http-port "$port" \
        --auth-bcrypt-cost 4 --log-level warning "$@" 2>"$log" &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do
        curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
        sleep 0.1
    done
    curl -fsS "http://127.0.0.1:$port/health/ready" || { cat "$log"; exit 1; }
    echo

    local suite="${REALWORLD_DIR:-$root/../shared/realworld}"
    if [ -f "$suite/run-suite.py" ]; then
        step "$name: RealWorld API suite ($suite)"
        python3 "$suite/run-suite.py" --host "http://127.0.0.1:$port"
    else
        step "$name: RealWorld API suite not found at $suite: skipped (set REALWORLD_DIR to run it)"
    fi

    step "$name: metrics"
    curl -fsS "http://127.0.0.1:$port/api/tags" >/dev/null
    local metrics; metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
    grep -q '^http_server_request_duration_seconds_bucket{http_route="/api/tags"' <<<"$metrics" \
        || { echo "FAIL: /metrics has no request duration histogram for /api/tags"; exit 1; }
    for metric in db_client_operation_duration_seconds_count db_client_connection_wait_time_seconds_count \
        db_client_connection_count db_client_connection_pending_requests; do
        grep -q "^$metric" <<<"$metrics" || { echo "FAIL: /metrics has no $metric"; exit 1; }
    done
    echo "ok: request, database and connection-pool metrics exported"

    step "$name: graceful shutdown"
    kill -TERM "$pid"
    local status=0
    wait "$pid" || status=$?
    [ "$status" = 0 ] || { echo "FAIL: fleet exited with $status after SIGTERM"; cat "$log"; exit 1; }
    echo "ok: fleet exited 0 after SIGTERM"
}

step "live checks, T0 (embedded SQLite)"
live_checks t0

step "live checks, T1 (PostgreSQL)"
psql "$postgres_url" -qc "CREATE DATABASE fleet_live" >/dev/null
live_checks t1 --database-url "${postgres_url%/postgres}/fleet_live"

step "all tests passed"
