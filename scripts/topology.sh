#!/usr/bin/env bash
# The databases of a topology on loopback, for tests and for running it locally.
#
#   scripts/topology.sh start t1|t3 DIR [--redis] [--durable] [--sync]   # prints the `fleet serve` flags
#   scripts/topology.sh stop DIR
#
# T1: one PostgreSQL. T3: two shards, each a PostgreSQL primary and one streaming replica
# of it; without a shard map file Fleet splits the 1024 logical shards evenly (0-511 on
# shard 0, 512-1023 on shard 1). Every primary gets a `fleet` database (created before
# its replica is made, so the replica has it too), and the flags name it. `--redis` adds
# a Redis and its `--redis-url`; `--durable` keeps PostgreSQL's fsync and synchronous
# commit (benchmarks; tests run without); `--sync` makes each shard's replication
# synchronous (remote_write), so that a failover loses no acknowledged write. Ports are
# free loopback ports, picked at start.
#
# Layout of DIR (new or empty): shard<n>/ (primary of shard n), shard<n>-replica/, redis/.
# Tests stop a single server with `scripts/postgres.sh stop DIR/shard1` and the like;
# `stop` skips servers that are already stopped.
set -euo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)

source "$scripts/free-port.sh"

# Stops the PostgreSQL in $1 if it runs (its postmaster.pid exists while it does).
stop_postgres() { if [ -f "$1/data/postmaster.pid" ]; then "$scripts/postgres.sh" stop "$1"; fi; }

case ${1:-} in
start)
    topology=${2:?t1 or t3}
    dir=${3:?directory}
    redis="" durable="" sync=""
    for option in "${@:4}"; do
        case $option in
        --redis) redis=1 ;;
        --durable) durable=durable ;;
        --sync) sync=1 ;;
        *) echo "unknown option $option" >&2; exit 2 ;;
        esac
    done
    case $topology in
    t1) shards=1 replicas=0 ;;
    t3) shards=2 replicas=1 ;;
    *) echo "unknown topology $topology (t1 or t3)" >&2; exit 2 ;;
    esac
    [ ! -e "$dir/shard0" ] || { echo "$dir is in use: stop it and remove it first" >&2; exit 1; }
    mkdir -p "$dir"
    # A failed start leaves nothing running.
    trap '"$scripts/topology.sh" stop "$dir" >/dev/null 2>&1' ERR
    flags=()
    for shard in $(seq 0 $((shards - 1))); do
        port=$(free_port)
        url=$("$scripts/postgres.sh" start "$dir/shard$shard" "$port" $durable)
        psql "$url" -qc "CREATE DATABASE fleet" >/dev/null
        url=${url%/postgres}/fleet
        # Shard 0 takes the plain database settings, shard n the `database.shard.<n>` ones.
        prefix=--database; [ "$shard" = 0 ] || prefix=--database-shard-$shard
        flags+=("$prefix-url" "$url")
        if [ "$replicas" = 1 ]; then
            replica=$("$scripts/postgres.sh" replica "$dir/shard$shard-replica" "$(free_port)" "$port")
            flags+=("$prefix-replica-urls" "${replica%/postgres}/fleet")
            if [ -n "$sync" ]; then
                # Synchronous replication: a commit is acknowledged once the replica has
                # it (written, not yet flushed), so promoting the replica after the primary
                # dies loses no acknowledged write. The price: with the replica down too,
                # writes wait (production runs two replicas with ANY 1 for that).
                psql "$url" -qc "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
                psql "$url" -qc "ALTER DATABASE fleet SET synchronous_commit = 'remote_write'" >/dev/null
            fi
        fi
    done
    if [ -n "$redis" ]; then
        flags+=(--redis-url "$("$scripts/redis.sh" start "$dir/redis" "$(free_port)")")
    fi
    echo "${flags[*]}"
    ;;
stop)
    dir=${2:?directory}
    # Replicas first, so that none is left retrying a primary that is gone.
    for server in "$dir"/shard*-replica "$dir"/shard*; do
        # The second pattern matches the replicas again; they are stopped by then.
        stop_postgres "$server"
    done
    "$scripts/redis.sh" stop "$dir/redis"
    ;;
*)
    echo "usage: $0 start t1|t3 DIR [--redis] [--durable] [--sync] | stop DIR" >&2
    exit 2
    ;;
esac
