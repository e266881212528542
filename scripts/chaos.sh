#!/usr/bin/env bash
# Faults under load, through the load balancer (the resilience issue's chaos checks):
#
#   scripts/chaos.sh [--bin PATH] [--rate 150] [--duration 24] [--scenarios LIST] [--out DIR] [--check]
#
# Starts T3's databases (scripts/topology.sh t3 --redis --sync: two shards, each a primary
# and a synchronous streaming replica, and Redis), two `fleet serve` instances without
# workers behind nginx (scripts/lb.sh: retries on refused connections, passive health
# checks), one `fleet worker` and one `fleet recommender`, and for each scenario runs
# `fleet loadtest` (open model, its standard mix, recommendations included) through nginx
# while, a third of the way in:
#   kill      one instance is SIGKILLed, and started again 3 s later;
#   rolling   each instance gets SIGTERM in turn, each back and ready before the next;
#   redis     Redis is SIGKILLed, and started again 3 s later;
#   replica   shard 0's replica is stopped, and started again 3 s later;
#   worker    the worker is SIGKILLed (mid-job, under this load), and started again 3 s later;
#   hang      shard 0's primary is frozen (SIGSTOP: its connections stay open and nothing
#             answers, as a hung host) for 5 s, then thawed;
#   recommender  the recommender is SIGKILLed, and started again 3 s later; afterwards a
#             signed-in reader asks for recommendations until both instances' breakers
#             on it are closed (at most 30 s), which the summary reports;
#   failover  shard 1's primary crashes and its replica is promoted 1 s later (run last:
#             the shard has no replica afterwards).
# Default: all eight, in that order.
# Then `fleet loadtest verify` checks that every acknowledged write exists. Prints per
# scenario: requests, failed (and %), p99 before, during and after the fault (from the
# per-second series: the worst second of each window), and writes lost; writes
# chaos.json. With --check it exits 1 unless: kill 0 failed (nginx sends every request
# in flight on the killed instance to the other: the load test's creates carry an
# Idempotency-Key, and its other POSTs are idempotent), rolling and worker 0 failed,
# replica < 1 % (replication is synchronous with one standby: shard 0's commits wait
# for it while it is down, holding the primary's connections, and a read waiting behind
# them can reach the shards' 2 s timeout: 2 of 3,600 and 1 of 1,000 in runs), redis < 1 %, failover < 3 % (writes to shard 1
# are refused with 503 until the promotion), hang: every failure a 503 and no request
# slower than 6 s (writes to shard 0, and reads that were waiting on it, are refused while
# it is frozen; those in flight once its probes have found it, about 3.3 s in), recommender 0 failed with fallbacks counted
# (whether a breaker opens depends on the rate; one that did must have closed again),
# and no scenario lost a write.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="$root/.build/release/fleet" rate=150 duration=24 scenarios="kill,rolling,redis,replica,worker,hang,recommender,failover" out="" check=""
while [ $# -gt 0 ]; do
    case $1 in
    --bin) bin=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --check) check=1; shift ;;
    *) echo "usage: $0 [--bin PATH] [--rate R] [--duration S] [--scenarios LIST] [--out DIR] [--check]" >&2; exit 2 ;;
    esac
