#!/usr/bin/env bash
# The shipped load balancer configurations under traffic, with an instance stopped and
# started again (issue 12, section 4):
#
#   scripts/lb-check.sh [--bin PATH] [--balancer nginx|haproxy|both] [--rate 120] [--keep]
#
# Starts a throwaway PostgreSQL (scripts/postgres.sh) and, for each balancer, two
# `fleet serve` instances on it (shared JWT secret, so a token from one works on the other)
# behind that balancer, running its shipped configuration: nginx through scripts/lb.sh
# (deploy/nginx/fleet.conf), HAProxy through scripts/haproxy.sh (deploy/haproxy/haproxy.cfg,
# as the calling user in a temp folder).
# Then a client sends steady traffic through the balancer (by default 120 requests/s
# from 8 keep-alive connections: 70 % reads of lists, articles, comments, profiles and
# tags; 30 % writes: sign-ups, articles and comments (POST), profile updates (PUT)) and:
#   1. after 3 s it sends 6 sign-ups at once on connections of their own (each hashes a
#      password for some tens of milliseconds), and 15 ms later SIGTERM to instance 1: a
#      graceful stop (readiness fails, it stops accepting, finishes what it is serving,
#      exits);
#   2. 1 s after it exited, instance 1 is started again on the same ports;
#   3. traffic goes on until it has been back for a while: nginx tries a failed instance
#      again after fail_timeout (2 s); HAProxy marks it UP after two passing checks of
#      /health/ready and ramps its weight up (slowstart): traffic runs 6 s into that.
# Checks (the run fails unless all hold):
#   - no request failed, except a non-idempotent one (POST, PATCH) answered 502 by the
#     balancer whose time in flight (from the client's send to its answer) overlaps the
#     stop window, from the SIGTERM to the instance's exit: such a request may have been
#     written onto a connection that the stopping instance closed at that instant, and a
#     balancer must not replay it (it may have been applied). There can be at most one
#     per client connection. Every GET and PUT must succeed throughout, and every request
#     sent outside the stop window (expected, and so far measured: 0 failures in all);
#   - the stopped instance exits with status 0, and at least one of the burst's sign-ups
#     was answered by it (per the balancer's log) after the SIGTERM: it drained;
#   - the balancer held no request more than 1.5 s apart from the instance's own time
#     (queueing, connecting, failed attempts and pauses between retries, from its log):
#     HAProxy 2.6 with leastconn pauses 1 s before retrying a request whose new
#     connection was refused (once: it then has the instance DOWN); nginx retries at once;
#   - every write the client saw acknowledged (each article created) is read back through
#     the balancer at the end;
#   - before the stop, each instance served at least 20 % of the requests (balancing);
#   - after the restart, the restarted instance served requests again, and at least
#     10 % of those in the last 2 s (a fair share is 50 %; HAProxy's slow start may still
#     hold it below that).
# Prints progress each second and one summary line per balancer; exits 1 if a check
# failed. Installs nginx-light and haproxy with apt-get if they are missing (HAPROXY=PATH
# runs another binary). Needs PostgreSQL's server (apt: postgresql), python3 and curl.
# --keep leaves the temp folder (logs, configurations, results as JSON) and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="$root/.build/debug/fleet" balancer=both rate=120 keep=""
while [ $# -gt 0 ]; do
    case $1 in
    --bin) bin=$2; shift 2 ;;
    --balancer) balancer=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--bin PATH] [--balancer nginx|haproxy|both] [--rate R] [--keep]" >&2; exit 2 ;;
    esac
done
case $balancer in
nginx | haproxy) balancers=("$balancer") ;;
both) balancers=(nginx haproxy) ;;
*) echo "--balancer: nginx, haproxy or both" >&2; exit 2 ;;
esac
[ -x "$bin" ] || { echo "fleet binary not found: $bin (swift build, or --bin PATH)" >&2; exit 1; }
began=$(date +%s%N)
say() { local tenths=$((($(date +%s%N) - began) / 100000000)); printf '[lb-check %3d.%ds] %s\n' $((tenths / 10)) $((tenths % 10)) "$*"; }

install_missing() {  # PACKAGE: installs it with apt-get (as root, or through sudo)
    local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    say "installing $1 (apt-get)"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" >/dev/null
}
haproxy=${HAPROXY:-}
for name in "${balancers[@]}"; do
    case $name in
    nginx) command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || install_missing nginx-light ;;
    haproxy)
        if [ -z "$haproxy" ]; then
            command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || install_missing haproxy
            haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
        fi
        ;;
    esac
