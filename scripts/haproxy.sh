#!/usr/bin/env bash
# HAProxy as the load balancer in front of several `fleet serve` instances, on loopback,
# with the shipped configuration (deploy/haproxy/haproxy.cfg), as the calling user:
#
#   scripts/haproxy.sh render DIR PORT STATS_PORT HOST:PORT [HOST:PORT...]  # writes and checks DIR/haproxy.cfg
#   scripts/haproxy.sh run DIR PORT STATS_PORT HOST:PORT [HOST:PORT...]     # renders, then becomes HAProxy (foreground, logs on stderr)
#
# DIR/haproxy.cfg is deploy/haproxy/haproxy.cfg with the lines marked `# @server` (one per
# instance, named fleet1, fleet2, ...), `# @bind` and `# @stats-bind` filled in and those
# marked `# @privileged` dropped. `run` execs HAProxy in the foreground (`-db`), so the
# caller's process is HAProxy's: stop it with a signal. HAPROXY=PATH runs another binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
template="$root/deploy/haproxy/haproxy.cfg"
haproxy=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
[ -x "$haproxy" ] || { echo "haproxy not found (apt-get install haproxy)" >&2; exit 1; }

render() {  # DIR PORT STATS_PORT HOST:PORT...
    local dir=$1 port=$2 stats=$3
    shift 3
    [ $# -gt 0 ] || { echo "give at least one instance HOST:PORT" >&2; exit 2; }
    mkdir -p "$dir"
    awk -v instances="$*" -v bind="127.0.0.1:$port" -v stats="127.0.0.1:$stats" '
        /# @privileged[ \t]*$/ { next }
        /# @server[ \t]*$/ {
            if (done) next
            done = 1
            # "<indent>server NAME ADDRESS PARAMETERS  # @server": one line per instance, named
            # NAME with its number in place of the example'"'"'s (fleet1, fleet2, ...).
            match($0, /^[ \t]*server[ \t]+/); head = substr($0, 1, RLENGTH)
            rest = substr($0, RLENGTH + 1)
            split(rest, words, /[ \t]+/); name = words[1]; sub(/[0-9]+$/, "", name)
            parameters = rest; sub(/^[^ \t]+[ \t]+[^ \t]+/, "", parameters); sub(/[ \t]*# @server[ \t]*$/, "", parameters)
            n = split(instances, list, " ")
            for (i = 1; i <= n; i++) print head name i " " list[i] parameters
            next
        }
        /# @bind[ \t]*$/ { sub(/bind[ \t]+[^ \t]+/, "bind " bind); print; next }
        /# @stats-bind[ \t]*$/ { sub(/bind[ \t]+[^ \t]+/, "bind " stats); print; next }
        { print }
    ' "$template" >"$dir/haproxy.cfg"
    grep -q "server fleet$# $(eval echo "\${$#}")" "$dir/haproxy.cfg" && grep -q "bind 127.0.0.1:$port" "$dir/haproxy.cfg" \
        || { echo "$template: a line marked # @server or # @bind is missing" >&2; exit 1; }
    "$haproxy" -c -q -f "$dir/haproxy.cfg"
}

case ${1:-} in
render)
    shift
    render "$@"
    ;;
run)
    shift
    render "$@"
    exec "$haproxy" -db -f "$1/haproxy.cfg"
    ;;
*)
    echo "usage: $0 render|run DIR PORT STATS_PORT HOST:PORT..." >&2
    exit 2
    ;;
esac
