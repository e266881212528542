#!/usr/bin/env bash
# nginx as the load balancer in front of several `fleet serve` instances, on loopback, with
# the shipped configuration (deploy/nginx/fleet.conf: least connections, so sequential
# requests alternate between instances; keep-alive to the instances; passive health checks;
# retries of idempotent requests only).
#
#   scripts/lb.sh start DIR PORT HOST:PORT [HOST:PORT...]   # prints the URL to send requests to
#   scripts/lb.sh render DIR PORT HOST:PORT [HOST:PORT...]  # only writes DIR/nginx.conf (and checks it)
#   scripts/lb.sh stop DIR
#
# nginx runs as the calling user (as root: `user root;`) with its configuration, pid, logs
# (DIR/logs/access.log names the instance that answered each request) and temporary files
# under DIR. DIR/fleet.conf is deploy/nginx/fleet.conf with the lines marked `# @server`,
# `# @listen` and `# @access_log` filled in; DIR/nginx.conf wraps it in an http block.
# nginx adds X-Forwarded-For, which Fleet believes from loopback (`http.trusted.proxies`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
template="$root/deploy/nginx/fleet.conf"

command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "nginx not found (apt-get install nginx-light)" >&2; exit 1; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)

render() {  # DIR PORT HOST:PORT...: writes DIR/fleet.conf and DIR/nginx.conf
    local dir=$1 port=$2
    shift 2
    [ $# -gt 0 ] || { echo "give at least one instance HOST:PORT" >&2; exit 2; }
    [ -f "$template" ] || { echo "$template not found" >&2; exit 1; }
    mkdir -p "$dir/logs" "$dir/tmp"
    dir=$(cd "$dir" && pwd)
    awk -v instances="$*" -v listen="127.0.0.1:$port" -v access_log="$dir/logs/access.log" '
        /# @server[ \t]*$/ {
            if (done) next
            done = 1
            # "<indent>server ADDRESS PARAMETERS;  # @server": one such line per instance,
            # each with the parameters of the first marked line.
            match($0, /^[ \t]*server[ \t]+/)
            head = substr($0, 1, RLENGTH)
            rest = substr($0, RLENGTH + 1)
            match(rest, /[ \t;]/)
            parameters = substr(rest, RSTART)
            sub(/[ \t]*# @server[ \t]*$/, "", parameters)
            n = split(instances, list, " ")
            for (i = 1; i <= n; i++) print head list[i] parameters
            next
        }
        /# @listen[ \t]*$/ { sub(/listen[ \t]+[^;]+;/, "listen " listen ";"); print; next }
        /# @access_log[ \t]*$/ { sub(/access_log[ \t]+[^ \t;]+/, "access_log " access_log); print; next }
        { print }
    ' "$template" >"$dir/fleet.conf"
    grep -q "listen 127.0.0.1:$port;" "$dir/fleet.conf" && grep -q "server $1 " "$dir/fleet.conf" \
        || { echo "$template: a line marked # @server or # @listen is missing" >&2; exit 1; }
    local user_line=""
    [ "$(id -u)" = 0 ] && user_line="user root;"
    cat >"$dir/nginx.conf" <<CONF
$user_line
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/fleet.conf;
}
CONF
    "$nginx" -t -q -e "$dir/logs/error.log" -p "$dir" -c "$dir/nginx.conf"
}

case ${1:-} in
start)
    dir=${2:?directory}
    port=${3:?port}
    shift 3
    render "$dir" "$port" "$@"
    "$nginx" -e "$dir/logs/error.log" -p "$dir" -c "$dir/nginx.conf"
    for _ in $(seq 50); do
        [ -s "$dir/nginx.pid" ] && break
        sleep 0.05
    done
    echo "http://127.0.0.1:$port"
    ;;
render)
    dir=${2:?directory}
    port=${3:?port}
    shift 3
    render "$dir" "$port" "$@"
    ;;
stop)
    dir=${2:?directory}
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    ;;
*)
    echo "usage: $0 start DIR PORT HOST:PORT... | render DIR PORT HOST:PORT... | stop DIR" >&2
    exit 2
    ;;
esac