done
dir=$(mktemp -d)
chmod 755 "$dir"
out=${out:-$dir/out}
mkdir -p "$out"
source "$root/scripts/free-port.sh"
declare -a pids=() ports=() admins=()
cleanup() {
    for pid in "${pids[@]}"; do [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true; done
    "$root/scripts/lb.sh" stop "$dir/lb" 2>/dev/null || true
    "$root/scripts/topology.sh" stop "$dir/db" >/dev/null 2>&1 || true
    [ "$out" = "$dir/out" ] && rm -rf "$dir" || true
}
trap cleanup EXIT

read -ra flags <<<"$("$root/scripts/topology.sh" start t3 "$dir/db" --redis --sync)"
redis_url=${flags[-1]}
redis_port=${redis_url##*:}
export FLEET_AUTH_JWT_SECRET=chaos-secret-chaos-secret-chaos-secret-42

start_instance() {  # INDEX: (re)starts instance INDEX on its ports and waits until ready
    local index=$1
    "$bin" serve --data-dir "$dir/data$index" --http-port "${ports[$index]}" --http-admin-port "${admins[$index]}" \
        --log-level warning --ratelimit-enabled false --auth-bcrypt-cost 4 --jobs-workers none "${flags[@]}" \
        --recommender-url "http://127.0.0.1:$recommender_port" "${breaker[@]}" 2>>"$dir/instance$index.log" &
    pids[$index]=$!
    for _ in $(seq 200); do curl -fs "http://127.0.0.1:${ports[$index]}/health/ready" >/dev/null 2>&1 && return; sleep 0.05; done
    echo "instance $index did not become ready" >&2; tail -20 "$dir/instance$index.log" >&2; exit 1
}
start_worker() {  # (re)starts the worker (pids[2]) and waits until it is ready
    "$bin" worker --data-dir "$dir/data-worker" --http-admin-port "$worker_admin" --log-level warning "${flags[@]}" \
        2>>"$dir/worker.log" &
    pids[2]=$!
    for _ in $(seq 200); do curl -fs "http://127.0.0.1:$worker_admin/health/ready" >/dev/null 2>&1 && return; sleep 0.05; done
    echo "the worker did not become ready" >&2; tail -20 "$dir/worker.log" >&2; exit 1
}
start_recommender() {  # (re)starts the recommender (pids[3]) and waits until it is ready
    "$bin" recommender --data-dir "$dir/data-recommender" --recommender-port "$recommender_port" --http-admin-port "$recommender_admin" \
        --log-level warning "${flags[@]}" 2>>"$dir/recommender.log" &
    pids[3]=$!
    for _ in $(seq 200); do curl -fs "http://127.0.0.1:$recommender_port/health/ready" >/dev/null 2>&1 && return; sleep 0.05; done
    echo "the recommender did not become ready" >&2; tail -20 "$dir/recommender.log" >&2; exit 1
}
# At these rates an instance asks the recommender about once a second: its breaker opens
# after 3 failed calls of the last 10 s (not 10) and tries again after 2 s (not 5), so
# that a 3 s outage shows it opening and closing.
breaker=(--recommender-breaker-min-calls 3 --recommender-breaker-open-ms 2000)
worker_admin=$(free_port) recommender_port=$(free_port) recommender_admin=$(free_port)
start_recommender
for index in 0 1; do ports[$index]=$(free_port); admins[$index]=$(free_port); start_instance "$index"; done
start_worker
lb=$("$root/scripts/lb.sh" start "$dir/lb" "$(free_port)" "127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}")

fault() {  # SCENARIO: the fault, run a third of the way into the measured time
    case $1 in
    kill)
        kill -9 "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
        sleep 3
        start_instance 0
        ;;
    rolling)
        for index in 0 1; do
            kill -TERM "${pids[$index]}"; wait "${pids[$index]}" 2>/dev/null || true
            start_instance "$index"
            # nginx's passive check left it out for fail_timeout (2 s) after its refusals:
            # the next instance goes only once this one takes traffic again.
            sleep 4
        done
        ;;
    redis)
        kill -9 "$(cat "$dir/db/redis/redis.pid" 2>/dev/null || pgrep -f "redis-server.*:$redis_port")" 2>/dev/null || true
        sleep 3
        "$root/scripts/redis.sh" start "$dir/db/redis" "$redis_port" >/dev/null
        ;;
    replica)
        "$root/scripts/postgres.sh" stop "$dir/db/shard0-replica"
        sleep 3
        "$root/scripts/postgres.sh" restart "$dir/db/shard0-replica"
        ;;
    worker)
        kill -9 "${pids[2]}"; wait "${pids[2]}" 2>/dev/null || true
        sleep 3
        start_worker
        ;;
    hang)
        "$root/scripts/postgres.sh" freeze "$dir/db/shard0"
        sleep 5
        "$root/scripts/postgres.sh" thaw "$dir/db/shard0"
        ;;
    recommender)
        kill -9 "${pids[3]}"; wait "${pids[3]}" 2>/dev/null || true
        sleep 3
        start_recommender
        ;;
    failover)
        "$root/scripts/postgres.sh" crash "$dir/db/shard1"
        sleep 1
        "$root/scripts/postgres.sh" promote "$dir/db/shard1-replica"
        ;;
    esac
}

