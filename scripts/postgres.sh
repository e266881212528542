#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for tests and for running topology T1 locally.
#
#   scripts/postgres.sh start DIR PORT [durable]           # prints the URL of its `postgres` database
#   scripts/postgres.sh replica DIR PORT PRIMARY_PORT       # a streaming replica of that primary
#   scripts/postgres.sh stop DIR
#   scripts/postgres.sh restart DIR                         # fast stop, then start as before
#   scripts/postgres.sh crash DIR                           # immediate stop: no checkpoint, as a crash
#   scripts/postgres.sh promote DIR                         # a replica becomes a primary
#   scripts/postgres.sh freeze DIR                          # SIGSTOP the server and its backends: a hung
#                                                           # server whose connections stay open
#   scripts/postgres.sh thaw DIR                            # SIGCONT them
#
# The cluster lives in DIR (trust authentication, user `fleet`, loopback only). PostgreSQL
# refuses to run as root, so as root the server runs as the `postgres` system user.
set -euo pipefail

bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case ${1:-} in
start)
    dir=${2:?directory}
    port=${3:?port}
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U fleet --auth=trust -E UTF8 --no-sync >/dev/null
    options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=1000"
    # For tests, durability is relaxed; `durable` keeps PostgreSQL's defaults (benchmarks).
    [ "${4:-}" = durable ] || options="$options -c fsync=off -c synchronous_commit=off"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "$options" start >/dev/null
    echo "postgres://fleet@127.0.0.1:$port/postgres"
    ;;
replica)
    # A hot standby made with pg_basebackup (-R writes the standby settings), streaming
    # from the primary on PRIMARY_PORT. initdb's trust rules already allow replication
    # connections from loopback. A fast checkpoint: the default spreads it over minutes
    # once the primary has dirty buffers (e.g. right after CREATE DATABASE).
    dir=${2:?directory}
    port=${3:?port}
    primary=${4:?primary port}
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U fleet -D "$dir/data" -R -X stream --checkpoint=fast --no-sync >/dev/null
    options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=1000 -c hot_standby=on"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "$options" start >/dev/null
    echo "postgres://fleet@127.0.0.1:$port/postgres"
    ;;
stop)
    dir=${2:?directory}
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
crash)
    dir=${2:?directory}
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
promote)
    dir=${2:?directory}
    as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 30 promote >/dev/null
    ;;
freeze | thaw)
    dir=${2:?directory}
    postmaster=$(head -1 "$dir/data/postmaster.pid")
    signal=$([ "$1" = freeze ] && echo STOP || echo CONT)
    # Children first on freeze, so that none is left running to notice its parent stopped.
    kill -"$signal" $(pgrep -P "$postmaster") "$postmaster"
    ;;
restart)
    dir=${2:?directory}
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 30 restart >/dev/null
    ;;
*)
    echo "usage: $0 start DIR PORT [durable] | replica DIR PORT PRIMARY_PORT | stop DIR | restart DIR | crash DIR | promote DIR | freeze DIR | thaw DIR" >&2
    exit 2
    ;;
esac
