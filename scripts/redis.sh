#!/usr/bin/env bash
# A throwaway Redis on loopback, for tests and for running the Redis topologies locally.
#
#   scripts/redis.sh start DIR PORT   # prints the URL to give `fleet serve --redis-url`
#   scripts/redis.sh stop DIR
#
# Nothing is persisted (the cache and rate limits are rebuilt from the database and by
# time); the server runs as the calling user.
set -euo pipefail

command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install redis-server)" >&2; exit 1; }

case ${1:-} in
start)
    dir=${2:?directory}
    port=${3:?port}
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    for _ in $(seq 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.05
    done
    redis-cli -p "$port" ping >/dev/null || { cat "$dir/redis.log" >&2; exit 1; }
    echo "redis://127.0.0.1:$port"
    ;;
stop)
    dir=${2:?directory}
    [ -f "$dir/redis.pid" ] || exit 0
    pid=$(cat "$dir/redis.pid")
    kill "$pid" 2>/dev/null || exit 0
    # Returns once it has exited (within 5 s), so that nothing outlives the caller's cleanup.
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || exit 0
        sleep 0.05
    done
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