snapshot() {  # FILE: the instances' recommendation and breaker counters, one "INDEX LINE" a line
    for index in 0 1; do
        curl -fs "http://127.0.0.1:${admins[$index]}/metrics" | grep -E '^fleet_(recommendations|breaker_transitions)\{' | sed "s/^/$index /" || true
    done >"$1"
}
settle() {  # FILE: asks for recommendations as a signed-in reader until both breakers are closed
    python3 - "$lb" "${admins[0]},${admins[1]}" "$1" <<'PY'
import json, re, sys, time, urllib.request
lb, admins, out = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
def call(method, path, body=None, token=None):
    headers = {"Content-Type": "application/json", "Origin": "http://chaos.fleet"}
    if token: headers["Authorization"] = "Token " + token
    request = urllib.request.Request(lb + path, method=method, headers=headers, data=json.dumps(body).encode() if body else None)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.headers.get("X-Fleet-Recommendations"), json.loads(response.read())
def closed():
    states = []
    for admin in admins:
        text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
        m = re.search(r'^fleet_breaker_state\{name="recommender",state="closed"\} (\S+)$', text, re.M)
        states.append(bool(m) and float(m.group(1)) == 1)
    return all(states)
name = f"settle{int(time.time() * 1000)}"
token = call("POST", "/api/users", {"user": {"username": name, "email": name + "@chaos.fleet", "password": "password123"}})[1]["user"]["token"]
start, source = time.time(), None
while not closed() and time.time() - start < 30:
    source, _ = call("GET", "/api/articles/recommended?limit=5", token=token)
    time.sleep(0.2)
json.dump({"closed": closed(), "seconds": round(time.time() - start, 1), "last_source": source}, open(out, "w"))
PY
}

warmup=2
IFS=, read -ra list <<<"$scenarios"
for scenario in "${list[@]}"; do
    echo "== chaos: $scenario under $rate requests/s for $duration s" >&2
    "$bin" loadtest run --target "$lb" --rate "$rate" --duration "$duration" --warmup "$warmup" --users 10 \
        --run-id "chaos$scenario$RANDOM" --out "$out/$scenario" >/dev/null 2>"$out/$scenario.log" &
    load=$!
    until grep -q "^setup:" "$out/$scenario.log" 2>/dev/null; do kill -0 "$load" 2>/dev/null || break; sleep 0.1; done
    sleep "$(python3 -c "print($warmup + $duration / 3)")"
    [ "$scenario" != recommender ] || snapshot "$out/$scenario.before"
    began=$(date +%s.%N)
    fault "$scenario"
    ended=$(date +%s.%N)
    echo "$began $ended" >"$out/$scenario.fault"
    wait "$load" || true
    if [ "$scenario" = recommender ]; then
        settle "$out/$scenario.settle"
        snapshot "$out/$scenario.after"
    fi
    "$bin" loadtest verify --writes "$out/$scenario/writes.jsonl" --target "$lb" >"$out/$scenario.verify" 2>&1 && echo 0 >"$out/$scenario.lost" \
        || echo 1 >"$out/$scenario.lost"
done

