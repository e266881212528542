#!/usr/bin/env bash
# Runs every test Fleet has, on a clean machine:
#   1. installs what the build and tests need (Debian packages),
#   2. builds, then runs the Swift Testing suites (unit, in-process route tests, and the
#      tests that start the real binary),
#   3. starts `fleet serve` on the embedded default and runs the live checks against it:
#      the official RealWorld suite (when ../shared/realworld is present, or
#      REALWORLD_DIR points at it), /metrics, and a graceful SIGTERM.
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
# libsqlite3-dev: the embedded database; python3 and curl: the live checks.
need libsqlite3-dev pkg-config python3 curl

step "building (debug, with tests)"
swift build --build-tests

step "swift test"
FLEET_BIN="$root/.build/debug/fleet" swift test --skip-build

step "live checks against fleet serve (embedded SQLite)"
bin="$root/.build/debug/fleet"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --data-dir "$data" --http-port "$port" --auth-bcrypt-cost 4 --log-level warning &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/health/ready"; echo

suite="${REALWORLD_DIR:-$root/../shared/realworld}"
if [ -f "$suite/run-suite.py" ]; then
    step "RealWorld API suite ($suite)"
    python3 "$suite/run-suite.py" --host "http://127.0.0.1:$port"
else
    step "RealWorld API suite not found at $suite: skipped (set REALWORLD_DIR to run it)"
fi

step "metrics"
curl -fsS "http://127.0.0.1:$port/api/tags" >/dev/null
metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
grep -q '^http_server_request_duration_seconds_bucket{http_route="/api/tags"' <<<"$metrics" \
    || { echo "FAIL: /metrics has no request duration histogram for /api/tags"; exit 1; }
grep -q '^db_client_operation_duration_seconds_count' <<<"$metrics" \
    || { echo "FAIL: /metrics has no database timings"; exit 1; }
echo "ok: request and database histograms exported"

step "graceful shutdown"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" = 0 ] || { echo "FAIL: fleet exited with $status after SIGTERM"; exit 1; }
echo "ok: fleet exited 0 after SIGTERM"

step "all tests passed"