done

dir=$(mktemp -d)
chmod 755 "$dir"
source "$root/scripts/free-port.sh"
declare -a pids=() ports=() admins=()
haproxy_pid="" load_pid=""
cleanup() {
    [ -z "$load_pid" ] || kill "$load_pid" 2>/dev/null || true
    for pid in "${pids[@]}"; do [ -z "$pid" ] || { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true; done
    "$root/scripts/lb.sh" stop "$dir/nginx" 2>/dev/null || true
    [ -z "$haproxy_pid" ] || kill "$haproxy_pid" 2>/dev/null || true
    [ -d "$dir/pg/data" ] && "$root/scripts/postgres.sh" stop "$dir/pg" >/dev/null 2>&1 || true
    if [ -n "$keep" ]; then echo "lb-check: kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

# The client: steady traffic through the balancer, with every request's outcome and
# timing recorded, then the checks.
cat >"$dir/client.py" <<'PY'
import argparse, http.client, json, os, random, re, signal, sys, threading, time, urllib.request, uuid

p = argparse.ArgumentParser()
p.add_argument("--url"); p.add_argument("--name"); p.add_argument("--rate", type=float)
p.add_argument("--connections", type=int, default=8); p.add_argument("--admins")
p.add_argument("--stats", default=""); p.add_argument("--started"); p.add_argument("--stop")
p.add_argument("--events"); p.add_argument("--out"); p.add_argument("--victim-pid", type=int)
p.add_argument("--victim", help="HOST:PORT of the instance that is stopped"); p.add_argument("--stop-after", type=float, default=3)
p.add_argument("--lb-log"); p.add_argument("--burst", type=int, default=6)
a = p.parse_args()
host, port = re.match(r"http://([^:/]+):(\d+)", a.url).groups()
port = int(port)
admins = [int(x) for x in a.admins.split(",")]
run = uuid.uuid4().hex[:8]
lock = threading.Lock()
records = []   # (start, end, method, op, status or error, request id)
slugs = []     # articles whose creation was acknowledged
stop = threading.Event()
counter = iter(range(10**9))

def request(conn, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json", "X-Request-ID": f"lbcheck-{a.name}-{run}-{next(counter)}"}
    if token: headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    start = time.time()
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        outcome = response.status
    except Exception as error:  # the connection to the balancer broke: a failure too
        conn.close()
        payload, outcome = b"", type(error).__name__
    return start, time.time(), outcome, payload, headers["X-Request-ID"]

def signup(conn, tag):
    name = f"lb{run}{tag}"
    s, e, status, payload, rid = request(conn, "POST", "/api/users",
        {"user": {"username": name, "email": f"{name}@example.com", "password": "lb-check-password"}})
    return (s, e, status, rid), (json.loads(payload)["user"]["token"] if status in (200, 201) else None), name

def create_article(conn, token, tag):
    s, e, status, payload, rid = request(conn, "POST", "/api/articles",
        {"article": {"title": f"lb check {run} {tag}", "description": "d", "body": "b", "tagList": ["lbcheck"]}}, token)
    slug = json.loads(payload)["article"]["slug"] if status in (200, 201) else None
    return (s, e, status, rid), slug

# Setup: one user and one article per connection, through the balancer.
users = []
setup = http.client.HTTPConnection(host, port, timeout=10)
for i in range(a.connections):
    (_, _, status, _), token, name = signup(setup, f"u{i}")
    if not token: sys.exit(f"setup: sign-up through the balancer answered {status}")
    (_, _, status, _), slug = create_article(setup, token, f"setup{i}")
    if not slug: sys.exit(f"setup: creating an article answered {status}")
    users.append((token, name)); slugs.append(slug)
setup.close()

OPS = [("GET", "list", 20), ("GET", "tags", 10), ("GET", "article", 20), ("GET", "comments", 10), ("GET", "profile", 10),
       ("POST", "signup", 5), ("POST", "create", 10), ("POST", "comment", 10), ("PUT", "user", 5)]
weights = [w for _, _, w in OPS]

def worker(index):
    rng = random.Random(index)
    token, name = users[index]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    interval = a.connections / a.rate
    due = time.time() + rng.random() * interval
    n = 0
    while not stop.is_set():
        now = time.time()
        if due > now: time.sleep(due - now)
        due = max(due + interval, time.time() - interval)
        method, op, _ = rng.choices(OPS, weights)[0]
        with lock: slug = rng.choice(slugs)
        n += 1
        if op == "list": r = request(conn, method, "/api/articles?limit=10")
        elif op == "tags": r = request(conn, method, "/api/tags")
        elif op == "article": r = request(conn, method, f"/api/articles/{slug}")
        elif op == "comments": r = request(conn, method, f"/api/articles/{slug}/comments")
        elif op == "profile": r = request(conn, method, f"/api/profiles/{rng.choice(users)[1]}")
        elif op == "signup": r, _, _ = signup(conn, f"w{index}n{n}")
        elif op == "create":
            r, created = create_article(conn, token, f"w{index}n{n}")
            if created:
                with lock: slugs.append(created)
        elif op == "comment":
            r = request(conn, method, f"/api/articles/{slug}/comments", {"comment": {"body": f"c{n}"}}, token)
        else:
            r = request(conn, method, "/api/user", {"user": {"bio": f"bio {n}"}}, token)
        with lock: records.append((r[0], r[1], method, op, r[2], r[-1]))

def burst(index):
    # A sign-up (bcrypt) on a connection of its own: a request that is still being served
    # when the SIGTERM arrives, wherever the balancer sent it.
    conn = http.client.HTTPConnection(host, port, timeout=10)
    r, _, _ = signup(conn, f"b{index}")
    with lock: records.append((r[0], r[1], "POST", "burst", r[2], r[-1]))

served = []  # (time, instance, API requests served since it started), from its /metrics
states = []  # (time, server, status, weight), from HAProxy's stats
def poll():
    while not stop.is_set():
        t = time.time()
        for index, admin in enumerate(admins):
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=0.5).read().decode()
                count = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                            if line.startswith("http_server_request_duration_seconds_count{") and 'http_route="/health' not in line)
                served.append((t, index, int(count)))
            except Exception:
                served.append((t, index, None))
        if a.stats:
            try:
                rows = urllib.request.urlopen(a.stats, timeout=0.5).read().decode().splitlines()
                header = rows[0].lstrip("# ").split(",")
                for row in rows[1:]:
                    fields = dict(zip(header, row.split(",")))
                    if fields.get("pxname") == "fleet" and fields.get("svname", "").startswith("fleet"):
                        states.append((t, fields["svname"], fields["status"], fields["weight"]))
            except Exception:
                pass
        time.sleep(0.25)

threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(a.connections)]
threads.append(threading.Thread(target=poll, daemon=True))
t0 = time.time()
for t in threads: t.start()
open(a.started, "w").write(f"{t0}\n")

