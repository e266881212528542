#!/usr/bin/env bash
# nginx as the load balancer in front of several `fleet serve` instances, on loopback:
# round robin, so consecutive requests alternate between instances.
#
#   scripts/lb.sh start DIR PORT HOST:PORT [HOST:PORT...]   # prints the URL to send requests to
#   scripts/lb.sh stop DIR
#
# nginx runs as the calling user with its configuration, pid and logs under DIR. It adds
# X-Forwarded-For, which Fleet believes from loopback (`http.trusted.proxies`).
set -euo pipefail

command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "nginx not found (apt-get install nginx)" >&2; exit 1; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)

case ${1:-} in
start)
    dir=${2:?directory}
    port=${3:?port}
    shift 3
    [ $# -gt 0 ] || { echo "give at least one instance HOST:PORT" >&2; exit 2; }
    mkdir -p "$dir/logs" "$dir/tmp"
    servers=""
    # Passive health checks: an instance that refuses a connection is left out for 2 s.
    for instance in "$@"; do servers+="        server $instance max_fails=1 fail_timeout=2s;"$'\n'; done
    user_line=""
    [ "$(id -u)" = 0 ] && user_line="user root;"
    cat >"$dir/nginx.conf" <<CONF
$user_line
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    upstream fleet {
$servers        keepalive 64;
    }
    server {
        listen 127.0.0.1:$port;
        client_max_body_size 2m;
        location / {
            proxy_pass http://fleet;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Request-ID \$request_id;
            # A request whose instance refused the connection or broke it is tried on the
            # next one; nginx never replays a POST or PATCH once it was sent (no
            # non_idempotent), so no creation happens twice.
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
        }
    }
}
CONF
    "$nginx" -p "$dir" -c "$dir/nginx.conf"
    for _ in $(seq 50); do
        [ -s "$dir/nginx.pid" ] && break
        sleep 0.05
    done
    echo "http://127.0.0.1:$port"
    ;;
stop)
    dir=${2:?directory}
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    ;;
*)
    echo "usage: $0 start DIR PORT HOST:PORT... | stop DIR" >&2
    exit 2
    ;;
esac