python3 - "$out" "$check" "${list[@]}" <<'PY'
import json, re, sys
from datetime import datetime
out, check, scenarios = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
results, problems = {}, []
for name in scenarios:
    report = json.load(open(f"{out}/{name}/report.json"))
    began, ended = (float(x) for x in open(f"{out}/{name}.fault").read().split())
    start = datetime.fromisoformat(report["startedAt"].replace("Z", "+00:00")).timestamp() + report["warmupSeconds"]
    before, during = int(began - start), int(ended - start) + 1
    def worst(seconds):
        # a second in which nothing completed has no p99 (the key is absent from the JSON)
        values = [i["p99Ms"] for i in report["intervals"] if i["second"] in seconds and i.get("p99Ms") is not None]
        return round(max(values), 1) if values else None
    last = max(i["second"] for i in report["intervals"])
    total = report["total"]
    verify = open(f"{out}/{name}.verify").read()
    lost = re.search(r"(\d+) lost", verify)
    lost = int(lost.group(1)) if lost else (0 if open(f"{out}/{name}.lost").read().strip() == "0" else -1)
    results[name] = {
        "requests": total["requests"], "failed": total["errors"], "failed_percent": round(total["errorRatePercent"], 3),
        "errors": total["errorsByKind"], "fault_seconds": [before, during],
        "p99_before_ms": worst(range(0, before)), "p99_during_ms": worst(range(before, during + 1)),
        "p99_after_ms": worst(range(during + 1, last + 1)), "writes_lost": lost,
    }
    r = results[name]
    print(f"{name}: {r['requests']} requests, {r['failed']} failed ({r['failed_percent']} %) {r['errors']}; "
          f"p99 before/during/after {r['p99_before_ms']}/{r['p99_during_ms']}/{r['p99_after_ms']} ms; writes lost: {lost}")
    if lost != 0: problems.append(f"{name}: writes lost ({verify.strip()[-300:]})")
    if name == "kill" and r["failed"] > 0: problems.append(f"kill: {r['failed']} failed")
    if name == "rolling" and r["failed"] > 0: problems.append(f"rolling: {r['failed']} failed")
    if name == "redis" and r["failed_percent"] >= 1: problems.append(f"redis: {r['failed_percent']} % failed")
    if name == "worker" and r["failed"] > 0: problems.append(f"worker: {r['failed']} failed")
    if name == "replica" and r["failed_percent"] >= 1: problems.append(f"replica: {r['failed_percent']} % failed")
    if name == "failover" and r["failed_percent"] >= 3: problems.append(f"failover: {r['failed_percent']} % failed")
    if name == "hang":
        # Refused fast, not hung: every failure a 503, and nothing waited out the 10 s
        # statement timeout (the probes trip the node's breaker within about 3.3 s).
        r["slowest_ms"] = round(total["latencyMs"]["max"], 1)
        if set(r["errors"]) - {"http 503"}: problems.append(f"hang: failures other than 503: {r['errors']}")
        if r["slowest_ms"] >= 6000: problems.append(f"hang: a request took {r['slowest_ms']} ms")
    if name == "recommender":
        def counts(path):
            totals = {}
            for line in open(path):
                index, series, value = line.split()
                totals[series] = totals.get(series, 0) + float(value)
            return totals
        before, after = counts(f"{out}/{name}.before"), counts(f"{out}/{name}.after")
        delta = lambda pattern: int(sum(v - before.get(k, 0) for k, v in after.items() if re.search(pattern, k)))
        settle = json.load(open(f"{out}/{name}.settle"))
        r.update(fallbacks=delta(r'^fleet_recommendations\{source="popular",reason="(error|timeout|breaker-open|bulkhead-full)"'),
                 personal=delta(r'^fleet_recommendations\{source="personal"'),
                 breaker_opened=delta(r'^fleet_breaker_transitions\{name="recommender",to="open"'),
                 breaker_closed=delta(r'^fleet_breaker_transitions\{name="recommender",to="closed"'),
                 closed_after_run_s=settle["seconds"] if settle["closed"] else None)
        print(f"  recommendations: {r['fallbacks']} answered with popular for the fault, {r['personal']} personal; "
              f"breakers opened {r['breaker_opened']} and closed {r['breaker_closed']} times; "
              + (f"both closed {settle['seconds']} s after the run" if settle["closed"] else "a breaker still open 30 s after the run"))
        if r["failed"] > 0: problems.append(f"recommender: {r['failed']} failed")
        if r["fallbacks"] == 0: problems.append("recommender: no fallback counted: the fault was not seen")
        if not settle["closed"]: problems.append("recommender: a breaker did not close again within 30 s")
json.dump(results, open(f"{out}/chaos.json", "w"), indent=2)
if check and problems:
    print("FAIL: " + "; ".join(problems)); sys.exit(1)
if check: print("ok: chaos checks passed")
PY