def latest(index):
    values = [c for t, i, c in served if i == index and c is not None]
    return values[-1] if values else 0

shown, last, fired = 0, [0, 0], False
while not os.path.exists(a.stop):
    time.sleep(0.01)
    now = time.time()
    if not fired and now - t0 >= a.stop_after:
        fired = True
        extra = [threading.Thread(target=burst, args=(i,), daemon=True) for i in range(a.burst)]
        for t in extra: t.start()
        threads += extra
        time.sleep(0.015)  # the burst's sign-ups are in their password hashing by now
        sigterm = time.time()
        os.kill(a.victim_pid, signal.SIGTERM)
        with open(a.events, "a") as f: f.write(f"sigterm {sigterm}\n")
        print(f"  {a.name} +{now - t0:4.1f}s: {a.burst} sign-ups sent at once, then SIGTERM to instance 1", flush=True)
    if now - t0 >= shown + 1:
        shown += 1
        with lock:
            window = [r for r in records if now - 1 <= r[1] < now]
            failed = sum(1 for r in records if r[4] not in (200, 201))
        counts = [latest(0), latest(1)]
        per = [c - p if c >= p else c for c, p in zip(counts, last)]
        last = counts
        state = {}
        for _, server, status, weight in states: state[server] = f"{status} w{weight}"
        state = ("; haproxy " + ", ".join(f"{k} {v}" for k, v in sorted(state.items()))) if state else ""
        print(f"  {a.name} +{shown:2d}s: {len(window):3d} req/s, {failed} failed so far; served in the last second: "
              f"instance 1 {per[0]}, instance 2 {per[1]}{state}", flush=True)
stop.set()
for t in threads: t.join(timeout=12)

