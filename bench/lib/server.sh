# Shared by bench/run.sh and bench/cache.sh (sourced): starting and stopping `fleet serve`.
# Expects FLEET_BIN, PORT, BCRYPT_COST, KEEP_DATA and die(); FLEET_BENCH_SETTINGS, when set,
# is a list of flags for every server (PostgreSQL, Redis). Rate limiting is off: a
# benchmark is one client sending as fast as it can.
# shellcheck shell=bash

SERVER_PID=""
BASE_URL=""
METRICS_URL=""   # the admin listener, where /metrics is
WORK_DATA=""
TMP="$(mktemp -d)"

# Stops the server we started (if any): SIGTERM for a graceful drain, SIGKILL after 10 s.
stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  local _
  for _ in $(seq 50); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  stop_server
  if [[ -n $WORK_DATA && $KEEP_DATA == 0 ]]; then rm -rf "$WORK_DATA"; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Prints the first port >= $1 that nothing listens on.
free_port() {
  python3 - "$1" <<'PY'
import socket, sys
start = int(sys.argv[1])
for port in range(start, start + 200):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    break
else:
    sys.exit(f"no free port in {start}..{start + 199}")
PY
}

# start_server DATA_DIR LOG_FILE [extra settings...]: `fleet serve` in the background; waits
# for /health/ready.
start_server() {
  local data_dir=$1 log=$2 port admin_port
  shift 2
  port=$(free_port "$PORT") || die "could not find a free port"
  admin_port=$(free_port $((port + 1))) || die "could not find a free port"
  # shellcheck disable=SC2086 # FLEET_BENCH_SETTINGS is a list of flags
  "$FLEET_BIN" serve --http-host 127.0.0.1 --http-port "$port" --http-admin-port "$admin_port" --data-dir "$data_dir" ${FLEET_BENCH_SETTINGS:-} \
    --auth-bcrypt-cost "$BCRYPT_COST" --ratelimit-enabled false --log-level warning "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  BASE_URL="http://127.0.0.1:$port"
  METRICS_URL="http://127.0.0.1:$admin_port"
  local deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null --max-time 2 "$BASE_URL/health/ready" 2>/dev/null; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 20 "$log" >&2
      SERVER_PID=""
      die "the server exited during startup (log: $log)"
    fi
    ((SECONDS < deadline)) || { tail -n 20 "$log" >&2; die "the server was not ready after 60 s (log: $log)"; }
    sleep 0.2
  done
}