# Every acknowledged creation must be readable through the balancer.
check = http.client.HTTPConnection(host, port, timeout=10)
missing = [s for s in slugs if request(check, "GET", f"/api/articles/{s}")[2] != 200]

# The balancer's log: which instance answered each request, and how many attempts it took.
time.sleep(1.2)  # nginx writes its buffered access log every second
# Also how long the balancer held each request apart from the instance's answer (waiting
# in a queue, connecting, failed attempts and the pauses between them), in milliseconds.
answered_by, attempts, held = {}, {}, {}
def seconds(text):
    try: return float(text.split(",")[-1].split(":")[-1])
    except ValueError: return 0.0
for line in open(a.lb_log, errors="replace"):
    m = re.search(r" rt=(\S+) upstream=(.*?) ustatus=.* urt=(.*?) id=(\S+)", line)  # nginx (deploy/nginx/fleet.conf's log_format)
    if m:
        tried = [x.strip() for x in m.group(2).split(",")]
        answered_by[m.group(4)] = tried[-1] == a.victim
        attempts[m.group(4)] = len(tried)
        held[m.group(4)] = max(0.0, seconds(m.group(1)) - seconds(m.group(3))) * 1000
        continue
    # HAProxy's httplog: TR/Tw/Tc/Tr/Ta timers, then the counters ending in retries ("+" redispatched)
    m = re.search(r" fleet/(\S+) -?\d+/(-?\d+)/(-?\d+)/-?\d+/-?\d+ .* \d+/\d+/\d+/\d+/\+?(\d+) \d+/\d+ \{([^}|]*)", line)
    if m:
        answered_by[m.group(5)] = m.group(1) == "fleet1"
        attempts[m.group(5)] = 1 + int(m.group(4))
        held[m.group(5)] = max(0, int(m.group(2))) + max(0, int(m.group(3)))
retried = sum(1 for n in attempts.values() if n > 1)
most_held = max(held.values(), default=0)

events = {}
for line in open(a.events):
    key, *values = line.split()
    events[key] = [float(v) for v in values]
sigterm, exited, ready = events["sigterm"][0], events["exited"][0], events["ready"][0]
allowed, violations = [], []
for record in records:
    start, end, method, op, status, rid = record
    if status in (200, 201): continue
    if method in ("POST", "PATCH") and status == 502 and start <= exited and end >= sigterm: allowed.append(record)
    else: violations.append(record)
drained = [r for r in records if r[0] < sigterm < r[1] and r[4] in (200, 201) and answered_by.get(r[5])]
burst_drained = [r for r in drained if r[3] == "burst"]

def share(frm, to):
    def at(i, t):
        values = [c for tt, ii, c in served if ii == i and c is not None and tt <= t]
        return values[-1] if values else 0
    d = [at(i, to) - at(i, frm) for i in (0, 1)]
    return (d[0] / sum(d) if sum(d) else 0.0), d
end = max(t for t, _, _ in served)
before_share, before_counts = share(t0 + 0.5, sigterm)
after_share, after_counts = share(end - 2, end)
back = latest(0)
latencies = sorted(r[1] - r[0] for r in records)
p50, p99, worst = (latencies[int(q * (len(latencies) - 1))] * 1000 for q in (0.5, 0.99, 1))
problems = []
if violations: problems.append(f"{len(violations)} request(s) failed beyond the stop's in-flight ones")
if len(allowed) > a.connections + a.burst: problems.append(f"{len(allowed)} in-flight failures for {a.connections + a.burst} connections")
if missing: problems.append(f"{len(missing)} acknowledged article(s) not found afterwards")
if not burst_drained: problems.append("no sign-up was being served by the stopped instance at SIGTERM (drain not exercised)")
if events["exited"][1] != 0: problems.append(f"the stopped instance exited with {int(events['exited'][1])}")
# HAProxy 2.6 (leastconn, or a single instance left) pauses min(timeout connect, 1 s)
# before retrying a request whose new connection was refused: the request that finds the
# instance gone waits 1 s. Two such pauses (retries on the same instance: no redispatch)
# or a queue fail this.
if most_held > 1500: problems.append(f"{a.name} held a request {most_held:.0f} ms before an instance answered it (retries waited, or a queue)")
if min(before_share, 1 - before_share) < 0.2: problems.append(f"before the stop, the split was {before_counts}")
if back == 0: problems.append("the restarted instance got no traffic")
elif after_share < 0.1: problems.append(f"in the last 2 s the restarted instance served {after_counts[0]} of {sum(after_counts)}")
if len(attempts) < len(records) * 0.9: problems.append(f"only {len(attempts)} of {len(records)} requests found in {a.lb_log}")

down_at = next((t for t, s, status, _ in states if s == "fleet1" and t >= sigterm and status.startswith("DOWN")), None)
up_at = next((t for t, s, status, _ in states if s == "fleet1" and down_at and t >= down_at and status.startswith("UP")), None)
weights_after = [w for t, s, status, w in states if s == "fleet1" and up_at and t >= up_at]
status_note = ""
if a.stats:
    status_note = (f"; haproxy had it DOWN {down_at - sigterm:.2f} s after SIGTERM" if down_at else "; haproxy never had it DOWN") + \
        (f", UP {up_at - ready:.2f} s after its restart, slow start weight {weights_after[0]} -> {weights_after[-1]}"
         if up_at else ", never UP again")
failed = len(allowed) + len(violations)
summary = (f"{a.name}: {len(records)} requests in {end - t0:.1f} s, {failed} failed ({len(allowed)} in flight at the stop, "
           f"{len(violations)} beyond), {retried} retried by {a.name} (longest held there {most_held:.0f} ms); "
           f"latency p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {worst:.0f} ms; "
           f"instance 1 exited {exited - sigterm:.2f} s after SIGTERM (status {int(events['exited'][1])}) after finishing "
           f"{len(drained)} request(s) in flight ({len(burst_drained)} of the burst's sign-ups); "
           f"split before {before_counts[0]}/{before_counts[1]}; restarted, it served {back} ({after_share:.0%} of the last 2 s)"
           f"{status_note}; {len(slugs)} acknowledged articles, {len(missing)} missing")
for start, end_, method, op, status, rid in (violations + allowed)[:8]:
    print(f"  {a.name} failed: {method} {op} -> {status} sent {start - sigterm:+.3f} s answered {end_ - sigterm:+.3f} s "
          f"after SIGTERM (id {rid})", flush=True)
json.dump({"summary": summary, "problems": problems, "requests": len(records), "failed": failed,
           "in_flight_failures": len(allowed), "other_failures": len(violations), "retried": retried, "most_held_ms": most_held,
           "latency_ms": {"p50": p50, "p99": p99, "max": worst}, "drained": len(drained),
           "failures": [dict(zip(("start", "end", "method", "op", "status", "id"), f)) for f in violations + allowed],
           "served": served, "haproxy_states": states}, open(a.out, "w"))
print(("ok   " if not problems else "FAIL ") + summary + ("" if not problems else " -- " + "; ".join(problems)), flush=True)
sys.exit(1 if problems else 0)
PY

say "starting PostgreSQL"
db=$("$root/scripts/postgres.sh" start "$dir/pg" "$(free_port)")
export FLEET_AUTH_JWT_SECRET="lb-check-secret-lb-check-secret-0123456789"

start_instance() {  # INDEX: (re)starts instance INDEX on its ports and waits until it is ready
    local index=$1
    "$bin" serve --data-dir "$dir/data$index" --http-port "${ports[$index]}" --http-admin-port "${admins[$index]}" \
        --database-url "$db" --log-level warning --ratelimit-enabled false --auth-bcrypt-cost 8 --jobs-workers none \
        2>>"$dir/instance$index.log" &
    pids[$index]=$!
    for _ in $(seq 300); do curl -fs "http://127.0.0.1:${ports[$index]}/health/ready" >/dev/null 2>&1 && return; sleep 0.05; done
    echo "instance $((index + 1)) did not become ready" >&2; tail -20 "$dir/instance$index.log" >&2; exit 1
}

start_haproxy() {  # PORT STATS_PORT: renders deploy/haproxy/haproxy.cfg for the instances and starts it
    local port=$1 stats=$2 out="$dir/haproxy"
    HAPROXY=$haproxy "$root/scripts/haproxy.sh" render "$out" "$port" "$stats" "127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}"
    HAPROXY=$haproxy "$root/scripts/haproxy.sh" run "$out" "$port" "$stats" "127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}" >"$out/haproxy.log" 2>&1 &
    haproxy_pid=$!
}

status=0
summaries=()
for name in "${balancers[@]}"; do
    say "$name: starting two fleet serve instances ($bin)"
    for index in 0 1; do ports[$index]=$(free_port); admins[$index]=$(free_port); start_instance "$index"; done
    lb_port=$(free_port)
    stats_url=""
    if [ "$name" = nginx ]; then
        url=$("$root/scripts/lb.sh" start "$dir/nginx" "$lb_port" "127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}")
        lb_log="$dir/nginx/logs/access.log"
        say "nginx: $url, configuration $dir/nginx/fleet.conf (from deploy/nginx/fleet.conf)"
    else
        stats_port=$(free_port)
        start_haproxy "$lb_port" "$stats_port"
        url="http://127.0.0.1:$lb_port"
        stats_url="http://127.0.0.1:$stats_port/stats;csv"
        lb_log="$dir/haproxy/haproxy.log"
        say "haproxy: $url, configuration $dir/haproxy/haproxy.cfg (from deploy/haproxy/haproxy.cfg), stats $stats_url"
    fi
    for _ in $(seq 100); do curl -fs "$url/api/tags" >/dev/null 2>&1 && break; sleep 0.05; done
    curl -fsS "$url/api/tags" >/dev/null || {
        echo "$name does not answer at $url" >&2
        tail -20 "$dir/haproxy/haproxy.log" "$dir/nginx/logs/error.log" 2>/dev/null >&2
        exit 1
    }

    rm -f "$dir/started" "$dir/stop" "$dir/events"
    say "$name: traffic at $rate requests/s; instance 1 gets SIGTERM after 3 s"
    # The client sends the SIGTERM itself, a few milliseconds after a burst of sign-ups, so
    # that some are being served by the instance when it gets it.
    python3 "$dir/client.py" --url "$url" --name "$name" --rate "$rate" --admins "${admins[0]},${admins[1]}" \
        --stats "$stats_url" --started "$dir/started" --stop "$dir/stop" --events "$dir/events" --out "$dir/$name.json" \
        --victim-pid "${pids[0]}" --victim "127.0.0.1:${ports[0]}" --lb-log "$lb_log" &
    load_pid=$!
    until grep -q '^sigterm' "$dir/events" 2>/dev/null; do
        kill -0 "$load_pid" 2>/dev/null || { wait "$load_pid" || true; echo "the client stopped early" >&2; exit 1; }
        sleep 0.01
    done
    # A graceful stop that hangs fails here (Fleet bounds its own shutdown well below 30 s).
    for _ in $(seq 3000); do kill -0 "${pids[0]}" 2>/dev/null || break; sleep 0.01; done
    exited=$(date +%s.%N)
    if kill -0 "${pids[0]}" 2>/dev/null; then
        echo "FAIL: instance 1 still running 30 s after SIGTERM" >&2; tail -20 "$dir/instance0.log" >&2; exit 1
    fi
    code=0; wait "${pids[0]}" || code=$?
    echo "exited $exited $code" >>"$dir/events"
    say "$name: instance 1 exited ($code) after SIGTERM; starting it again in 1 s"
    sleep 1
    start_instance 0
    echo "ready $(date +%s.%N)" >>"$dir/events"
    if [ "$name" = nginx ]; then
        # nginx tries the instance again once fail_timeout (2 s) has passed since its last failure.
        say "nginx: instance 1 is ready again; 5 s more traffic"
        sleep 5
    else
        # HAProxy: UP after two passing checks (about 2 s), then slowstart (10 s) ramps its weight.
        say "haproxy: instance 1 is ready again; traffic until HAProxy has it UP and 6 s into its slow start"
        for _ in $(seq 100); do
            curl -fs "$stats_url" 2>/dev/null | grep -q '^fleet,fleet1,.*,UP' && break
            sleep 0.1
        done
        sleep 6
    fi
    touch "$dir/stop"
    code=0; wait "$load_pid" || code=$?
    load_pid=""
    [ "$code" = 0 ] || status=1
    [ -s "$dir/$name.json" ] && summaries+=("$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(("ok   " if not d["problems"] else "FAIL ") + d["summary"])' "$dir/$name.json")")

    for index in 0 1; do kill -TERM "${pids[$index]}" 2>/dev/null || true; wait "${pids[$index]}" 2>/dev/null || true; pids[$index]=""; done
    if [ "$name" = nginx ]; then
        "$root/scripts/lb.sh" stop "$dir/nginx"
    else
        kill "$haproxy_pid" 2>/dev/null || true; wait "$haproxy_pid" 2>/dev/null || true; haproxy_pid=""
    fi
done

say "done"
for line in "${summaries[@]}"; do echo "$line"; done
exit "$status"
